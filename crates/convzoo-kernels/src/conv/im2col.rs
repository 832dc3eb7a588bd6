//! Convolution by per-sample im2col and one gemm: a sample's patch matrix
//! `[C_in k_h k_w, H_out W_out]` (laid out by [`super::patches`]) times the weight, samples split
//! across the rayon pool and grouped into one gemm where a sample has few pixels.
//!
//! Burn 0.22 computes a convolution's weight gradient as another convolution whose batch is the
//! input channels and whose kernel is the whole output gradient; on flex that convolution runs
//! one im2col over all samples per input channel and a gemm whose output is only `k x k` wide.
//! Here each sample's patch matrix feeds a gemm of the natural shape
//! `[C_out, H_out W_out] x [H_out W_out, C_in k k]`, accumulated per thread. The forward pass
//! writes each sample's gemm straight into the NCHW output.

use super::patches::{col2im, im2col};
use super::{ConvGeometry, Epilogue};
use crate::runtime::gemm::{Strided, gemm_into, gemm_uninit};
use crate::runtime::tasks::{blocks, for_each_task, gemm_parallelism, per_task, sum_over_tasks};
use std::mem::MaybeUninit;

/// Samples per gemm: enough that the gemm's pixel side reaches [`MIN_GEMM_PIXELS`] (late ResNet
/// stages have 9 or 36 output pixels a sample, far too few for one gemm each).
fn per_gemm(pixels: usize, per_task: usize) -> usize {
    MIN_GEMM_PIXELS.div_ceil(pixels).clamp(1, per_task)
}

/// The pixel side a gemm should at least have.
const MIN_GEMM_PIXELS: usize = 256;

/// A task's buffer for one block's `[C_out, nb H_out W_out]` matrix (empty when every block is
/// one sample, which needs none).
fn block_buffer(g: &ConvGeometry, group: usize) -> Vec<f32> {
    let len = if group > 1 {
        g.channels_out * group * g.pixels()
    } else {
        0
    };
    vec![0.0; len]
}

/// The patches of samples `n0..n0 + nb` side by side in `cols`, `[C_in k_h k_w, nb H_out W_out]`.
fn im2col_block(g: &ConvGeometry, x: &[f32], n0: usize, nb: usize, cols: &mut [f32]) {
    let (pixels, x_len) = (g.pixels(), g.input_len());
    for b in 0..nb {
        im2col(
            g,
            &x[(n0 + b) * x_len..][..x_len],
            &mut cols[b * pixels..],
            nb * pixels,
        );
    }
}

/// A task's buffer for the patch matrices of `group` samples (none for a pointwise convolution
/// taken a sample at a time).
fn cols_buffer(g: &ConvGeometry, group: usize) -> Vec<f32> {
    if group == 1 && g.is_pointwise() {
        return Vec::new();
    }
    vec![0.0; g.patch_rows() * group * g.pixels()]
}

/// The patch matrix of samples `n0..n0 + nb`, `[C_in k_h k_w, nb H_out W_out]`: the sample
/// itself for one sample of a pointwise convolution, else laid out in `cols`.
fn patches<'a>(
    g: &ConvGeometry,
    x: &'a [f32],
    n0: usize,
    nb: usize,
    cols: &'a mut [f32],
) -> &'a [f32] {
    if nb == 1 && g.is_pointwise() {
        let x_len = g.input_len();
        return &x[n0 * x_len..][..x_len];
    }
    im2col_block(g, x, n0, nb, cols);
    &cols[..g.patch_rows() * nb * g.pixels()]
}

/// The output gradients of samples `n0..n0 + nb` as `[C_out, nb H_out W_out]`: `dy` itself for
/// one sample, copied into `buf` for several.
fn dy_block<'a>(
    g: &ConvGeometry,
    dy: &'a [f32],
    n0: usize,
    nb: usize,
    buf: &'a mut [f32],
) -> &'a [f32] {
    let pixels = g.pixels();
    let sample = g.channels_out * pixels;
    if nb == 1 {
        return &dy[n0 * sample..][..sample];
    }
    for b in 0..nb {
        let dy_n = &dy[(n0 + b) * sample..][..sample];
        for o in 0..g.channels_out {
            buf[o * nb * pixels + b * pixels..][..pixels]
                .copy_from_slice(&dy_n[o * pixels..(o + 1) * pixels]);
        }
    }
    &buf[..g.channels_out * nb * pixels]
}

/// The weight gradient ([`super::weight_grad`]) by per-sample patch matrices.
pub(crate) fn weight_grad(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let rows = g.patch_rows();
    let pixels = g.pixels();
    let task = per_task(g.batch);
    let group = per_gemm(pixels, task);
    sum_over_tasks(g.batch, g.channels_out * rows, |start, end| {
        let mut acc = vec![0.0f32; g.channels_out * rows];
        let mut cols = cols_buffer(g, group);
        let mut dy_buf = block_buffer(g, group);
        for (n0, nb) in blocks(start, end, group) {
            let ld = nb * pixels;
            let cols = patches(g, x, n0, nb, &mut cols);
            let dy_block = dy_block(g, dy, n0, nb, &mut dy_buf);
            // acc[C_out, rows] += dy_block[C_out, ld] * cols^T[ld, rows]
            gemm_into(
                &mut acc,
                [g.channels_out, rows, ld],
                n0 != start,
                Strided::new(dy_block, ld, 1),
                Strided::new(cols, 1, ld),
                gemm_parallelism(g.batch),
            );
        }
        acc
    })
}

/// The forward pass ([`super::forward`]) by per-sample patch matrices.
pub(crate) fn forward(g: &ConvGeometry, x: &[f32], weight: &[f32], epilogue: Epilogue) -> Vec<f32> {
    let rows = g.patch_rows();
    let pixels = g.pixels();
    let y_len = g.channels_out * pixels;
    let task = per_task(g.batch);
    let group = per_gemm(pixels, task);
    let fill = |y: &mut [MaybeUninit<f32>]| {
        for_each_task(y, y_len, g.batch, |start, end, y_task| {
            let mut cols = cols_buffer(g, group);
            let mut out = block_buffer(g, group);
            for (n0, nb) in blocks(start, end, group) {
                let ld = nb * pixels;
                let cols = patches(g, x, n0, nb, &mut cols);
                let weight = Strided::new(weight, rows, 1);
                let cols = Strided::new(cols, ld, 1);
                let parallelism = gemm_parallelism(g.batch);
                // [C_out, ld] = weight[C_out, rows] * cols[rows, ld]: one sample straight into
                // the output, several into the block's buffer first.
                if nb == 1 {
                    let dst = &mut y_task[(n0 - start) * y_len..][..y_len];
                    gemm_uninit(dst, [g.channels_out, ld, rows], weight, cols, parallelism);
                } else {
                    let dst = &mut out[..g.channels_out * ld];
                    gemm_into(
                        dst,
                        [g.channels_out, ld, rows],
                        false,
                        weight,
                        cols,
                        parallelism,
                    );
                }
                for b in 0..nb {
                    let n = n0 + b;
                    let y_n = &mut y_task[(n - start) * y_len..][..y_len];
                    for o in 0..g.channels_out {
                        let row = &mut y_n[o * pixels..(o + 1) * pixels];
                        if nb > 1 {
                            row.write_copy_of_slice(&out[o * ld + b * pixels..][..pixels]);
                        }
                        // SAFETY: written by the gemm (one sample) or the copy above.
                        let row = unsafe { row.assume_init_mut() };
                        let res = epilogue
                            .residual
                            .map(|r| &r[n * y_len + o * pixels..][..pixels]);
                        epilogue.apply(row, o, res);
                    }
                }
            }
        })
    };
    // SAFETY: the tasks cover the batch, and each sample is written in full: by its gemm or by
    // the copies out of its block's.
    unsafe { crate::runtime::uninit::written(g.batch * y_len, fill) }
}

/// The input gradient ([`super::input_grad`]) by per-sample patch matrices.
pub(crate) fn input_grad(g: &ConvGeometry, weight: &[f32], dy: &[f32]) -> Vec<f32> {
    let rows = g.patch_rows();
    let pixels = g.pixels();
    let x_len = g.input_len();
    let task = per_task(g.batch);
    let group = per_gemm(pixels, task);
    let fill = |dx: &mut [MaybeUninit<f32>]| {
        for_each_task(dx, x_len, g.batch, |start, end, dx_task| {
            // Zeroed by each task, in parallel, for col2im to add onto.
            dx_task.fill(MaybeUninit::new(0.0));
            // SAFETY: every value was just written.
            let dx_task = unsafe { dx_task.assume_init_mut() };
            let mut cols = cols_buffer(g, group);
            let mut dy_buf = block_buffer(g, group);
            for (n0, nb) in blocks(start, end, group) {
                let ld = nb * pixels;
                let dy_block = dy_block(g, dy, n0, nb, &mut dy_buf);
                // A pointwise convolution's patch matrix is the sample: no col2im.
                let direct = nb == 1 && g.is_pointwise();
                let dst: &mut [f32] = if direct {
                    &mut dx_task[(n0 - start) * x_len..][..x_len]
                } else {
                    &mut cols
                };
                // dst[rows, ld] = weight^T[rows, C_out] * dy_block[C_out, ld]
                gemm_into(
                    dst,
                    [rows, ld, g.channels_out],
                    false,
                    Strided::new(weight, 1, rows),
                    Strided::new(dy_block, ld, 1),
                    gemm_parallelism(g.batch),
                );
                if direct {
                    continue;
                }
                for b in 0..nb {
                    let dx_n = &mut dx_task[(n0 + b - start) * x_len..][..x_len];
                    col2im(g, &mut cols[b * pixels..], ld, dx_n);
                }
            }
        });
    };
    // SAFETY: every task zeroes its samples before anything else.
    unsafe { crate::runtime::uninit::written(g.batch * x_len, fill) }
}
