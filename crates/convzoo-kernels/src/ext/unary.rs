//! The autodiff glue that the ReLU and the sigmoid share: an element-wise operation whose
//! gradient is a function of its output (kept from the forward pass) and the output gradient.

use super::flex_tensor;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Flex, TensorMetadata};
use std::marker::PhantomData;

/// An element-wise operation on `f32` slices whose gradient needs only its output.
pub(crate) trait SavedOutputUnary: std::fmt::Debug + Send + 'static {
    /// The operation over `x`.
    fn values(x: &[f32]) -> Vec<f32>;
    /// The input gradient from the output `y` and the output gradient `dy`.
    fn grad(y: &[f32], dy: &[f32]) -> Vec<f32>;
}

/// `U` over a flex tensor.
pub(crate) fn forward<U: SavedOutputUnary>(x: &FlexTensor) -> FlexTensor {
    let x = x.to_contiguous();
    flex_tensor(U::values(x.storage()), x.shape())
}

/// `U`'s backward step: its state is the forward pass's output.
#[derive(Debug)]
struct SavedOutputBackward<U>(PhantomData<U>);

impl<U: SavedOutputUnary> Backward<Flex, 1> for SavedOutputBackward<U> {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dy: FlexTensor = grads.consume::<Flex>(&ops.node);
        if let Some(node) = node_x {
            let y = ops.state;
            let dy = dy.to_contiguous();
            let dx = U::grad(y.storage(), dy.storage());
            grads.register::<Flex>(node.id, flex_tensor(dx, y.shape()));
        }
    }
}

/// `U` on flex with autodiff: the output is computed once and kept for the backward step.
pub(crate) fn autodiff<U: SavedOutputUnary, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<Flex, C>>,
) -> FloatTensor<Autodiff<Flex, C>> {
    let y = forward::<U>(x.primitive());
    match SavedOutputBackward::<U>(PhantomData)
        .prepare::<C>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}
