//! Stride-1 convolutions with few output channels (LeNet's 5x5 layers, DenseNet's 32-channel
//! 3x3 layers in the forward pass), summed tap by tap in registers: no patch matrix, no gemm.
//!
//! As in [`crate::taps`], a sample is copied once, zero-padded, and its output laid on the
//! padded grid: output pixel `(h, w)` at `p = h W_p + w` reads input `p + i W_p + j` for tap
//! `(i, j)`. A block of [`BLOCK_CHANNELS`] output channels by [`BLOCK_PIXELS`] consecutive grid
//! positions is kept in registers while every input channel and tap adds to it: per tap, the
//! block's input values are loaded once and each channel's weight is broadcast once. Such a
//! layer's patch matrix is `C_in k_h k_w` copies of the input (25 for LeNet's first), which
//! im2col writes and the gemm reads back for a handful of output channels; here the padded input
//! stays in L1. The weight gradient is summed on the same grid ([`super::direct_weight_grad`]).

use crate::conv::{ConvGeometry, Epilogue};
use crate::runtime::rows::copy_run;
use crate::runtime::tasks::for_each_task;
use std::mem::MaybeUninit;

/// Output channels of a register block.
const BLOCK_CHANNELS: usize = 6;

/// Consecutive grid positions of a register block: two 8-wide vectors, so that a block's
/// accumulators take 12 of AVX2's 16 registers.
pub(crate) const BLOCK_PIXELS: usize = 16;

/// Input values per output value (`C_in k_h k_w`) up to which the weight gradient
/// ([`super::direct_weight_grad`]) takes a layer.
const MAX_GRAD_PATCH_ROWS: usize = 160;

/// Output channels up to which [`forward`] takes a layer: beyond them im2col's copy is shared by
/// enough of them to pay for itself.
const MAX_CHANNELS_OUT: usize = 32;

/// Whether [`forward`] takes the convolution: stride 1, a kernel larger than 1x1, few output
/// channels, and most of each padded row inside the output.
pub fn applies(g: &ConvGeometry) -> bool {
    let ((pl, pr), wo) = (g.padding[1], g.output()[1]);
    let wp = g.input[1] + pl + pr;
    g.stride == [1, 1]
        && g.kernel != [1, 1]
        && g.channels_out <= MAX_CHANNELS_OUT
        && 3 * wp <= 5 * wo
}

/// Whether [`super::direct_weight_grad`] takes the convolution: one that [`applies`] with few
/// input values per output.
pub fn weight_grad_applies(g: &ConvGeometry) -> bool {
    applies(g) && g.patch_rows() <= MAX_GRAD_PATCH_ROWS
}

/// Where a sample lies in the padded input and on the output grid.
pub(crate) struct Plan {
    /// Padded width.
    pub(crate) wp: usize,
    /// Grid positions computed per output channel: `H_out W_p` rounded up to whole blocks.
    pub(crate) grid: usize,
    /// Distance between the input channels of the padded copy: the padded plane and room for
    /// the last block's reads past it.
    pub(crate) channel: usize,
    /// The grid offset each tap reads at, row-major over the kernel.
    pub(crate) shifts: Vec<usize>,
    /// Output channels rounded up to whole blocks.
    channels_out: usize,
}

impl Plan {
    pub(crate) fn new(g: &ConvGeometry) -> Self {
        let [(pt, pb), (pl, pr)] = g.padding;
        let (hp, wp) = (g.input[0] + pt + pb, g.input[1] + pl + pr);
        let [kh, kw] = g.kernel;
        let grid = (g.output()[0] * wp).div_ceil(BLOCK_PIXELS) * BLOCK_PIXELS;
        let shifts: Vec<usize> = (0..kh * kw).map(|t| (t / kw) * wp + t % kw).collect();
        let channel = (hp * wp).max(grid + shifts[kh * kw - 1]);
        let channels_out = g.channels_out.next_multiple_of(BLOCK_CHANNELS);
        Self {
            wp,
            grid,
            channel,
            shifts,
            channels_out,
        }
    }
}

/// The weight (`[C_out, C_in k_h k_w]`) as `[C_out / B, C_in k_h k_w, B]` (`B` being
/// [`BLOCK_CHANNELS`]): for each block of output channels and each input value, the block's
/// weights side by side (zeros past `C_out`).
fn pack_weight(g: &ConvGeometry, plan: &Plan, weight: &[f32]) -> Vec<f32> {
    let rows = g.patch_rows();
    let mut packed = vec![0.0; plan.channels_out * rows];
    for (o, w_o) in weight.chunks_exact(rows).take(g.channels_out).enumerate() {
        let (block, k) = (o / BLOCK_CHANNELS, o % BLOCK_CHANNELS);
        for (r, &v) in w_o.iter().enumerate() {
            packed[(block * rows + r) * BLOCK_CHANNELS + k] = v;
        }
    }
    packed
}

/// Copies sample `x` (`[C_in, H, W]`) into `xp` (`[C_in, plan.channel]`), zero-padded; `xp`'s
/// padding and tails are zero already and stay so.
pub(crate) fn pad_sample(g: &ConvGeometry, plan: &Plan, x: &[f32], xp: &mut [f32]) {
    let [h, w] = g.input;
    let [(pt, _), (pl, _)] = g.padding;
    for (plane, dst) in x.chunks_exact(h * w).zip(xp.chunks_exact_mut(plan.channel)) {
        for (r, row) in plane.chunks_exact(w).enumerate() {
            copy_run(&mut dst[(r + pt) * plan.wp + pl..][..w], row);
        }
    }
}

/// Bytes of padded input that a pass of register blocks along the grid should find in L1: the
/// rows one block reads are most of those the next block reads.
const L1_INPUT_BYTES: usize = 16 * 1024;

/// Input channels summed in one pass along the grid, so that the rows a register block reads
/// (`k_h` rows of `BLOCK_PIXELS + k_w - 1` values per channel, counted in whole cache lines and
/// one more for alignment) fit in [`L1_INPUT_BYTES`].
fn channels_per_pass(g: &ConvGeometry) -> usize {
    const LINE: usize = 64;
    let row = ((BLOCK_PIXELS + g.kernel[1] - 1) * 4).div_ceil(LINE) + 1;
    (L1_INPUT_BYTES / (g.kernel[0] * row * LINE)).max(1)
}

/// The grid of one padded sample `xp`: `out[o][p] = sum_{c, t} w[o][c][t] xp[c][p + shift_t]`
/// for the `plan.channels_out` channels and `plan.grid` positions, block by block, summing
/// `per_pass` input channels at a time.
#[inline(always)]
fn sample_grid<const FUSED: bool>(
    xp: &[f32],
    channel: usize,
    shifts: &[usize],
    packed: &[f32],
    grid: usize,
    out: &mut [f32],
    per_pass: usize,
) {
    let taps = shifts.len();
    let rows = packed.len() / (out.len() / grid);
    let channels_in = rows / taps;
    for (block, w_block) in packed.chunks_exact(rows * BLOCK_CHANNELS).enumerate() {
        let out_block = &mut out[block * BLOCK_CHANNELS * grid..][..BLOCK_CHANNELS * grid];
        for c0 in (0..channels_in).step_by(per_pass) {
            let c1 = (c0 + per_pass).min(channels_in);
            for p0 in (0..grid).step_by(BLOCK_PIXELS) {
                let mut acc = [[0.0f32; BLOCK_PIXELS]; BLOCK_CHANNELS];
                if c0 > 0 {
                    for (k, acc_k) in acc.iter_mut().enumerate() {
                        acc_k.copy_from_slice(&out_block[k * grid + p0..][..BLOCK_PIXELS]);
                    }
                }
                for c in c0..c1 {
                    let x_c = &xp[c * channel + p0..];
                    let w_c = &w_block[c * taps * BLOCK_CHANNELS..][..taps * BLOCK_CHANNELS];
                    for (&s, w_t) in shifts.iter().zip(w_c.chunks_exact(BLOCK_CHANNELS)) {
                        let xs: &[f32; BLOCK_PIXELS] = x_c[s..s + BLOCK_PIXELS].try_into().unwrap();
                        for (acc_k, &w) in acc.iter_mut().zip(w_t) {
                            for (a, &v) in acc_k.iter_mut().zip(xs) {
                                *a = crate::runtime::cpu::madd::<FUSED>(w, v, *a);
                            }
                        }
                    }
                }
                for (k, acc_k) in acc.iter().enumerate() {
                    out_block[k * grid + p0..][..BLOCK_PIXELS].copy_from_slice(acc_k);
                }
            }
        }
    }
}

crate::multiversion! {
    /// [`sample_grid`] for the CPU's path (fused multiply-adds on the AVX paths).
    fn sample_grid_isa(
        xp: &[f32],
        channel: usize,
        shifts: &[usize],
        packed: &[f32],
        grid: usize,
        out: &mut [f32],
        per_pass: usize,
    ) = sample_grid::<FUSED>;
}

/// Output `[N, C_out, H_out, W_out]` of a convolution that [`applies`] (as
/// [`crate::conv::forward`]), each value finished by `epilogue`.
pub fn forward(g: &ConvGeometry, x: &[f32], weight: &[f32], epilogue: Epilogue) -> Vec<f32> {
    let plan = Plan::new(g);
    let packed = pack_weight(g, &plan, weight);
    let [ho, wo] = g.output();
    let y_len = g.channels_out * ho * wo;
    let fill = |y: &mut [MaybeUninit<f32>]| {
        for_each_task(y, y_len, g.batch, |start, end, y_task| {
            let mut xp = vec![0.0f32; g.channels_in * plan.channel];
            let mut out = vec![0.0f32; plan.channels_out * plan.grid];
            for n in start..end {
                pad_sample(g, &plan, &x[n * g.input_len()..][..g.input_len()], &mut xp);
                sample_grid_isa(
                    &xp,
                    plan.channel,
                    &plan.shifts,
                    &packed,
                    plan.grid,
                    &mut out,
                    channels_per_pass(g),
                );
                let y_n = &mut y_task[(n - start) * y_len..][..y_len];
                for o in 0..g.channels_out {
                    let plane = &mut y_n[o * ho * wo..][..ho * wo];
                    let src = &out[o * plan.grid..];
                    for r in 0..ho {
                        let row = &src[r * plan.wp..][..wo];
                        // SAFETY: `MaybeUninit<f32>` has `f32`'s layout, and initialised values
                        // may be read as possibly uninitialised ones.
                        let row = unsafe { &*(row as *const [f32] as *const [MaybeUninit<f32>]) };
                        copy_run(&mut plane[r * wo..][..wo], row);
                    }
                    // SAFETY: every row of the plane was just written.
                    let plane = unsafe { plane.assume_init_mut() };
                    let res = epilogue
                        .residual
                        .map(|r| &r[n * y_len + o * ho * wo..][..ho * wo]);
                    epilogue.apply(plane, o, res);
                }
            }
        });
    };
    // SAFETY: the tasks cover the batch and every output plane is written row by row.
    unsafe { crate::runtime::uninit::written(g.batch * y_len, fill) }
}

/// The geometries the direct kernels' tests run: LeNet's two layers, output channels not a
/// multiple of the block, asymmetric padding, a non-square kernel, a single sample and a
/// DenseNet-like layer with many input channels.
#[cfg(test)]
pub(crate) fn test_cases() -> Vec<ConvGeometry> {
    // (batch, c_in, c_out, h, w, kernel, padding)
    [
        (5, 1, 6, 28, 28, [5, 5], [(2, 2), (2, 2)]),
        (3, 6, 16, 14, 14, [5, 5], [(0, 0), (0, 0)]),
        (2, 3, 7, 9, 11, [3, 2], [(0, 2), (1, 0)]),
        (1, 4, 32, 5, 5, [3, 3], [(1, 1), (1, 1)]),
        (2, 40, 32, 6, 6, [3, 3], [(1, 1), (1, 1)]),
    ]
    .map(|(batch, ci, co, h, w, kernel, padding)| ConvGeometry {
        groups: 1,
        batch,
        channels_in: ci,
        channels_out: co,
        input: [h, w],
        kernel,
        stride: [1, 1],
        padding,
    })
    .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::im2col;
    use crate::testing::{assert_close, conv_terms, pattern};

    /// The convolution by its definition, in `f64`, plus a bias.
    fn naive(g: &ConvGeometry, x: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
        let pixels = g.pixels();
        let mut y: Vec<f64> = (0..g.batch * g.channels_out * pixels)
            .map(|at| bias[at / pixels % g.channels_out] as f64)
            .collect();
        conv_terms(g, |xi, wi, yi| y[yi] += x[xi] as f64 * weight[wi] as f64);
        y.into_iter().map(|v| v as f32).collect()
    }

    /// Against the definition (with a bias) and against im2col's (with a residual and ReLU),
    /// for [`test_cases`], on every path.
    #[test]
    fn matches_the_definition_and_the_patch_matrix_convolution() {
        let lenet = |ci, h, pad| ConvGeometry {
            groups: 1,
            batch: 256,
            channels_in: ci,
            channels_out: 16,
            input: [h, h],
            kernel: [5, 5],
            stride: [1, 1],
            padding: [(pad, pad); 2],
        };
        assert!(applies(&lenet(1, 28, 2)) && applies(&lenet(6, 14, 0)));
        assert!(applies(&lenet(16, 14, 0)) && !weight_grad_applies(&lenet(16, 14, 0)));
        crate::testing::on_every_path(|| {
            for g in test_cases() {
                let [ho, wo] = g.output();
                let (batch, ci, co) = (g.batch, g.channels_in, g.channels_out);
                let x = pattern(batch * ci * g.input[0] * g.input[1], 1);
                let weight = pattern(co * g.patch_rows(), 2);
                let bias = pattern(co, 5);
                let res = pattern(batch * co * ho * wo, 4);
                let case = format!("{g:?}");
                assert_close(
                    &format!("forward {case}"),
                    &forward(&g, &x, &weight, Epilogue::bias(Some(&bias))),
                    &naive(&g, &x, &weight, &bias),
                    1e-5,
                );
                let epilogue = Epilogue {
                    shift: Some(&bias),
                    residual: Some(&res),
                    activation: crate::Activation::Relu,
                    ..Epilogue::default()
                };
                assert_close(
                    &format!("forward with a residual {case}"),
                    &forward(&g, &x, &weight, epilogue),
                    &im2col::forward(&g, &x, &weight, epilogue),
                    1e-5,
                );
            }
        });
    }
}
