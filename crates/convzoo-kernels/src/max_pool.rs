//! [`max_pool2d`]: max pooling with zero-cost padding, parallel over planes; the index of each
//! window's maximum is kept (as a `u32` within its plane) only when a backward pass needs it.
//!
//! Flex's max pooling pads the input with a copy, computes `i64` indices even in inference and
//! runs a division per element; here a window is clipped to the input instead. The training
//! pass, maxima with their indices, is in `max_pool_grid.rs`.

use super::{flex_tensor, on_flex};
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::{DType, Shape, Tensor};
use rayon::prelude::*;

/// Window, stride and symmetric padding of a 2D max pooling over `[planes, height, width]`
/// (dilation 1, floor mode; padding counts as minus infinity, as in PyTorch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPoolGeometry {
    /// Batch size times channels.
    pub planes: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Window height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Padding on each side, along height and width (at most half the window).
    pub padding: [usize; 2],
}

impl MaxPoolGeometry {
    /// Output height and width (floor mode).
    pub fn output(&self) -> [usize; 2] {
        let out =
            |d: usize| (self.input[d] + 2 * self.padding[d] - self.kernel[d]) / self.stride[d] + 1;
        [out(0), out(1)]
    }

    /// The input rows (or columns, `d = 1`) of output row `o`'s window, clipped to the input.
    fn window(&self, d: usize, o: usize) -> (usize, usize) {
        let start = (o * self.stride[d]) as isize - self.padding[d] as isize;
        let end = (start + self.kernel[d] as isize).min(self.input[d] as isize);
        (start.max(0) as usize, end.max(0) as usize)
    }
}

/// The larger of `a` and `b`, NaN if either is (branch-free, so that loops vectorise).
#[inline(always)]
fn nan_max(a: f32, b: f32) -> f32 {
    if a > b || a.is_nan() { a } else { b }
}

/// One plane's window maxima, separably: each input row's maxima over the window's columns
/// into `rows` (`[H, W_out]`), then the maxima of those over the window's rows.
#[inline(always)]
fn pool_plane(g: &MaxPoolGeometry, input: &[f32], out: &mut [f32], rows: &mut [f32]) {
    let [h, w] = g.input;
    let [ho, wo] = g.output();
    let (kw, sw, pw) = (g.kernel[1], g.stride[1], g.padding[1]);
    for ih in 0..h {
        let src = &input[ih * w..(ih + 1) * w];
        let dst = &mut rows[ih * wo..(ih + 1) * wo];
        dst.fill(f32::NEG_INFINITY);
        for j in 0..kw {
            let (lo, hi) = crate::im2col::valid_columns(wo, w, sw, j, pw);
            if lo == hi {
                continue;
            }
            let first = lo * sw + j - pw;
            if sw == 1 {
                for (d, &v) in dst[lo..hi].iter_mut().zip(&src[first..]) {
                    *d = nan_max(v, *d);
                }
            } else {
                for (d, &v) in dst[lo..hi].iter_mut().zip(src[first..].iter().step_by(sw)) {
                    *d = nan_max(v, *d);
                }
            }
        }
    }
    for oh in 0..ho {
        let dst = &mut out[oh * wo..(oh + 1) * wo];
        dst.fill(f32::NEG_INFINITY);
        let (lo, hi) = g.window(0, oh);
        for ih in lo..hi {
            for (d, &v) in dst.iter_mut().zip(&rows[ih * wo..(ih + 1) * wo]) {
                *d = nan_max(v, *d);
            }
        }
    }
}

crate::multiversion! {
    /// [`pool_plane`] for the CPU's path.
    fn pool_plane_isa(g: &MaxPoolGeometry, input: &[f32], out: &mut [f32], rows: &mut [f32]) = pool_plane;
}

/// The maximum of each window (NaN wins, as in PyTorch); with `indices`, also where it is
/// (`h * W + w` within its plane, the first of equal maxima).
pub fn max_pool_forward(g: &MaxPoolGeometry, x: &[f32], indices: Option<&mut [u32]>) -> Vec<f32> {
    let [h, w] = g.input;
    let [ho, wo] = g.output();
    assert_eq!(x.len(), g.planes * h * w, "max pool input length");
    let mut y = vec![0.0f32; g.planes * ho * wo];
    // Planes a task: a few tasks a thread, each with its scratch made once (rayon's
    // `for_each_init` makes one per split, up to one per plane).
    let task = g.planes.div_ceil(4 * rayon::current_num_threads()).max(1);
    if let Some(indices) = indices {
        assert_eq!(indices.len(), y.len(), "max pool indices length");
        crate::max_pool_grid::forward_with_indices(g, x, &mut y, indices, task);
        return y;
    }
    let tasks = y
        .par_chunks_mut(task * ho * wo)
        .zip(x.par_chunks(task * h * w));
    tasks.for_each(|(out, input)| {
        let mut rows = vec![0.0f32; h * wo];
        for (out, input) in out.chunks_mut(ho * wo).zip(input.chunks(h * w)) {
            pool_plane_isa(g, input, out, &mut rows);
        }
    });
    y
}

/// Gradient of [`max_pool_forward`]: each output gradient added to its window's maximum.
pub fn max_pool_backward(g: &MaxPoolGeometry, indices: &[u32], dy: &[f32]) -> Vec<f32> {
    let [h, w] = g.input;
    let [ho, wo] = g.output();
    let mut dx = vec![0.0f32; g.planes * h * w];
    dx.par_chunks_mut(h * w)
        .zip(dy.par_chunks(ho * wo).zip(indices.par_chunks(ho * wo)))
        .for_each(|(plane, (grad, idx))| {
            for (&d, &i) in grad.iter().zip(idx) {
                plane[i as usize] += d;
            }
        });
    dx
}

/// Max pooling computed by [`max_pool_forward`] and [`max_pool_backward`].
#[backend_extension(Flex, Autodiff)]
pub trait FlexMaxPool: Backend {
    /// Max pooling of `x` (`[N, C, H, W]`, `f32`), symmetric padding, dilation 1, floor mode.
    fn max_pool2d_clipped(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self>;
}

fn geometry(
    shape: &Shape,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> MaxPoolGeometry {
    let [n, c, h, w] = shape.dims();
    MaxPoolGeometry {
        planes: n * c,
        input: [h, w],
        kernel,
        stride,
        padding,
    }
}

fn out_shape(shape: &Shape, g: &MaxPoolGeometry) -> Shape {
    let [ho, wo] = g.output();
    Shape::new([shape[0], shape[1], ho, wo])
}

impl FlexMaxPool for Flex {
    fn max_pool2d_clipped(
        x: FlexTensor,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FlexTensor {
        let shape = x.shape();
        let g = geometry(&shape, kernel, stride, padding);
        let x = x.to_contiguous();
        flex_tensor(
            max_pool_forward(&g, x.storage(), None),
            out_shape(&shape, &g),
        )
    }
}

#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    type State = (MaxPoolGeometry, Shape, Vec<u32>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dy: FlexTensor = grads.consume::<Flex>(&ops.node);
        if let Some(node) = node_x {
            let (g, shape, indices) = ops.state;
            let dy = dy.to_contiguous();
            let dx = max_pool_backward(&g, &indices, dy.storage());
            grads.register::<Flex>(node.id, flex_tensor(dx, shape));
        }
    }
}

impl<C: CheckpointStrategy> FlexMaxPool for Autodiff<Flex, C> {
    fn max_pool2d_clipped(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        let shape = x.primitive().shape();
        let g = geometry(&shape, kernel, stride, padding);
        let input = x.primitive().to_contiguous();
        match MaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let mut indices = vec![0u32; g.planes * g.output()[0] * g.output()[1]];
                let y = max_pool_forward(&g, input.storage(), Some(&mut indices));
                let y = flex_tensor(y, out_shape(&shape, &g));
                prep.finish((g, shape, indices), y)
            }
            OpsKind::UnTracked(prep) => {
                let y = max_pool_forward(&g, input.storage(), None);
                prep.finish(flex_tensor(y, out_shape(&shape, &g)))
            }
        }
    }
}

/// Max pooling of `x` by [`FlexMaxPool`] on flex (`f32`, padding at most half the window, and
/// every plane under 2^31 values); Burn's `max_pool2d` otherwise.
pub fn max_pool2d(
    x: Tensor<4>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let applies = x.dtype() == DType::F32
        && on_flex(&x.device())
        && (0..2).all(|d| 2 * padding[d] <= kernel[d] && stride[d] > 0)
        && h + 2 * padding[0] >= kernel[0]
        && w + 2 * padding[1] >= kernel[1]
        && h * w < i32::MAX as usize;
    if !applies {
        let options = burn::tensor::ops::MaxPoolOptions::new(kernel)
            .with_stride(stride)
            .with_padding_pairs([(padding[0], padding[0]), (padding[1], padding[1])]);
        return burn::tensor::module::max_pool2d(x, options);
    }
    Tensor::from_dispatch(<Dispatch as FlexMaxPool>::max_pool2d_clipped(
        x.into_dispatch(),
        kernel,
        stride,
        padding,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use burn::tensor::ops::MaxPoolOptions;

    use crate::testing::{assert_close, normal, values};

    /// Values and input gradients against Burn's max_pool2d on flex, for the models' windows
    /// (3x3 stride 2 padded, 3x3 stride 1 padded, 2x2 stride 2, 3x3 stride 2 unpadded) and an
    /// odd one, in training and in inference.
    #[test]
    fn matches_burns_max_pool_and_its_gradient_on_every_path() {
        crate::testing::on_every_path(matches_burns_max_pool_and_its_gradient);
    }

    fn matches_burns_max_pool_and_its_gradient() {
        let device = Device::flex().autodiff();
        let cases = [
            ([2, 3, 9, 9], [3, 3], [2, 2], [1, 1]),
            ([2, 4, 7, 6], [3, 3], [1, 1], [1, 1]),
            ([3, 2, 8, 8], [2, 2], [2, 2], [0, 0]),
            ([2, 3, 13, 13], [3, 3], [2, 2], [0, 0]),
            ([1, 2, 10, 7], [3, 2], [2, 1], [1, 1]),
        ];
        for (i, (dims, kernel, stride, padding)) in cases.into_iter().enumerate() {
            let x0 = normal(dims, 0.0, 1.0, 2 * i as u64, &device);
            let plain = Device::flex();
            let x = Tensor::<4>::from_data(x0.to_data(), &plain);
            let inference = values(max_pool2d(x.clone(), kernel, stride, padding));
            let y_dims = max_pool2d(x, kernel, stride, padding).dims();
            let weights = normal(y_dims, 0.0, 1.0, 2 * i as u64 + 1, &device);
            let run = |ours: bool| {
                let x = x0.clone().require_grad();
                let y = if ours {
                    max_pool2d(x.clone(), kernel, stride, padding)
                } else {
                    let options = MaxPoolOptions::new(kernel)
                        .with_stride(stride)
                        .with_padding_pairs([(padding[0], padding[0]), (padding[1], padding[1])]);
                    burn::tensor::module::max_pool2d(x.clone(), options)
                };
                let grads = (y.clone() * weights.clone()).sum().backward();
                (values(y), values(x.grad(&grads).unwrap()))
            };
            let ours = run(true);
            let burns = run(false);
            let case = format!("{dims:?} k {kernel:?} s {stride:?} p {padding:?}");
            assert_close(&format!("{case}: output"), &ours.0, &burns.0, 0.0);
            assert_close(&format!("{case}: input grad"), &ours.1, &burns.1, 1e-6);
            assert_close(&format!("{case}: inference"), &inference, &ours.0, 0.0);
        }
    }

    #[test]
    fn a_nan_in_a_window_is_its_maximum() {
        let g = MaxPoolGeometry {
            planes: 1,
            input: [2, 2],
            kernel: [2, 2],
            stride: [2, 2],
            padding: [0, 0],
        };
        let mut idx = [0u32; 1];
        let y = max_pool_forward(&g, &[1.0, f32::NAN, 3.0, 2.0], Some(&mut idx));
        assert!(y[0].is_nan());
        assert_eq!(idx, [1]);
    }
}
