//! The one place the models run a convolution or pooling layer.
//!
//! With the `flex-kernels` feature, layers on flex take [`crate::flex::conv2d`],
//! [`crate::flex::avg_pool2d`] and [`crate::flex::max_pool2d`], and inference on flex (no
//! autodiff) runs a convolution with the batch norm, residual and ReLU after it in one pass
//! ([`fused`]); everything else is Burn's `forward`.

use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::tensor::Tensor;

use crate::any_batch_norm::AnyBatchNorm;
use crate::probe::Probe;

/// Whether [`fused`] and the other inference fusions run on `x`: the `flex-kernels` feature,
/// `x` on flex without autodiff (inference), and no layer-by-layer `probe` recording.
pub fn fusing<const D: usize>(x: &Tensor<D>, probe: &Probe) -> bool {
    #[cfg(feature = "flex-kernels")]
    {
        !probe.is_on() && crate::flex::fusing(x)
    }
    #[cfg(not(feature = "flex-kernels"))]
    {
        let _ = (x, probe);
        false
    }
}

/// The activation after a [`fused`] convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// None.
    Identity,
    /// `nn.ReLU`.
    Relu,
    /// `nn.Sigmoid`.
    Sigmoid,
}

impl Activation {
    /// Applies the activation to `x` as its own layer.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Identity => x,
            Self::Relu => crate::activation::relu(x),
            Self::Sigmoid => crate::activation::sigmoid(x),
        }
    }
}

/// `activation(bn?(conv(x)) + residual?)`, in inference: one pass over the output where
/// [`fusing`] (the bias and the batch norm folded into a per-channel scale and shift); the
/// layers one after another otherwise.
///
/// # Shapes
/// - input: `[batch, channels_in, height, width]`; residual: the output's shape
/// - output: `[batch, channels_out, height_out, width_out]`
pub fn fused(
    conv: &Conv2d,
    bn: Option<&AnyBatchNorm>,
    residual: Option<Tensor<4>>,
    activation: Activation,
    x: Tensor<4>,
) -> Tensor<4> {
    // Only when the parameters are plain too: a model on an autodiff device given an untracked
    // input still trains (its batch norms on batch statistics, its gradients kept).
    #[cfg(feature = "flex-kernels")]
    let plain = crate::flex::fusing(&x)
        && crate::flex::fusing(&conv.weight.val())
        && bn.is_none_or(AnyBatchNorm::on_plain_flex);
    #[cfg(feature = "flex-kernels")]
    if let (true, Some(padding)) = (plain, explicit_padding(conv)) {
        let options = burn::tensor::ops::ConvOptions {
            stride: conv.stride,
            padding,
            dilation: conv.dilation,
            groups: conv.groups,
        };
        let weight = conv.weight.val();
        let c_out = weight.dims()[0];
        let device = x.device();
        let bias = match &conv.bias {
            Some(b) => b.val(),
            None => Tensor::zeros([c_out], &device),
        };
        // bn(conv(x) + b) = conv(x) * s + (b * s + t).
        let affine = match bn {
            Some(bn) => {
                let [s, t] = bn.inference_affine(&device);
                [s.clone(), bias * s + t]
            }
            None => [Tensor::ones([c_out], &device), bias],
        };
        let activation = match activation {
            Activation::Identity => crate::flex::Activation::Identity,
            Activation::Relu => crate::flex::Activation::Relu,
            Activation::Sigmoid => crate::flex::Activation::Sigmoid,
        };
        return crate::flex::conv2d_fused(x, weight, affine, residual, options, activation);
    }
    let y = forward(conv, x);
    let y = match bn {
        Some(bn) => bn.forward(y),
        None => y,
    };
    let y = match residual {
        Some(r) => y + r,
        None => y,
    };
    activation.apply(y)
}

/// `conv.forward(x)`, with the flex kernels' backward where they apply.
///
/// # Shapes
/// - input: `[batch, channels_in, height, width]`
/// - output: `[batch, channels_out, height_out, width_out]`
pub fn forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex-kernels")]
    {
        if let Some(padding) = explicit_padding(conv) {
            let options = burn::tensor::ops::ConvOptions {
                stride: conv.stride,
                padding,
                dilation: conv.dilation,
                groups: conv.groups,
            };
            return crate::flex::conv2d(
                x,
                conv.weight.val(),
                conv.bias.as_ref().map(|b| b.val()),
                options,
            );
        }
    }
    conv.forward(x)
}

/// `conv`'s zero padding as `(before, after)` along height and width; `None` for `Same`,
/// which depends on the input.
pub fn explicit_padding(conv: &Conv2d) -> Option<[(usize, usize); 2]> {
    use burn::nn::PaddingConfig2d;
    match conv.padding {
        PaddingConfig2d::Valid => Some([(0, 0), (0, 0)]),
        PaddingConfig2d::Explicit(top, left, bottom, right) => Some([(top, bottom), (left, right)]),
        PaddingConfig2d::Same => None,
    }
}

/// `pool.forward(x)`, by the flex kernel where it applies (no padding, floor mode).
///
/// # Shapes
/// - input: `[batch, channels, height, width]`
/// - output: `[batch, channels, height_out, width_out]`
pub fn avg_pool(pool: &AvgPool2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex-kernels")]
    {
        let unpadded = matches!(
            pool.padding,
            burn::nn::PaddingConfig2d::Valid | burn::nn::PaddingConfig2d::Explicit(0, 0, 0, 0)
        );
        if unpadded && !pool.ceil_mode {
            return crate::flex::avg_pool2d(x, pool.kernel_size, pool.stride);
        }
    }
    pool.forward(x)
}

/// `pool.forward(x)`, by the flex kernel where it applies (symmetric padding, dilation 1,
/// floor mode).
///
/// # Shapes
/// - input: `[batch, channels, height, width]`
/// - output: `[batch, channels, height_out, width_out]`
pub fn max_pool(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex-kernels")]
    {
        use burn::nn::PaddingConfig2d;
        let padding = match pool.padding {
            PaddingConfig2d::Valid => Some([0, 0]),
            PaddingConfig2d::Explicit(top, left, bottom, right)
                if top == bottom && left == right =>
            {
                Some([top, left])
            }
            _ => None,
        };
        if let (Some(padding), [1, 1], false) = (padding, pool.dilation, pool.ceil_mode) {
            return crate::flex::max_pool2d(x, pool.kernel_size, pool.stride, padding);
        }
    }
    pool.forward(x)
}
