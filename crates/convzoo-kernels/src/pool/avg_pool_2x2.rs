//! Average pooling over 2x2 windows with stride 2 (LeNet's and DenseNet's transitions): one
//! vectorised pass each way, writing every output value once (no zero-fill, no second scaling
//! pass), compiled for every kernel path.

use crate::pool::avg_pool::PoolGeometry;
use std::mem::MaybeUninit;

/// Values per rayon task (whole planes are grouped up to about this many inputs).
const TASK_VALUES: usize = 1 << 15;

/// Planes a task takes: enough that it reads about [`TASK_VALUES`] inputs.
fn planes_per_task(g: &PoolGeometry) -> usize {
    (TASK_VALUES / (g.input[0] * g.input[1]).max(1)).max(1)
}

/// Whether [`forward`] and [`backward`] apply: 2x2 windows, stride 2.
pub(crate) fn applies(g: &PoolGeometry) -> bool {
    g.kernel == [2, 2] && g.stride == [2, 2]
}

#[inline(always)]
fn plane_forward(out: &mut [MaybeUninit<f32>], plane: &[f32], w: usize, wo: usize) {
    for (oh, o) in out.chunks_exact_mut(wo).enumerate() {
        let r0 = &plane[2 * oh * w..][..2 * wo];
        let r1 = &plane[(2 * oh + 1) * w..][..2 * wo];
        for ((v, a), b) in o.iter_mut().zip(r0.chunks_exact(2)).zip(r1.chunks_exact(2)) {
            // The general kernel's order: the first row's pair, then the second's.
            v.write(((a[0] + a[1]) + (b[0] + b[1])) * 0.25);
        }
    }
}

crate::multiversion! {
    /// [`plane_forward`] for the CPU's path.
    fn plane_forward_isa(out: &mut [MaybeUninit<f32>], plane: &[f32], w: usize, wo: usize) =
        plane_forward;
}

/// Average of each 2x2 window, stride 2, floor mode (`applies(g)` must hold).
pub(crate) fn forward(g: &PoolGeometry, x: &[f32]) -> Vec<f32> {
    let [h, w] = g.input;
    let [ho, wo] = g.output();
    let per = planes_per_task(g);
    let fill = |k: usize, out: &mut [MaybeUninit<f32>]| {
        let planes = &x[k * per * h * w..];
        for (p, o) in out.chunks_exact_mut(ho * wo).enumerate() {
            plane_forward_isa(o, &planes[p * h * w..][..h * w], w, wo);
        }
    };
    // SAFETY: `plane_forward` writes each of its plane's `ho * wo` outputs.
    unsafe { crate::runtime::uninit::written_in_chunks(g.planes * ho * wo, per * ho * wo, fill) }
}

#[inline(always)]
fn plane_backward(plane: &mut [MaybeUninit<f32>], grad: &[f32], w: usize, wo: usize) {
    let ho = grad.len() / wo;
    for (r, row) in plane.chunks_exact_mut(w).enumerate() {
        if r >= 2 * ho {
            // The row floor mode dropped.
            row.iter_mut().for_each(|v| {
                v.write(0.0);
            });
            continue;
        }
        let d = &grad[(r / 2) * wo..][..wo];
        let (pairs, rest) = row.split_at_mut(2 * wo);
        for (p, &g) in pairs.chunks_exact_mut(2).zip(d) {
            let v = g * 0.25;
            p[0].write(v);
            p[1].write(v);
        }
        rest.iter_mut().for_each(|v| {
            v.write(0.0);
        });
    }
}

crate::multiversion! {
    /// [`plane_backward`] for the CPU's path.
    fn plane_backward_isa(plane: &mut [MaybeUninit<f32>], grad: &[f32], w: usize, wo: usize) =
        plane_backward;
}

/// Gradient of [`forward`]: each output gradient spread over its window, zero on the rows and
/// columns floor mode dropped.
pub(crate) fn backward(g: &PoolGeometry, dy: &[f32]) -> Vec<f32> {
    let [h, w] = g.input;
    let [ho, wo] = g.output();
    let per = planes_per_task(g);
    let fill = |k: usize, out: &mut [MaybeUninit<f32>]| {
        let grads = &dy[k * per * ho * wo..];
        for (p, plane) in out.chunks_exact_mut(h * w).enumerate() {
            plane_backward_isa(plane, &grads[p * ho * wo..][..ho * wo], w, wo);
        }
    };
    // SAFETY: `plane_backward` writes each of its plane's `h * w` values.
    unsafe { crate::runtime::uninit::written_in_chunks(g.planes * h * w, per * h * w, fill) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::avg_pool::{general_backward, general_forward};

    #[test]
    fn matches_the_general_kernel_on_every_path() {
        crate::testing::on_every_path(matches_the_general_kernel);
    }

    fn matches_the_general_kernel() {
        // Even and odd sizes (floor mode drops the last row and column), planes split across
        // tasks and within one.
        for (planes, input) in [(3, [8, 8]), (5, [7, 9]), (70, [28, 28]), (9, [2, 3])] {
            let g = PoolGeometry {
                planes,
                input,
                kernel: [2, 2],
                stride: [2, 2],
            };
            let x: Vec<f32> = (0..planes * input[0] * input[1])
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03)
                .collect();
            assert_eq!(forward(&g, &x), general_forward(&g, &x), "{g:?}");
            let [ho, wo] = g.output();
            let dy: Vec<f32> = (0..planes * ho * wo)
                .map(|i| ((i * 13 % 29) as f32 - 14.0) * 0.1)
                .collect();
            assert_eq!(backward(&g, &dy), general_backward(&g, &dy), "{g:?}");
        }
    }
}
