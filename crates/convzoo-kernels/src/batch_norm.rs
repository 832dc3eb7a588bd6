//! [`batch_norm_train`]: training-mode batch norm from [`super::batch_norm_kernels`].

use super::batch_norm_kernels::{self, After, BnShape};
use super::{flex_tensor, on_flex};
use crate::epilogue::Activation;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{AutodiffBackend, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
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
}

fn layout(shape: &Shape) -> BnShape {
    let dims = shape.as_slice();
    BnShape {
        batch: dims[0],
        channels: dims[1],
        pixels: dims[2..].iter().product(),
    }
}

fn forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
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
    let (y, mean, variance) = batch_norm_kernels::forward(
        &layout(&shape),
        x.storage(),
        gamma.storage(),
        beta.storage(),
        epsilon,
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
        forward(&x, &gamma, &beta, epsilon, activation)
    }
}

#[derive(Debug)]
struct BatchNormBackward;

impl Backward<Flex, 3> for BatchNormBackward {
    /// `x`, `gamma`, the batch's mean and variance, epsilon, and the activation with the
    /// forward output it needs (none for the identity).
    type State = (
        NodeId,
        NodeId,
        FlexTensor,
        FlexTensor,
        f64,
        Activation,
        Option<FlexTensor>,
    );

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let dy: FlexTensor = grads.consume::<Flex>(&ops.node);
        let (x_state, gamma_state, mean, variance, epsilon, activation, output) = ops.state;
        let x: FlexTensor = checkpointer.retrieve_node_output(x_state);
        let gamma: FlexTensor = checkpointer.retrieve_node_output(gamma_state);
        let shape = x.shape();
        let channels = Shape::new([shape[1]]);
        let (x, gamma, dy) = (x.to_contiguous(), gamma.to_contiguous(), dy.to_contiguous());
        let output = output.map(|y| y.to_contiguous());
        let after = After {
            activation,
            output: output.as_ref().map_or(&[], |y| y.storage()),
        };
        let (dx, dgamma, dbeta) = batch_norm_kernels::backward(
            &layout(&shape),
            x.storage(),
            gamma.storage(),
            mean.storage(),
            variance.storage(),
            epsilon,
            dy.storage(),
            after,
        );
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, flex_tensor(dx, shape));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, flex_tensor(dgamma, channels.clone()));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, flex_tensor(dbeta, channels));
        }
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
        let (y, mean, variance) = forward(
            x.primitive(),
            gamma.primitive(),
            beta.primitive(),
            epsilon,
            activation,
        );
        let output = match BatchNormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let gamma_state = prep.checkpoint(&gamma);
                let state = (
                    x_state,
                    gamma_state,
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                    activation,
                    (activation != Activation::Identity).then(|| y.clone()),
                );
                prep.finish(state, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(y),
        };
        (output, Self::from_inner(mean), Self::from_inner(variance))
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
    if x.dtype() != DType::F32 || gamma.dtype() != DType::F32 || !on_flex(&x.device()) {
        let r = burn::tensor::module::batch_norm_train(x, gamma, beta, epsilon);
        let y = match activation {
            Activation::Identity => r.output,
            Activation::Relu => burn::tensor::activation::relu(r.output),
            Activation::Sigmoid => burn::tensor::activation::sigmoid(r.output),
        };
        return (y, r.mean, r.variance);
    }
    let (y, mean, variance) = <Dispatch as FlexBatchNorm>::batch_norm_train_fused(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
        activation,
    );
    (
        Tensor::from_dispatch(y),
        Tensor::from_dispatch(mean),
        Tensor::from_dispatch(variance),
    )
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
        seed: u64,
    ) {
        let device = Device::flex().autodiff();
        let x0 = normal(shape, offset, 2.0, seed, &device);
        let c = shape[1];
        let g0 = normal([c], 1.0, 0.5, seed + 1, &device);
        let b0 = normal([c], 0.0, 0.5, seed + 2, &device);
        let weights = normal(shape, 0.0, 1.0, seed + 3, &device);
        let run = |ours: bool| {
            let x = if tracked_x {
                x0.clone().require_grad()
            } else {
                x0.clone()
            };
            let (g, b) = (g0.clone().require_grad(), b0.clone().require_grad());
            let (y, mean, var) = if ours {
                batch_norm_train(x.clone(), g.clone(), b.clone(), 1e-5, activation)
            } else {
                let r =
                    burn::tensor::module::batch_norm_train(x.clone(), g.clone(), b.clone(), 1e-5);
                let y = match activation {
                    Activation::Identity => r.output,
                    Activation::Relu => burn::tensor::activation::relu(r.output),
                    Activation::Sigmoid => burn::tensor::activation::sigmoid(r.output),
                };
                (y, r.mean, r.variance)
            };
            // A loss with a nonlinearity, so that dx is not trivially zero.
            let grads = (y.clone() * weights.clone() + y.clone() * y.clone())
                .sum()
                .backward();
            let gx = tracked_x.then(|| values(x.grad(&grads).unwrap()));
            (
                values(y),
                values(mean),
                values(var),
                gx,
                values(g.grad(&grads).unwrap()),
                values(b.grad(&grads).unwrap()),
            )
        };
        let (ours, burns) = (run(true), run(false));
        let case = format!("{shape:?} offset {offset} {activation:?}");
        assert_close(&format!("{case}: output"), ours.0, burns.0, 1e-5);
        assert_close(&format!("{case}: mean"), ours.1, burns.1, 1e-6);
        assert_close(&format!("{case}: variance"), ours.2, burns.2, 1e-5);
        if let (Some(a), Some(b)) = (ours.3, burns.3) {
            assert_close(&format!("{case}: input grad"), a, b, 1e-4);
        }
        assert_close(&format!("{case}: gamma grad"), ours.4, burns.4, 1e-5);
        assert_close(&format!("{case}: beta grad"), ours.5, burns.5, 1e-5);
    }

    /// Output, statistics and gradients against Burn's `batch_norm_train` on flex, alone and
    /// followed by ReLU or a sigmoid, on every kernel path.
    #[test]
    fn matches_burns_batch_norm_train() {
        crate::testing::on_every_path(|| {
            for activation in [Activation::Identity, Activation::Relu, Activation::Sigmoid] {
                check([8, 6, 12, 12], 0.0, false, activation, 0);
                check([4, 16, 5, 7], 3.0, true, activation, 4);
                check([32, 120], -2.0, true, activation, 8); // after a linear layer
                check([2, 3, 1, 1], 0.5, true, activation, 12);
            }
        });
    }
}
