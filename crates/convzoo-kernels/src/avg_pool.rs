//! [`avg_pool2d`]: unpadded average pooling, one parallel pass each way.
//!
//! Flex's average-pooling backward is a general strided kernel;
//! the unpadded case the models use (LeNet's 2x2, DenseNet's transitions) is a few lines.

use super::{flex_tensor, on_flex};
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{DType, Shape, Tensor};
use rayon::prelude::*;

/// Window and stride of an unpadded 2D pooling over `[planes, height, width]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Batch size times channels.
    pub planes: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Window height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
}

impl PoolGeometry {
    /// Output height and width (floor mode).
    pub fn output(&self) -> [usize; 2] {
        let out = |d: usize| (self.input[d] - self.kernel[d]) / self.stride[d] + 1;
        [out(0), out(1)]
    }
}

/// Average of each window.
pub fn avg_pool_forward(g: &PoolGeometry, x: &[f32]) -> Vec<f32> {
    if crate::avg_pool_2x2::applies(g) {
        return crate::avg_pool_2x2::forward(g, x);
    }
    general_forward(g, x)
}

/// [`avg_pool_forward`] for any window and stride.
pub(crate) fn general_forward(g: &PoolGeometry, x: &[f32]) -> Vec<f32> {
    let [h, w] = g.input;
    let [ho, wo] = g.output();
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let scale = 1.0 / (kh * kw) as f32;
    let mut y = vec![0.0f32; g.planes * ho * wo];
    y.par_chunks_mut(ho * wo)
        .zip(x.par_chunks(h * w))
        .for_each(|(out, plane)| {
            for oh in 0..ho {
                let o = &mut out[oh * wo..(oh + 1) * wo];
                for i in 0..kh {
                    let row = &plane[(oh * sh + i) * w..][..w];
                    if kw == 2 && sw == 2 {
                        for (v, pair) in o.iter_mut().zip(row.chunks_exact(2)) {
                            *v += pair[0] + pair[1];
                        }
                        continue;
                    }
                    for (ow, v) in o.iter_mut().enumerate() {
                        let start = ow * sw;
                        *v += row[start..start + kw].iter().sum::<f32>();
                    }
                }
                o.iter_mut().for_each(|v| *v *= scale);
            }
        });
    y
}

/// Gradient of [`avg_pool_forward`]: each window's output gradient spread evenly over it.
pub fn avg_pool_backward(g: &PoolGeometry, dy: &[f32]) -> Vec<f32> {
    if crate::avg_pool_2x2::applies(g) {
        return crate::avg_pool_2x2::backward(g, dy);
    }
    general_backward(g, dy)
}

/// [`avg_pool_backward`] for any window and stride.
pub(crate) fn general_backward(g: &PoolGeometry, dy: &[f32]) -> Vec<f32> {
    let [h, w] = g.input;
    let [ho, wo] = g.output();
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let scale = 1.0 / (kh * kw) as f32;
    let mut dx = vec![0.0f32; g.planes * h * w];
    dx.par_chunks_mut(h * w)
        .zip(dy.par_chunks(ho * wo))
        .for_each(|(plane, grad)| {
            for oh in 0..ho {
                let d = &grad[oh * wo..(oh + 1) * wo];
                for i in 0..kh {
                    let row = &mut plane[(oh * sh + i) * w..][..w];
                    for (ow, &v) in d.iter().enumerate() {
                        let start = ow * sw;
                        row[start..start + kw]
                            .iter_mut()
                            .for_each(|t| *t += v * scale);
                    }
                }
            }
        });
    dx
}

/// Unpadded average pooling computed by [`avg_pool_forward`] and [`avg_pool_backward`].
#[backend_extension(Flex, Autodiff)]
pub trait FlexAvgPool: Backend {
    /// Average pooling of `x` (`[N, C, H, W]`, `f32`), no padding, floor mode.
    fn avg_pool2d_unpadded(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self>;
}

fn geometry(shape: &Shape, kernel: [usize; 2], stride: [usize; 2]) -> PoolGeometry {
    let [n, c, h, w] = shape.dims();
    PoolGeometry {
        planes: n * c,
        input: [h, w],
        kernel,
        stride,
    }
}

fn forward(x: &FlexTensor, kernel: [usize; 2], stride: [usize; 2]) -> FlexTensor {
    let shape = x.shape();
    let g = geometry(&shape, kernel, stride);
    let [ho, wo] = g.output();
    let x = x.to_contiguous();
    let y = avg_pool_forward(&g, x.storage());
    flex_tensor(y, Shape::new([shape[0], shape[1], ho, wo]))
}

impl FlexAvgPool for Flex {
    fn avg_pool2d_unpadded(x: FlexTensor, kernel: [usize; 2], stride: [usize; 2]) -> FlexTensor {
        forward(&x, kernel, stride)
    }
}

#[derive(Debug)]
struct AvgPoolBackward;

impl Backward<Flex, 1> for AvgPoolBackward {
    type State = (Shape, [usize; 2], [usize; 2]);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dy: FlexTensor = grads.consume::<Flex>(&ops.node);
        if let Some(node) = node_x {
            let (shape, kernel, stride) = ops.state;
            let dy = dy.to_contiguous();
            let dx = avg_pool_backward(&geometry(&shape, kernel, stride), dy.storage());
            grads.register::<Flex>(node.id, flex_tensor(dx, shape));
        }
    }
}

impl<C: CheckpointStrategy> FlexAvgPool for Autodiff<Flex, C> {
    fn avg_pool2d_unpadded(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        let y = forward(x.primitive(), kernel, stride);
        match AvgPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x.primitive().shape(), kernel, stride), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

/// Burn's options for an unpadded, floor-mode pooling.
fn unpadded(kernel: [usize; 2], stride: [usize; 2]) -> AvgPoolOptions<2> {
    AvgPoolOptions {
        kernel_size: kernel,
        stride,
        padding: [(0, 0), (0, 0)],
        count_include_pad: true,
        ceil_mode: false,
    }
}

/// Unpadded, floor-mode average pooling: by [`FlexAvgPool`] on flex with `f32`, by Burn's
/// `avg_pool2d` otherwise.
pub fn avg_pool2d(x: Tensor<4>, kernel: [usize; 2], stride: [usize; 2]) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    if x.dtype() != DType::F32 || !on_flex(&x.device()) || h < kernel[0] || w < kernel[1] {
        return burn::tensor::module::avg_pool2d(x, unpadded(kernel, stride));
    }
    Tensor::from_dispatch(<Dispatch as FlexAvgPool>::avg_pool2d_unpadded(
        x.into_dispatch(),
        kernel,
        stride,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    use crate::testing::{normal, values};

    #[test]
    fn matches_burns_avg_pool_and_its_gradient() {
        let device = Device::flex().autodiff();
        for (i, (shape, kernel, stride)) in [
            ([4, 6, 28, 28], [2, 2], [2, 2]),
            ([2, 3, 7, 9], [2, 2], [2, 2]), // odd sizes: the last row and column are dropped
            ([2, 3, 9, 8], [3, 2], [2, 1]), // overlapping windows
        ]
        .into_iter()
        .enumerate()
        {
            let x0 = normal(shape, 0.0, 1.0, i as u64, &device);
            let run = |ours: bool| {
                let x = x0.clone().require_grad();
                let y = if ours {
                    avg_pool2d(x.clone(), kernel, stride)
                } else {
                    burn::tensor::module::avg_pool2d(x.clone(), unpadded(kernel, stride))
                };
                let w = y.clone().mul_scalar(0.0).add_scalar(1.0).cumsum(3);
                let grads = (y.clone() * w).sum().backward();
                (values(y), values(x.grad(&grads).unwrap()))
            };
            let (ours, burns) = (run(true), run(false));
            for (what, a, b) in [("output", ours.0, burns.0), ("input grad", ours.1, burns.1)] {
                assert_eq!(a.len(), b.len(), "{shape:?} {what}");
                for (u, v) in a.iter().zip(&b) {
                    assert!((u - v).abs() <= 1e-5, "{shape:?} {what}: {u} vs Burn's {v}");
                }
            }
        }
    }
}
