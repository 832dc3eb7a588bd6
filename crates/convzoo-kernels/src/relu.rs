//! [`relu`]: `max(x, 0)` in one parallel, vectorised pass each way.
//!
//! Flex's ReLU and its backward each run on one thread; here the forward pass is one parallel
//! pass, and the backward pass one more, `dy` where the saved output is positive.

use super::{flex_tensor, on_flex};
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::{DType, Tensor};
use std::mem::MaybeUninit;

/// Values per rayon task.
const CHUNK: usize = 1 << 15;

/// `max(v, 0)`, NaN kept (as PyTorch's ReLU).
#[inline(always)]
pub(crate) fn relu_value(v: f32) -> f32 {
    if v < 0.0 { 0.0 } else { v }
}

#[inline(always)]
fn relu_chunk(out: &mut [MaybeUninit<f32>], xs: &[f32]) {
    assert_eq!(out.len(), xs.len());
    for (o, &v) in out.iter_mut().zip(xs) {
        o.write(relu_value(v));
    }
}

crate::multiversion! {
    /// [`relu_chunk`] for the CPU's path.
    fn relu_chunk_isa(out: &mut [MaybeUninit<f32>], xs: &[f32]) = relu_chunk;
}

#[inline(always)]
fn relu_rows(row: &mut [f32]) {
    for v in row.iter_mut() {
        *v = relu_value(*v);
    }
}

crate::multiversion! {
    /// `max(v, 0)` in place, for the CPU's path.
    pub(crate) fn relu_in_place(row: &mut [f32]) = relu_rows;
}

#[inline(always)]
fn grad_chunk(out: &mut [MaybeUninit<f32>], ys: &[f32], ds: &[f32]) {
    assert!(out.len() == ys.len() && out.len() == ds.len());
    for ((o, &y), &d) in out.iter_mut().zip(ys).zip(ds) {
        o.write(if y > 0.0 { d } else { 0.0 });
    }
}

crate::multiversion! {
    /// [`grad_chunk`] for the CPU's path.
    fn grad_chunk_isa(out: &mut [MaybeUninit<f32>], ys: &[f32], ds: &[f32]) = grad_chunk;
}

/// `max(x, 0)` over a slice.
pub fn relu_values(x: &[f32]) -> Vec<f32> {
    let fill =
        |k: usize, out: &mut [MaybeUninit<f32>]| relu_chunk_isa(out, &x[k * CHUNK..][..out.len()]);
    // SAFETY: `relu_chunk` writes every element of its chunk.
    unsafe { crate::uninit::written_in_chunks(x.len(), CHUNK, fill) }
}

/// The ReLU's input gradient from its output `y`: `dy` where `y > 0`, else 0.
pub fn relu_grad(y: &[f32], dy: &[f32]) -> Vec<f32> {
    assert_eq!(y.len(), dy.len());
    let fill = |k: usize, out: &mut [MaybeUninit<f32>]| {
        let at = k * CHUNK..k * CHUNK + out.len();
        grad_chunk_isa(out, &y[at.clone()], &dy[at])
    };
    // SAFETY: `grad_chunk` writes every element of its chunk.
    unsafe { crate::uninit::written_in_chunks(y.len(), CHUNK, fill) }
}

/// The ReLU computed by [`relu_values`], its gradient by [`relu_grad`].
#[backend_extension(Flex, Autodiff)]
pub trait FlexRelu: Backend {
    /// `max(x, 0)`, element-wise, `f32`.
    fn relu_parallel(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

fn forward(x: &FlexTensor) -> FlexTensor {
    let x = x.to_contiguous();
    flex_tensor(relu_values(x.storage()), x.shape())
}

impl FlexRelu for Flex {
    fn relu_parallel(x: FlexTensor) -> FlexTensor {
        forward(&x)
    }
}

#[derive(Debug)]
struct ReluBackward;

impl Backward<Flex, 1> for ReluBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dy: FlexTensor = grads.consume::<Flex>(&ops.node);
        if let Some(node) = node_x {
            let y = ops.state;
            let dy = dy.to_contiguous();
            let dx = relu_grad(y.storage(), dy.storage());
            grads.register::<Flex>(node.id, flex_tensor(dx, y.shape()));
        }
    }
}

impl<C: CheckpointStrategy> FlexRelu for Autodiff<Flex, C> {
    fn relu_parallel(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let y = forward(x.primitive());
        match ReluBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

/// The ReLU: [`FlexRelu`] on flex (`f32`), Burn's `activation::relu` otherwise.
pub fn relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !(x.dtype() == DType::F32 && on_flex(&x.device())) {
        return burn::tensor::activation::relu(x);
    }
    Tensor::from_dispatch(<Dispatch as FlexRelu>::relu_parallel(x.into_dispatch()))
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
        assert!(relu_values(&[f32::NAN])[0].is_nan());
        assert_eq!(relu_values(&[-0.5, 0.0, 2.0]), vec![0.0, 0.0, 2.0]);
    }
}
