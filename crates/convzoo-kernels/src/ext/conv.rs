//! [`conv2d`]: a convolution whose forward and backward passes are [`crate::conv`].

use super::{flex_tensor, on_flex};
use crate::conv::{self as conv_kernels, ConvGeometry};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Shape, Tensor};

/// A 2D convolution computed by [`conv_kernels`], forward and backward.
#[backend_extension(Flex, Autodiff)]
pub trait FlexConv: Backend {
    /// `conv2d(x, weight, bias)`; dilation 1, `f32`, any groups.
    fn conv2d_im2col(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;
}

impl FlexConv for Flex {
    fn conv2d_im2col(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        forward(&x, &weight, &bias, &options)
    }
}

/// The convolution by [`conv_kernels::forward`].
fn forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let geometry = geometry(&x.shape(), &weight.shape(), options);
    let [h, w] = geometry.output();
    let (x, weight, bias) = (
        x.to_contiguous(),
        weight.to_contiguous(),
        bias.to_contiguous(),
    );
    let y = conv_kernels::forward(
        &geometry,
        x.storage(),
        weight.storage(),
        conv_kernels::Epilogue::bias(Some(bias.storage())),
    );
    let shape = Shape::new([geometry.batch, geometry.channels_out, h, w]);
    flex_tensor(y, shape)
}

#[derive(Debug)]
struct Conv2dBackward;

impl Backward<Flex, 3> for Conv2dBackward {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let dy: FlexTensor = grads.consume::<Flex>(&ops.node);
        let (x_state, weight_state, options) = ops.state;
        let x: FlexTensor = checkpointer.retrieve_node_output(x_state);
        let weight: FlexTensor = checkpointer.retrieve_node_output(weight_state);
        let geometry = geometry(&x.shape(), &weight.shape(), &options);
        let dy = dy.to_contiguous();
        let dy_values: &[f32] = dy.storage();
        if let Some(node) = node_x {
            let weight = weight.to_contiguous();
            let dx = conv_kernels::input_grad(&geometry, weight.storage(), dy_values);
            grads.register::<Flex>(node.id, flex_tensor(dx, x.shape()));
        }
        if let Some(node) = node_weight {
            let x = x.to_contiguous();
            let dw = conv_kernels::weight_grad(&geometry, x.storage(), dy_values);
            grads.register::<Flex>(node.id, flex_tensor(dw, weight.shape()));
        }
        if let Some(node) = node_bias {
            let db = conv_kernels::bias_grad(&geometry, dy_values);
            grads.register::<Flex>(
                node.id,
                flex_tensor(db, Shape::new([geometry.channels_out])),
            );
        }
    }
}

impl<C: CheckpointStrategy> FlexConv for Autodiff<Flex, C> {
    fn conv2d_im2col(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match Conv2dBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let y = forward(
                    x.primitive(),
                    weight.primitive(),
                    bias.primitive(),
                    &options,
                );
                prep.finish((x_state, weight_state, options), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(
                x.primitive(),
                weight.primitive(),
                bias.primitive(),
                &options,
            )),
        }
    }
}

pub(crate) fn geometry(x: &Shape, weight: &Shape, options: &ConvOptions<2>) -> ConvGeometry {
    let [batch, channels_in, h, w] = x.dims();
    let [channels_out, _, kh, kw] = weight.dims();
    ConvGeometry {
        groups: options.groups,
        batch,
        channels_in,
        channels_out,
        input: [h, w],
        kernel: [kh, kw],
        stride: options.stride,
        padding: options.padding,
    }
}

/// [`burn::tensor::module::conv2d`] with this module's backward on flex, where it applies
/// (`f32`, dilation 1, any groups); Burn's own otherwise.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    let [_, c_in, h, w] = x.dims();
    let [c_out, w_c_in, kh, kw] = weight.dims();
    let [(top, bottom), (left, right)] = options.padding;
    // Mismatched shapes go to Burn's conv2d, which reports them.
    let groups = options.groups;
    let shapes_fit = groups > 0
        && c_in == w_c_in * groups
        && c_out.is_multiple_of(groups)
        && h + top + bottom >= kh
        && w + left + right >= kw
        && bias.as_ref().is_none_or(|b| b.dims() == [c_out]);
    let applies = options.dilation == [1, 1]
        && shapes_fit
        && x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && on_flex(&x.device());
    if !applies {
        return burn::tensor::module::conv2d(x, weight, bias, options);
    }
    let bias = bias.unwrap_or_else(|| Tensor::zeros([c_out], &weight.device()));
    Tensor::from_dispatch(<Dispatch as FlexConv>::conv2d_im2col(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        options,
    ))
}

#[cfg(test)]
#[path = "conv_tests.rs"]
mod tests;
