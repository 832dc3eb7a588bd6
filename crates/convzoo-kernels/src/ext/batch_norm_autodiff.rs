//! The autodiff side of [`super::batch_norm_train`]: the forward pass on the primitives and the
//! backward step, both through [`crate::norm::batch_norm`]'s kernels.

use super::batch_norm::{forward, layout};
use super::flex_tensor;
use crate::conv::Activation;
use crate::norm::batch_norm::{self as batch_norm_kernels, After};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{AutodiffBackend, Flex, TensorMetadata};
use burn::tensor::Shape;

/// The backward step of a batch norm with `N` parents: `x`, `gamma`, `beta`, and with `N = 4`
/// the residual added before the activation.
#[derive(Debug)]
struct BatchNormBackward<const N: usize>;

impl<const N: usize> Backward<Flex, N> for BatchNormBackward<N> {
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
        ops: Ops<Self::State, N>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = [0, 1, 2].map(|i| ops.parents[i].clone());
        let node_residual = ops.parents.get(3).cloned().flatten();
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
            residual: N == 4,
        };
        let g = batch_norm_kernels::backward(
            &layout(&shape),
            x.storage(),
            gamma.storage(),
            mean.storage(),
            variance.storage(),
            epsilon,
            dy.storage(),
            after,
        );
        if let (Some(node), Some(dr)) = (node_residual, g.residual) {
            grads.register::<Flex>(node.id, flex_tensor(dr, shape.clone()));
        }
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, flex_tensor(g.x, shape));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, flex_tensor(g.gamma, channels.clone()));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, flex_tensor(g.beta, channels));
        }
    }
}

/// The autodiff side of both operations: the forward pass on the primitives, and the state
/// [`BatchNormBackward`] needs when anything is tracked (`residual` the fourth parent, if any).
pub(super) fn tracked<C: CheckpointStrategy, const N: usize>(
    parents: [&FloatTensor<Autodiff<Flex, C>>; N],
    epsilon: f64,
    activation: Activation,
) -> [FloatTensor<Autodiff<Flex, C>>; 3] {
    let [x, gamma, beta] = [parents[0], parents[1], parents[2]];
    let residual = parents.get(3).map(|r| r.primitive());
    let (y, mean, variance) = forward(
        x.primitive(),
        gamma.primitive(),
        beta.primitive(),
        residual,
        epsilon,
        activation,
    );
    let output = match BatchNormBackward::<N>
        .prepare::<C>(parents.map(|p| p.node()))
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(x);
            let gamma_state = prep.checkpoint(gamma);
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
    [
        output,
        Autodiff::<Flex, C>::from_inner(mean),
        Autodiff::<Flex, C>::from_inner(variance),
    ]
}
