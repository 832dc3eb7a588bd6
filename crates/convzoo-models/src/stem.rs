//! The 7x7 stem shared by GoogLeNet, ResNet and DenseNet: conv 7x7/2 (padding 3), optional batch
//! norm, ReLU, max-pool 3x3/2 (padding 1). It divides the input size by 4.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use convzoo_blocks::init::{conv, conv_config, pad};
use convzoo_blocks::{AnyBatchNorm, BatchNormKind, Probe, WeightInit};

/// Conv 7x7/2, [batch norm], ReLU, max-pool 3x3/2.
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, out_channels, ceil(ceil(H / 2) / 2), ceil(ceil(W / 2) / 2)]`
#[derive(Module, Debug)]
pub struct Stem {
    conv: Conv2d,
    bn: Option<AnyBatchNorm>,
    pool: MaxPool2d,
}

impl Stem {
    /// Creates the stem; `batch_norm` adds a batch norm of that kind after the convolution.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        batch_norm: Option<BatchNormKind>,
        init: WeightInit,
        device: &Device,
    ) -> Self {
        Self {
            conv: conv(
                &conv_config(in_channels, out_channels, 7, 2, 3),
                init,
                device,
            ),
            bn: batch_norm.map(|kind| AnyBatchNorm::new(kind, out_channels, device)),
            pool: max_pool_3x3_s2(),
        }
    }

    /// Applies the stem.
    pub fn forward_probed(&self, x: Tensor<4>, p: &mut Probe) -> Tensor<4> {
        let x = p.conv(&self.conv, x);
        let x = match &self.bn {
            Some(bn) => bn.forward(x),
            None => x,
        };
        self.pool.forward(relu(x))
    }
}

/// Max-pool 3x3, stride 2, padding 1: halves the size, rounding up.
pub fn max_pool_3x3_s2() -> MaxPool2d {
    MaxPool2dConfig::new([3, 3])
        .with_strides([2, 2])
        .with_padding(pad(1))
        .init()
}
