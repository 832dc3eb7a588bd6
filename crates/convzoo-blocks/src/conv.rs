//! The one place the models run a convolution or average-pooling layer.
//!
//! With the `flex-kernels` feature, layers on flex take [`crate::flex::conv2d`] and
//! [`crate::flex::avg_pool2d`]; everything else is Burn's `forward`.

use burn::nn::conv::Conv2d;
use burn::nn::pool::AvgPool2d;
use burn::tensor::Tensor;

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
