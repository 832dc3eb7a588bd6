//! [`batch_norm_train`]: training-mode batch norm from [`crate::norm::batch_norm`].

use super::batch_norm_autodiff::tracked;
use super::{flex_tensor, on_flex};
use crate::conv::Activation;
use crate::norm::batch_norm::{self as batch_norm_kernels, BnShape};
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::{DType, Shape, Tensor};

/// Training-mode batch norm whose forward and backward passes are [`batch_norm_kernels`].
#[backend_extension(Flex, Autodiff)]
pub trait FlexBatchNorm: Backend {
    /// Normalises `x` (`[N, C, ...]`, `f32`) with its own batch statistics and applies
    /// `activation`; returns the output, the per-channel mean and the biased variance.
    fn batch_norm_train_fused(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        activation: Activation,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// [`FlexBatchNorm::batch_norm_train_fused`] with `residual` (the input's shape) added
    /// before the activation.
    fn batch_norm_train_residual(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        epsilon: f64,
        activation: Activation,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// The kernels' view of a `[N, C, ...]` shape.
pub(super) fn layout(shape: &Shape) -> BnShape {
    let dims = shape.as_slice();
    BnShape {
        batch: dims[0],
        channels: dims[1],
        pixels: dims[2..].iter().product(),
    }
}

/// The forward pass on flex primitives: output, mean, biased variance.
pub(super) fn forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    residual: Option<&FlexTensor>,
    epsilon: f64,
    activation: Activation,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let shape = x.shape();
    let channels = Shape::new([shape[1]]);
    let (x, gamma, beta) = (
        x.to_contiguous(),
        gamma.to_contiguous(),
        beta.to_contiguous(),
    );
    let residual = residual.map(|r| r.to_contiguous());
    let (y, mean, variance) = batch_norm_kernels::forward(
        &layout(&shape),
        x.storage(),
        [gamma.storage(), beta.storage()],
        epsilon,
        residual.as_ref().map(|r| r.storage()),
        activation,
    );
    (
        flex_tensor(y, shape),
        flex_tensor(mean, channels.clone()),
        flex_tensor(variance, channels),
    )
}

impl FlexBatchNorm for Flex {
    fn batch_norm_train_fused(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        activation: Activation,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        forward(&x, &gamma, &beta, None, epsilon, activation)
    }

    fn batch_norm_train_residual(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        residual: FlexTensor,
        epsilon: f64,
        activation: Activation,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        forward(&x, &gamma, &beta, Some(&residual), epsilon, activation)
    }
}

impl<C: CheckpointStrategy> FlexBatchNorm for Autodiff<Flex, C> {
    fn batch_norm_train_fused(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        activation: Activation,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let [y, mean, variance] = tracked::<C, 3>([&x, &gamma, &beta], epsilon, activation);
        (y, mean, variance)
    }

    fn batch_norm_train_residual(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        epsilon: f64,
        activation: Activation,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let [y, mean, variance] =
            tracked::<C, 4>([&x, &gamma, &beta, &residual], epsilon, activation);
        (y, mean, variance)
    }
}

/// Training-mode batch norm of `x` (`[N, C, ...]`) followed by `activation`: the output, the
/// batch's per-channel mean and its biased variance, like
/// [`burn::tensor::module::batch_norm_train`] and the activation after it; computed by
/// [`batch_norm_kernels`] in one pass each way on flex with `f32`, by Burn otherwise.
pub fn batch_norm_train<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
    activation: Activation,
) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    if !applies(&x, &gamma) {
        return by_burn(x, gamma, beta, None, epsilon, activation);
    }
    let (y, mean, variance) = <Dispatch as FlexBatchNorm>::batch_norm_train_fused(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
        activation,
    );
    from_dispatch(y, mean, variance)
}

/// [`batch_norm_train`] with `residual` (the input's shape) added before the activation:
/// `activation(batch_norm(x) + residual)`, ResNet's block ending, in the same passes.
pub fn batch_norm_train_residual<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    residual: Tensor<D>,
    epsilon: f64,
    activation: Activation,
) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    assert_eq!(
        x.dims(),
        residual.dims(),
        "batch norm: the residual's shape"
    );
    if !applies(&x, &gamma) || residual.dtype() != DType::F32 {
        return by_burn(x, gamma, beta, Some(residual), epsilon, activation);
    }
    let (y, mean, variance) = <Dispatch as FlexBatchNorm>::batch_norm_train_residual(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        residual.into_dispatch(),
        epsilon,
        activation,
    );
    from_dispatch(y, mean, variance)
}

/// Whether the kernels take a batch norm of `x`: `f32` on flex.
fn applies<const D: usize>(x: &Tensor<D>, gamma: &Tensor<1>) -> bool {
    x.dtype() == DType::F32 && gamma.dtype() == DType::F32 && on_flex(&x.device())
}

fn from_dispatch<const D: usize>(
    y: FloatTensor<Dispatch>,
    mean: FloatTensor<Dispatch>,
    variance: FloatTensor<Dispatch>,
) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    (
        Tensor::from_dispatch(y),
        Tensor::from_dispatch(mean),
        Tensor::from_dispatch(variance),
    )
}

/// The same by Burn's operations: `batch_norm_train`, the residual's add, the activation.
fn by_burn<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    residual: Option<Tensor<D>>,
    epsilon: f64,
    activation: Activation,
) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    let r = burn::tensor::module::batch_norm_train(x, gamma, beta, epsilon);
    let y = match residual {
        Some(res) => r.output + res,
        None => r.output,
    };
    let y = match activation {
        Activation::Identity => y,
        Activation::Relu => burn::tensor::activation::relu(y),
        Activation::Sigmoid => burn::tensor::activation::sigmoid(y),
    };
    (y, r.mean, r.variance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    use crate::testing::{normal, values};

    fn assert_close(what: &str, ours: Vec<f32>, burns: Vec<f32>, tolerance: f32) {
        crate::testing::assert_close(what, &ours, &burns, tolerance);
    }

    fn check<const D: usize>(
        shape: [usize; D],
        offset: f32,
        tracked_x: bool,
        activation: Activation,
        residual: bool,
        seed: u64,
    ) {
        let device = Device::flex().autodiff();
        let x0 = normal(shape, offset, 2.0, seed, &device);
        let c = shape[1];
        let g0 = normal([c], 1.0, 0.5, seed + 1, &device);
        let b0 = normal([c], 0.0, 0.5, seed + 2, &device);
        let weights = normal(shape, 0.0, 1.0, seed + 3, &device);
        let r0 = normal(shape, 0.0, 1.0, seed + 4, &device);
        let run = |ours: bool| {
            let x = if tracked_x {
                x0.clone().require_grad()
            } else {
                x0.clone()
            };
            let (g, b) = (g0.clone().require_grad(), b0.clone().require_grad());
            let r = residual.then(|| r0.clone().require_grad());
            let (y, mean, var) = match (ours, r.clone()) {
                (true, Some(r)) => {
                    batch_norm_train_residual(x.clone(), g.clone(), b.clone(), r, 1e-5, activation)
                }
                (true, None) => batch_norm_train(x.clone(), g.clone(), b.clone(), 1e-5, activation),
                (false, r) => by_burn(x.clone(), g.clone(), b.clone(), r, 1e-5, activation),
            };
            // A loss with a nonlinearity, so that dx is not trivially zero.
            let grads = (y.clone() * weights.clone() + y.clone() * y.clone())
                .sum()
                .backward();
            let gx = tracked_x.then(|| values(x.grad(&grads).unwrap()));
            let gr = r.map(|r| values(r.grad(&grads).unwrap()));
            (
                values(y),
                values(mean),
                values(var),
                gx,
                values(g.grad(&grads).unwrap()),
                values(b.grad(&grads).unwrap()),
                gr,
            )
        };
        let (ours, burns) = (run(true), run(false));
        let case = format!("{shape:?} offset {offset} {activation:?} residual {residual}");
        assert_close(&format!("{case}: output"), ours.0, burns.0, 1e-5);
        assert_close(&format!("{case}: mean"), ours.1, burns.1, 1e-6);
        assert_close(&format!("{case}: variance"), ours.2, burns.2, 1e-5);
        if let (Some(a), Some(b)) = (ours.3, burns.3) {
            assert_close(&format!("{case}: input grad"), a, b, 1e-4);
        }
        assert_close(&format!("{case}: gamma grad"), ours.4, burns.4, 1e-5);
        assert_close(&format!("{case}: beta grad"), ours.5, burns.5, 1e-5);
        assert_eq!(ours.6.is_some(), residual, "{case}: a residual gradient");
        if let (Some(a), Some(b)) = (ours.6, burns.6) {
            assert_close(&format!("{case}: residual grad"), a, b, 1e-5);
        }
    }

    /// Output, statistics and gradients against Burn's `batch_norm_train` on flex, alone and
    /// followed by ReLU or a sigmoid, with and without a residual added before it, on every
    /// kernel path.
    #[test]
    fn matches_burns_batch_norm_train() {
        crate::testing::on_every_path(|| {
            for activation in [Activation::Identity, Activation::Relu, Activation::Sigmoid] {
                for residual in [false, true] {
                    check([8, 6, 12, 12], 0.0, false, activation, residual, 0);
                    check([4, 16, 5, 7], 3.0, true, activation, residual, 4);
                    check([32, 120], -2.0, true, activation, residual, 8); // after a linear layer
                    check([2, 3, 1, 1], 0.5, true, activation, residual, 12);
                }
            }
        });
    }
}
