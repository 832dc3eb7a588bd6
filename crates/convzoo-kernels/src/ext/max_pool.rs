//! [`max_pool2d`]: max pooling on flex by [`crate::pool::max_pool`].
//!
//! Flex's max pooling pads the input with a copy, computes `i64` indices even in inference and
//! runs a division per element; here a window is clipped to the input instead.

use super::{flex_tensor, on_flex};
use crate::pool::max_pool::*;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::{DType, Shape, Tensor};

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
