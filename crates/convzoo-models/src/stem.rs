//! The 7x7 stem shared by GoogLeNet, ResNet and DenseNet: conv 7x7/2 (padding 3), optional batch
//! norm, ReLU, max-pool 3x3/2 (padding 1). It divides the input size by 4.

use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::Device;
use convzoo_blocks::init::{conv, conv_config, pad};
use convzoo_blocks::{AnyBatchNorm, BatchNormKind, Sequential, WeightInit};

/// Conv 7x7/2, [batch norm], ReLU, max-pool 3x3/2 (d2l's `b1`; PyTorch keys `0`, `1`).
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, out_channels, ceil(ceil(H / 2) / 2), ceil(ceil(W / 2) / 2)]`
pub fn stem(
    in_channels: usize,
    out_channels: usize,
    batch_norm: Option<BatchNormKind>,
    init: WeightInit,
    device: &Device,
) -> Sequential {
    let config = conv_config(in_channels, out_channels, 7, 2, 3);
    let mut stem = Sequential::new().push(conv(&config, init, device));
    if let Some(kind) = batch_norm {
        stem = stem.push(AnyBatchNorm::new(kind, out_channels, device));
    }
    stem.relu().push(max_pool_3x3_s2())
}

/// Max-pool 3x3, stride 2, padding 1: halves the size, rounding up.
pub fn max_pool_3x3_s2() -> MaxPool2d {
    MaxPool2dConfig::new([3, 3])
        .with_strides([2, 2])
        .with_padding(pad(1))
        .init()
}
