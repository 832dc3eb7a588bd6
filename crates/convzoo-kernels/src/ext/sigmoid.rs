//! [`sigmoid`] on flex: [`crate::elementwise::sigmoid`]'s passes through the shared
//! saved-output glue.

use super::unary::{self, SavedOutputUnary};
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

/// The logistic sigmoid computed by [`crate::sigmoid_values`], its gradient by
/// [`crate::sigmoid_grad`].
#[backend_extension(Flex, Autodiff)]
pub trait FlexSigmoid: Backend {
    /// `1 / (1 + exp(-x))`, element-wise, `f32`.
    fn sigmoid_fused(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The sigmoid as a [`SavedOutputUnary`].
#[derive(Debug)]
struct Sigmoid;

impl SavedOutputUnary for Sigmoid {
    fn values(x: &[f32]) -> Vec<f32> {
        crate::elementwise::sigmoid::sigmoid_values(x)
    }
    fn grad(y: &[f32], dy: &[f32]) -> Vec<f32> {
        crate::elementwise::sigmoid::sigmoid_grad(y, dy)
    }
}

impl FlexSigmoid for Flex {
    fn sigmoid_fused(x: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::forward::<Sigmoid>(&x)
    }
}

impl<C: CheckpointStrategy> FlexSigmoid for Autodiff<Flex, C> {
    fn sigmoid_fused(x: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::autodiff::<Sigmoid, C>(x)
    }
}

/// Whether [`sigmoid`] runs [`FlexSigmoid`] on `x` (flex, `f32`).
pub fn sigmoid_applies<const D: usize>(x: &Tensor<D>) -> bool {
    super::applies(x)
}

/// The sigmoid: [`FlexSigmoid`] where [`sigmoid_applies`], Burn's otherwise.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    super::dispatch_or(
        x,
        burn::tensor::activation::sigmoid,
        <Dispatch as FlexSigmoid>::sigmoid_fused,
    )
}
