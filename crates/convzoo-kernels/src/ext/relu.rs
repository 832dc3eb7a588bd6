//! [`relu`] on flex: [`crate::elementwise::relu`]'s passes through the shared saved-output glue.
//!
//! Flex's ReLU and its backward each run on one thread; these are one parallel pass each.

use super::unary::{self, SavedOutputUnary};
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

/// The ReLU computed by [`crate::relu_values`], its gradient by [`crate::relu_grad`].
#[backend_extension(Flex, Autodiff)]
pub trait FlexRelu: Backend {
    /// `max(x, 0)`, element-wise, `f32`.
    fn relu_parallel(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The ReLU as a [`SavedOutputUnary`].
#[derive(Debug)]
struct Relu;

impl SavedOutputUnary for Relu {
    fn values(x: &[f32]) -> Vec<f32> {
        crate::elementwise::relu::relu_values(x)
    }
    fn grad(y: &[f32], dy: &[f32]) -> Vec<f32> {
        crate::elementwise::relu::relu_grad(y, dy)
    }
}

impl FlexRelu for Flex {
    fn relu_parallel(x: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::forward::<Relu>(&x)
    }
}

impl<C: CheckpointStrategy> FlexRelu for Autodiff<Flex, C> {
    fn relu_parallel(x: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::autodiff::<Relu, C>(x)
    }
}

/// The ReLU: [`FlexRelu`] on flex (`f32`), Burn's `activation::relu` otherwise.
pub fn relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    super::dispatch_or(
        x,
        burn::tensor::activation::relu,
        <Dispatch as FlexRelu>::relu_parallel,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    use crate::testing::{assert_close, normal, values};

    #[test]
    fn relu_and_its_gradient_match_burns_on_every_path() {
        crate::testing::on_every_path(|| {
            let device = Device::flex().autodiff();
            let x0 = normal([3, 50, 700], 0.0, 1.0, 1, &device);
            let w = normal([3, 50, 700], 0.0, 1.0, 2, &device);
            let run = |ours: bool| {
                let x = x0.clone().require_grad();
                let y = if ours {
                    relu(x.clone())
                } else {
                    burn::tensor::activation::relu(x.clone())
                };
                let grads = (y.clone() * w.clone()).sum().backward();
                (values(y), values(x.grad(&grads).unwrap()))
            };
            let (ours, burns) = (run(true), run(false));
            assert_close("relu", &ours.0, &burns.0, 0.0);
            assert_close("relu grad", &ours.1, &burns.1, 0.0);
        });
    }
}
