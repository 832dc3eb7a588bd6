//! Stride-1 convolutions without a patch matrix: a sum over the kernel's taps of pointwise
//! gemms on a zero-padded copy of the input.
//!
//! With the input padded to `[C_in, H_p, W_p]` and the output laid on the same grid (output
//! pixel `(h, w)` at `h W_p + w`), tap `(i, j)` reads the padded input shifted by `i W_p + j`:
//! `y_grid += W_ij [C_out, C_in] * x_p[:, shift..]`. The columns and rows of the grid past the
//! output are never read back (forward) or hold zeros (gradients), and samples sit one after
//! another on the grid, so that several small ones share each gemm. The input is copied once
//! instead of `k_h k_w` times, and where `C_out` is small the gemm reads it in place
//! without packing it (the gradients of DenseNet's 32-channel 3x3 convolutions).

use std::mem::MaybeUninit;

use crate::conv::{ConvGeometry, Epilogue};
use crate::runtime::gemm::{Strided, gemm_into, gemm_rows};
use crate::runtime::tasks::{blocks, for_each_task, gemm_parallelism, per_task, sum_over_tasks};

/// Whether [`forward`], [`weight_grad`] and [`input_grad`] take the convolution: stride 1,
/// a kernel larger than 1x1, enough input channels that each tap's gemm has depth, few enough
/// output channels that im2col's copy is not shared by many, and most of the padded grid
/// inside the output (at 3x3, 6x6 and 12x12 a 3x3 kernel's grid is 64%, 44% and 27% waste).
pub fn applies(g: &ConvGeometry) -> bool {
    let [ho, wo] = g.output();
    let grid = Grid::new(g).plane;
    g.stride == [1, 1]
        && g.kernel != [1, 1]
        && g.channels_in >= MIN_CHANNELS_IN
        && g.channels_out <= MAX_CHANNELS_OUT
        && 5 * ho * wo >= 4 * grid
}

/// Input channels (the depth of each tap's gemm) below which im2col's one deep gemm is faster.
const MIN_CHANNELS_IN: usize = 16;

/// Output channels above which im2col measures faster (`bench layers`: VGG-11's 128-512).
const MAX_CHANNELS_OUT: usize = 64;

/// The grid pixels a gemm should at least have.
const MIN_GRID_PIXELS: usize = 256;

/// The padded grid of a geometry.
#[derive(Clone, Copy)]
struct Grid {
    /// Padded width.
    wp: usize,
    /// Grid values of one sample: `H_p W_p`.
    plane: usize,
    /// Samples per gemm.
    group: usize,
}

impl Grid {
    fn new(g: &ConvGeometry) -> Self {
        let [(pt, pb), (pl, pr)] = g.padding;
        let (hp, wp) = (g.input[0] + pt + pb, g.input[1] + pl + pr);
        let plane = hp * wp;
        let group = MIN_GRID_PIXELS.div_ceil(plane).clamp(1, per_task(g.batch));
        Self { wp, plane, group }
    }

    /// The shift of tap `t` (`i k_w + j`): `i W_p + j`.
    fn shift(&self, g: &ConvGeometry, t: usize) -> usize {
        let kw = g.kernel[1];
        (t / kw) * self.wp + t % kw
    }

    /// Grid columns each tap's gemm covers for `nb` samples: all but the largest shift, so that
    /// every shifted read stays inside the padded input.
    fn span(&self, g: &ConvGeometry, nb: usize) -> usize {
        let taps = g.kernel[0] * g.kernel[1];
        nb * self.plane - self.shift(g, taps - 1)
    }
}

/// Copies samples `n0..n0 + nb` of `x` into `xp` (`[C_in, nb H_p W_p]`), zero-padded.
fn pad_input(g: &ConvGeometry, grid: &Grid, x: &[f32], n0: usize, nb: usize, xp: &mut [f32]) {
    let [h, w] = g.input;
    let [(pt, _), (pl, _)] = g.padding;
    let ld = nb * grid.plane;
    xp[..g.channels_in * ld].fill(0.0);
    for b in 0..nb {
        let sample = &x[(n0 + b) * g.input_len()..][..g.input_len()];
        for c in 0..g.channels_in {
            let dst = &mut xp[c * ld + b * grid.plane..][..grid.plane];
            for r in 0..h {
                dst[(r + pt) * grid.wp + pl..][..w]
                    .copy_from_slice(&sample[(c * h + r) * w..][..w]);
            }
        }
    }
}

/// Lays the output gradients of samples `n0..n0 + nb` on the grid (`[C_out, nb H_p W_p]`),
/// zeros off the output.
fn grid_dy(g: &ConvGeometry, grid: &Grid, dy: &[f32], n0: usize, nb: usize, dst: &mut [f32]) {
    let [ho, wo] = g.output();
    let ld = nb * grid.plane;
    let sample = g.channels_out * ho * wo;
    dst[..g.channels_out * ld].fill(0.0);
    for b in 0..nb {
        let dy_n = &dy[(n0 + b) * sample..][..sample];
        for o in 0..g.channels_out {
            let plane = &mut dst[o * ld + b * grid.plane..][..grid.plane];
            for r in 0..ho {
                plane[r * grid.wp..][..wo].copy_from_slice(&dy_n[(o * ho + r) * wo..][..wo]);
            }
        }
    }
}

/// Output `[N, C_out, H_out, W_out]` of a stride-1 convolution (as
/// [`crate::conv::forward`]), each value finished by `epilogue`.
pub fn forward(g: &ConvGeometry, x: &[f32], weight: &[f32], epilogue: Epilogue) -> Vec<f32> {
    let grid = Grid::new(g);
    let (rows, taps) = (g.patch_rows(), g.kernel[0] * g.kernel[1]);
    let [ho, wo] = g.output();
    let y_len = g.channels_out * ho * wo;
    let fill = |y: &mut [MaybeUninit<f32>]| {
        for_each_task(y, y_len, g.batch, |start, end, y_task| {
            let mut xp = vec![0.0f32; g.channels_in * grid.group * grid.plane];
            let mut out = vec![0.0f32; g.channels_out * grid.group * grid.plane];
            for (n0, nb) in blocks(start, end, grid.group) {
                let (ld, span) = (nb * grid.plane, grid.span(g, nb));
                pad_input(g, &grid, x, n0, nb, &mut xp);
                for tap in 0..taps {
                    // out[C_out, span] (+)= weight[:, :, tap] [C_out, C_in] * x_p shifted
                    gemm_rows(
                        &mut out,
                        ld,
                        [g.channels_out, span, g.channels_in],
                        tap > 0,
                        Strided::new(&weight[tap..], rows, taps),
                        Strided::new(&xp[grid.shift(g, tap)..], ld, 1),
                        gemm_parallelism(g.batch),
                    );
                }
                for b in 0..nb {
                    let n = n0 + b;
                    let y_n = &mut y_task[(n - start) * y_len..][..y_len];
                    for o in 0..g.channels_out {
                        let plane = &mut y_n[o * ho * wo..][..ho * wo];
                        let src = &out[o * ld + b * grid.plane..];
                        for r in 0..ho {
                            plane[r * wo..][..wo].write_copy_of_slice(&src[r * grid.wp..][..wo]);
                        }
                        // SAFETY: every row of the plane was just written.
                        let plane = unsafe { plane.assume_init_mut() };
                        let res = epilogue
                            .residual
                            .map(|r| &r[n * y_len + o * ho * wo..][..ho * wo]);
                        epilogue.apply(plane, o, res);
                    }
                }
            }
        });
    };
    // SAFETY: the tasks cover the batch and every output plane is written row by row.
    unsafe { crate::runtime::uninit::written(g.batch * y_len, fill) }
}

/// Weight gradient `[C_out, C_in k_h k_w]` of a stride-1 convolution (as
/// [`crate::conv::weight_grad`]).
pub fn weight_grad(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let grid = Grid::new(g);
    let (co, ci, taps) = (g.channels_out, g.channels_in, g.kernel[0] * g.kernel[1]);
    // Per tap `[taps, C_out, C_in]`, summed over the tasks, then laid out as the weight.
    let total = sum_over_tasks(g.batch, taps * co * ci, |start, end| {
        let mut acc = vec![0.0f32; taps * co * ci];
        let mut xp = vec![0.0f32; ci * grid.group * grid.plane];
        let mut dyg = vec![0.0f32; co * grid.group * grid.plane];
        for (n0, nb) in blocks(start, end, grid.group) {
            let (ld, span) = (nb * grid.plane, grid.span(g, nb));
            pad_input(g, &grid, x, n0, nb, &mut xp);
            grid_dy(g, &grid, dy, n0, nb, &mut dyg);
            for (tap, acc_t) in acc.chunks_exact_mut(co * ci).enumerate() {
                // acc_t[C_out, C_in] += dy_grid[C_out, span] * (x_p shifted)^T[span, C_in]
                gemm_into(
                    acc_t,
                    [co, ci, span],
                    n0 != start,
                    Strided::new(&dyg, ld, 1),
                    Strided::new(&xp[grid.shift(g, tap)..], 1, ld),
                    gemm_parallelism(g.batch),
                );
            }
        }
        acc
    });
    let mut dw = vec![0.0f32; co * ci * taps];
    for (tap, acc_t) in total.chunks_exact(co * ci).enumerate() {
        for (oc, v) in acc_t.iter().enumerate() {
            dw[oc * taps + tap] = *v;
        }
    }
    dw
}

/// Input gradient `[N, C_in, H, W]` of a stride-1 convolution (as
/// [`crate::conv::input_grad`]).
pub fn input_grad(g: &ConvGeometry, weight: &[f32], dy: &[f32]) -> Vec<f32> {
    let grid = Grid::new(g);
    let (rows, taps) = (g.patch_rows(), g.kernel[0] * g.kernel[1]);
    let [h, w] = g.input;
    let [(pt, _), (pl, _)] = g.padding;
    let x_len = g.input_len();
    let fill = |dx: &mut [MaybeUninit<f32>]| {
        for_each_task(dx, x_len, g.batch, |start, end, dx_task| {
            let mut dxp = vec![0.0f32; g.channels_in * grid.group * grid.plane];
            let mut dyg = vec![0.0f32; g.channels_out * grid.group * grid.plane];
            for (n0, nb) in blocks(start, end, grid.group) {
                let (ld, span) = (nb * grid.plane, grid.span(g, nb));
                grid_dy(g, &grid, dy, n0, nb, &mut dyg);
                dxp[..g.channels_in * ld].fill(0.0);
                for tap in 0..taps {
                    // dx_p shifted [C_in, span] += weight[:, :, tap]^T [C_in, C_out] * dy_grid
                    gemm_rows(
                        &mut dxp[grid.shift(g, tap)..],
                        ld,
                        [g.channels_in, span, g.channels_out],
                        true,
                        Strided::new(&weight[tap..], taps, rows),
                        Strided::new(&dyg, ld, 1),
                        gemm_parallelism(g.batch),
                    );
                }
                for b in 0..nb {
                    let dx_n = &mut dx_task[(n0 + b - start) * x_len..][..x_len];
                    for c in 0..g.channels_in {
                        let src = &dxp[c * ld + b * grid.plane..];
                        for r in 0..h {
                            dx_n[(c * h + r) * w..][..w]
                                .write_copy_of_slice(&src[(r + pt) * grid.wp + pl..][..w]);
                        }
                    }
                }
            }
        });
    };
    // SAFETY: the tasks cover the batch and every row of every input plane is written.
    unsafe { crate::runtime::uninit::written(g.batch * x_len, fill) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::im2col;
    use crate::testing::{assert_close, pattern as values};

    /// The taps' values and gradients against im2col's, for padded, unpadded, asymmetric,
    /// non-square, grouped (few pixels) and single-sample geometries, and a residual with ReLU
    /// (also where [`applies`] would not take them: the sums are the same).
    #[test]
    fn matches_the_patch_matrix_convolution() {
        // (batch, c_in, c_out, h, w, kernel, padding)
        let cases = [
            (3, 16, 32, 9, 9, [3, 3], [(1, 1), (1, 1)]),
            (2, 20, 8, 12, 10, [5, 5], [(2, 2), (2, 2)]),
            (5, 17, 64, 3, 3, [3, 3], [(1, 1), (1, 1)]),
            (4, 16, 5, 7, 6, [3, 2], [(0, 2), (1, 0)]),
            (1, 24, 9, 6, 6, [3, 3], [(0, 0), (0, 0)]),
            (9, 32, 4, 1, 1, [3, 3], [(1, 1), (1, 1)]),
            (2, 16, 64, 24, 24, [3, 3], [(1, 1), (1, 1)]),
        ];
        assert!(applies(&ConvGeometry {
            groups: 1,
            batch: 2,
            channels_in: 64,
            channels_out: 32,
            input: [24, 24],
            kernel: [3, 3],
            stride: [1, 1],
            padding: [(1, 1), (1, 1)],
        }));
        crate::testing::on_every_path(|| {
            for (batch, ci, co, h, w, kernel, padding) in cases {
                let g = ConvGeometry {
                    groups: 1,
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
                let dy = values(batch * co * ho * wo, 3);
                let res = values(batch * co * ho * wo, 4);
                let bias = values(co, 5);
                let epilogue = Epilogue {
                    shift: Some(&bias),
                    residual: Some(&res),
                    activation: crate::Activation::Relu,
                    ..Epilogue::default()
                };
                let case = format!("{g:?}");
                assert_close(
                    &format!("forward {case}"),
                    &forward(&g, &x, &weight, epilogue),
                    &im2col::forward(&g, &x, &weight, epilogue),
                    1e-5,
                );
                assert_close(
                    &format!("weight grad {case}"),
                    &weight_grad(&g, &x, &dy),
                    &im2col::weight_grad(&g, &x, &dy),
                    1e-5,
                );
                assert_close(
                    &format!("input grad {case}"),
                    &input_grad(&g, &weight, &dy),
                    &im2col::input_grad(&g, &weight, &dy),
                    1e-5,
                );
            }
        });
    }
}
