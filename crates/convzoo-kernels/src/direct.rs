//! Stride-1 convolutions with few input values per output (LeNet's `1 -> 6` and `6 -> 16`
//! 5x5 layers), summed tap by tap in registers: no patch matrix, no gemm.
//!
//! As in [`crate::taps`], a sample is copied once, zero-padded, and its output laid on the
//! padded grid: output pixel `(h, w)` at `p = h W_p + w` reads input `p + i W_p + j` for tap
//! `(i, j)`. A block of [`BLOCK_CHANNELS`] output channels by [`BLOCK_PIXELS`] consecutive grid
//! positions is kept in registers while every input channel and tap adds to it: per tap, the
//! block's input values are loaded once and each channel's weight is broadcast once. Such a
//! layer's patch matrix is `C_in k_h k_w` copies of the input (25 for LeNet's first), which
//! im2col writes and the gemm reads back for a handful of output channels; here the padded input
//! stays in L1. The weight gradient ([`weight_grad`]) is summed on the same grid, by blocks of
//! output channels and taps.

use crate::conv_kernels::{ConvGeometry, Epilogue};
use crate::im2col::copy_run;
use crate::tasks::{for_each_task, per_task, sum_partials};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Output channels of a register block.
const BLOCK_CHANNELS: usize = 6;

/// Consecutive grid positions of a register block: three 8-wide vectors, so that a block's
/// accumulators take 12 of AVX2's 16 registers.
const BLOCK_PIXELS: usize = 16;

/// Input values per output value (`C_in k_h k_w`) up to which [`forward`] takes a layer.
const MAX_PATCH_ROWS: usize = 160;

/// Output channels up to which [`forward`] takes a layer: beyond them im2col's copy is shared by
/// enough of them to pay for itself.
const MAX_CHANNELS_OUT: usize = 32;

/// Whether [`forward`] takes the convolution: stride 1, a kernel larger than 1x1, few input
/// values per output and few output channels, and most of each padded row inside the output.
pub fn applies(g: &ConvGeometry) -> bool {
    let ((pl, pr), wo) = (g.padding[1], g.output()[1]);
    let wp = g.input[1] + pl + pr;
    g.stride == [1, 1]
        && g.kernel != [1, 1]
        && g.patch_rows() <= MAX_PATCH_ROWS
        && g.channels_out <= MAX_CHANNELS_OUT
        && 3 * wp <= 5 * wo
}

/// Where a sample lies in the padded input and on the output grid.
struct Plan {
    /// Padded width.
    wp: usize,
    /// Grid positions computed per output channel: `H_out W_p` rounded up to whole blocks.
    grid: usize,
    /// Distance between the input channels of the padded copy: the padded plane and room for
    /// the last block's reads past it.
    channel: usize,
    /// The grid offset each tap reads at, row-major over the kernel.
    shifts: Vec<usize>,
    /// Output channels rounded up to whole blocks.
    channels_out: usize,
}

impl Plan {
    fn new(g: &ConvGeometry) -> Self {
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

/// The weight (`[C_out, C_in k_h k_w]`) as `[C_out / 4, C_in k_h k_w, 4]`: for each block of
/// output channels and each input value, the block's four weights side by side (zeros past
/// `C_out`).
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
fn pad_sample(g: &ConvGeometry, plan: &Plan, x: &[f32], xp: &mut [f32]) {
    let [h, w] = g.input;
    let [(pt, _), (pl, _)] = g.padding;
    for (plane, dst) in x.chunks_exact(h * w).zip(xp.chunks_exact_mut(plan.channel)) {
        for (r, row) in plane.chunks_exact(w).enumerate() {
            copy_run(&mut dst[(r + pt) * plan.wp + pl..][..w], row);
        }
    }
}

/// The grid of one padded sample `xp`: `out[o][p] = sum_{c, t} w[o][c][t] xp[c][p + shift_t]`
/// for the `plan.channels_out` channels and `plan.grid` positions, block by block.
#[inline(always)]
fn sample_grid<const FUSED: bool>(
    xp: &[f32],
    channel: usize,
    shifts: &[usize],
    packed: &[f32],
    grid: usize,
    out: &mut [f32],
) {
    let taps = shifts.len();
    let rows = packed.len() / (out.len() / grid);
    let channels_in = rows / taps;
    for (block, w_block) in packed.chunks_exact(rows * BLOCK_CHANNELS).enumerate() {
        let out_block = &mut out[block * BLOCK_CHANNELS * grid..][..BLOCK_CHANNELS * grid];
        for p0 in (0..grid).step_by(BLOCK_PIXELS) {
            let mut acc = [[0.0f32; BLOCK_PIXELS]; BLOCK_CHANNELS];
            for c in 0..channels_in {
                let x_c = &xp[c * channel + p0..];
                let w_c = &w_block[c * taps * BLOCK_CHANNELS..][..taps * BLOCK_CHANNELS];
                for (&s, w_t) in shifts.iter().zip(w_c.chunks_exact(BLOCK_CHANNELS)) {
                    let xs: &[f32; BLOCK_PIXELS] = x_c[s..s + BLOCK_PIXELS].try_into().unwrap();
                    for (acc_k, &w) in acc.iter_mut().zip(w_t) {
                        for (a, &v) in acc_k.iter_mut().zip(xs) {
                            *a = crate::cpu::madd::<FUSED>(w, v, *a);
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

crate::multiversion! {
    /// [`sample_grid`] for the CPU's path (fused multiply-adds on the AVX paths).
    fn sample_grid_isa(
        xp: &[f32],
        channel: usize,
        shifts: &[usize],
        packed: &[f32],
        grid: usize,
        out: &mut [f32],
    ) = sample_grid::<FUSED>;
}

/// Output `[N, C_out, H_out, W_out]` of a convolution that [`applies`] (as
/// [`crate::conv_kernels::forward`]), each value finished by `epilogue`.
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
    unsafe { crate::uninit::written(g.batch * y_len, fill) }
}

/// Output channels of a weight-gradient register block.
const GRAD_CHANNELS: usize = 2;

/// Kernel taps of a weight-gradient register block: with [`GRAD_CHANNELS`], 8 accumulators,
/// and per 8 grid positions 2 output-gradient and 4 input loads for 8 fused multiply-adds.
const GRAD_TAPS: usize = 4;

/// Grid positions a weight-gradient step covers: one 8-wide vector.
const LANES: usize = 8;

/// Lays sample `dy` (`[C_out, H_out, W_out]`) on the grid (`[_, plan.grid]`): positions off the
/// output are zero already and stay so.
fn grid_dy(g: &ConvGeometry, plan: &Plan, dy: &[f32], dst: &mut [f32]) {
    let [ho, wo] = g.output();
    for (plane, d) in dy
        .chunks_exact(ho * wo)
        .zip(dst.chunks_exact_mut(plan.grid))
    {
        for (r, row) in plane.chunks_exact(wo).enumerate() {
            copy_run(&mut d[r * plan.wp..][..wo], row);
        }
    }
}

/// Adds one sample's weight gradient to `dw` (`[C_out, C_in, taps]`, `dims` being those three,
/// each value kept as [`LANES`] partial sums): `dw[o][c][t] += sum_p dy_grid[o][p]
/// xp[c][p + shift_t]`, by blocks of [`GRAD_CHANNELS`] output channels and [`GRAD_TAPS`] taps
/// (`shifts` padded to whole blocks; the padding's sums are dropped), summed lane-wise.
#[inline(always)]
fn sample_weight_grad<const FUSED: bool>(
    xp: &[f32],
    channel: usize,
    shifts: &[usize],
    dyg: &[f32],
    grid: usize,
    dims: [usize; 3],
    dw: &mut [[f32; LANES]],
) {
    let [co, ci, taps] = dims;
    let steps = grid / LANES;
    for c in 0..ci {
        let x_c = &xp[c * channel..][..channel];
        for (tb, s_block) in shifts.chunks_exact(GRAD_TAPS).enumerate() {
            // The block's shifted inputs as vectors, each `steps` long.
            let xs: [&[[f32; LANES]]; GRAD_TAPS] =
                std::array::from_fn(|t| x_c[s_block[t]..][..grid].as_chunks::<LANES>().0);
            for ob in 0..co.div_ceil(GRAD_CHANNELS) {
                let ds: [&[[f32; LANES]]; GRAD_CHANNELS] = std::array::from_fn(|k| {
                    dyg[(ob * GRAD_CHANNELS + k) * grid..][..grid]
                        .as_chunks::<LANES>()
                        .0
                });
                let mut acc = [[[0.0f32; LANES]; GRAD_TAPS]; GRAD_CHANNELS];
                for q in 0..steps {
                    let d: [[f32; LANES]; GRAD_CHANNELS] = std::array::from_fn(|k| ds[k][q]);
                    let x: [[f32; LANES]; GRAD_TAPS] = std::array::from_fn(|t| xs[t][q]);
                    for (acc_k, d_k) in acc.iter_mut().zip(&d) {
                        for (acc_kt, x_t) in acc_k.iter_mut().zip(&x) {
                            for ((a, &dv), &xv) in acc_kt.iter_mut().zip(d_k).zip(x_t) {
                                *a = crate::cpu::madd::<FUSED>(dv, xv, *a);
                            }
                        }
                    }
                }
                for (k, acc_k) in acc.iter().enumerate() {
                    let o = ob * GRAD_CHANNELS + k;
                    for (t, lanes) in acc_k.iter().enumerate() {
                        let tap = tb * GRAD_TAPS + t;
                        if o < co && tap < taps {
                            let sums = &mut dw[(o * ci + c) * taps + tap];
                            sums.iter_mut().zip(lanes).for_each(|(v, l)| *v += l);
                        }
                    }
                }
            }
        }
    }
}

crate::multiversion! {
    /// [`sample_weight_grad`] for the CPU's path.
    fn sample_weight_grad_isa(
        xp: &[f32],
        channel: usize,
        shifts: &[usize],
        dyg: &[f32],
        grid: usize,
        dims: [usize; 3],
        dw: &mut [[f32; LANES]],
    ) = sample_weight_grad::<FUSED>;
}

/// Weight gradient `[C_out, C_in k_h k_w]` of a convolution that [`applies`] (as
/// [`crate::conv_kernels::weight_grad`]): per-task sums over the grid, then over the tasks.
pub fn weight_grad(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let plan = Plan::new(g);
    let taps = g.kernel[0] * g.kernel[1];
    let mut shifts = plan.shifts.clone();
    shifts.resize(taps.next_multiple_of(GRAD_TAPS), 0);
    let dims = [g.channels_out, g.channels_in, taps];
    let len = g.channels_out * g.patch_rows();
    let y_len = g.channels_out * g.pixels();
    let task = per_task(g.batch);
    let partials: Vec<Vec<f32>> = (0..g.batch)
        .into_par_iter()
        .step_by(task)
        .map(|start| {
            let end = (start + task).min(g.batch);
            let mut dw = vec![[0.0f32; LANES]; len];
            let mut xp = vec![0.0f32; g.channels_in * plan.channel];
            let rows = g.channels_out.next_multiple_of(GRAD_CHANNELS);
            let mut dyg = vec![0.0f32; rows * plan.grid];
            for n in start..end {
                pad_sample(g, &plan, &x[n * g.input_len()..][..g.input_len()], &mut xp);
                grid_dy(g, &plan, &dy[n * y_len..][..y_len], &mut dyg);
                sample_weight_grad_isa(&xp, plan.channel, &shifts, &dyg, plan.grid, dims, &mut dw);
            }
            dw.iter().map(|lanes| lanes.iter().sum()).collect()
        })
        .collect();
    sum_partials(partials, len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv_kernels;
    use crate::testing::assert_close;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let v = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed);
                (v >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    /// The convolution by its definition, in `f64`, plus a bias.
    fn naive(g: &ConvGeometry, x: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
        let [h, w] = g.input;
        let [kh, kw] = g.kernel;
        let [(pt, _), (pl, _)] = g.padding;
        let [ho, wo] = g.output();
        let mut y = Vec::with_capacity(g.batch * g.channels_out * ho * wo);
        for n in 0..g.batch {
            for o in 0..g.channels_out {
                for (r, s) in (0..ho).flat_map(|r| (0..wo).map(move |s| (r, s))) {
                    let mut sum = bias[o] as f64;
                    for (c, i, j) in (0..g.channels_in)
                        .flat_map(|c| (0..kh).flat_map(move |i| (0..kw).map(move |j| (c, i, j))))
                    {
                        let (ih, iw) = ((r + i).checked_sub(pt), (s + j).checked_sub(pl));
                        if let (Some(ih), Some(iw)) = (ih, iw)
                            && ih < h
                            && iw < w
                        {
                            let xv = x[((n * g.channels_in + c) * h + ih) * w + iw];
                            let wv = weight[((o * g.channels_in + c) * kh + i) * kw + j];
                            sum += xv as f64 * wv as f64;
                        }
                    }
                    y.push(sum as f32);
                }
            }
        }
        y
    }

    /// The weight gradient by its definition, in `f64`.
    fn naive_weight_grad(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
        let [h, w] = g.input;
        let [kh, kw] = g.kernel;
        let [(pt, _), (pl, _)] = g.padding;
        let [ho, wo] = g.output();
        let mut dw = vec![0.0f64; g.channels_out * g.patch_rows()];
        for n in 0..g.batch {
            for (o, c, i, j) in (0..g.channels_out).flat_map(|o| {
                (0..g.channels_in).flat_map(move |c| {
                    (0..kh).flat_map(move |i| (0..kw).map(move |j| (o, c, i, j)))
                })
            }) {
                let at = ((o * g.channels_in + c) * kh + i) * kw + j;
                for (r, s) in (0..ho).flat_map(|r| (0..wo).map(move |s| (r, s))) {
                    let (ih, iw) = ((r + i).checked_sub(pt), (s + j).checked_sub(pl));
                    if let (Some(ih), Some(iw)) = (ih, iw)
                        && ih < h
                        && iw < w
                    {
                        let xv = x[((n * g.channels_in + c) * h + ih) * w + iw];
                        let dv = dy[((n * g.channels_out + o) * ho + r) * wo + s];
                        dw[at] += xv as f64 * dv as f64;
                    }
                }
            }
        }
        dw.into_iter().map(|v| v as f32).collect()
    }

    /// The forward pass against the definition (with a bias) and against im2col's (with a
    /// residual and ReLU), the weight gradient against the definition and against im2col's,
    /// for LeNet's two layers, output channels not a multiple of the block, asymmetric padding,
    /// a non-square kernel and a single sample, on every path.
    #[test]
    fn forward_and_weight_grad_match_the_definition_and_the_patch_matrix_convolution() {
        // (batch, c_in, c_out, h, w, kernel, padding)
        let cases = [
            (5, 1, 6, 28, 28, [5, 5], [(2, 2), (2, 2)]),
            (3, 6, 16, 14, 14, [5, 5], [(0, 0), (0, 0)]),
            (2, 3, 7, 9, 11, [3, 2], [(0, 2), (1, 0)]),
            (1, 4, 32, 5, 5, [3, 3], [(1, 1), (1, 1)]),
        ];
        let lenet = |ci, h, pad| ConvGeometry {
            batch: 256,
            channels_in: ci,
            channels_out: 16,
            input: [h, h],
            kernel: [5, 5],
            stride: [1, 1],
            padding: [(pad, pad); 2],
        };
        assert!(applies(&lenet(1, 28, 2)) && applies(&lenet(6, 14, 0)));
        assert!(!applies(&lenet(16, 14, 0)), "400 values per output");
        crate::testing::on_every_path(|| {
            for (batch, ci, co, h, w, kernel, padding) in cases {
                let g = ConvGeometry {
                    batch,
                    channels_in: ci,
                    channels_out: co,
                    input: [h, w],
                    kernel,
                    stride: [1, 1],
                    padding,
                };
                let [ho, wo] = g.output();
                let x = values(batch * ci * h * w, 1);
                let weight = values(co * g.patch_rows(), 2);
                let bias = values(co, 5);
                let res = values(batch * co * ho * wo, 4);
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
                    &conv_kernels::im2col_forward(&g, &x, &weight, epilogue),
                    1e-5,
                );
                let dy = values(batch * co * ho * wo, 3);
                let dw = weight_grad(&g, &x, &dy);
                assert_close(
                    &format!("weight grad {case}"),
                    &dw,
                    &naive_weight_grad(&g, &x, &dy),
                    1e-5,
                );
                assert_close(
                    &format!("weight grad against im2col's {case}"),
                    &dw,
                    &conv_kernels::im2col_weight_grad(&g, &x, &dy),
                    1e-5,
                );
            }
        });
    }
}
