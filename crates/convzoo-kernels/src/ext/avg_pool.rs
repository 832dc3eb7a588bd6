//! [`avg_pool2d`]: unpadded average pooling on flex by [`crate::pool::avg_pool`].
//!
//! Flex's average-pooling backward is a general strided kernel; the unpadded case the models
//! use (LeNet's 2x2, DenseNet's transitions) is a few lines.

use super::{flex_tensor, on_flex};
use crate::pool::avg_pool::*;
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
