//! Runs a 3x3 convolution and a 2x2 average pooling through convzoo's flex kernels, checks each
//! against Burn's own operation and prints the shapes.
//!
//! ```text
//! cargo run --release -p convzoo-kernels --example conv_pool
//! ```
//!
//! With `CONVZOO_FLEX_KERNELS=0` both sides run Burn's operations.

use burn::tensor::ops::{AvgPoolOptions, ConvOptions};
use burn::tensor::{Device, Distribution, Tensor};

/// The largest absolute difference between two tensors of the same shape.
fn max_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

fn main() {
    let device = Device::flex();
    println!("flex kernels enabled: {}", convzoo_kernels::enabled());

    // A batch of 8 three-channel 32x32 images through a 3x3 convolution to 16 channels,
    // stride 1, padding 1 (the shape-preserving convolution of VGG and ResNet).
    let x = Tensor::<4>::random([8, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let weight = Tensor::<4>::random([16, 3, 3, 3], Distribution::Normal(0.0, 0.2), &device);
    let bias = Tensor::<1>::random([16], Distribution::Normal(0.0, 0.1), &device);
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let y = convzoo_kernels::conv2d(
        x.clone(),
        weight.clone(),
        Some(bias.clone()),
        options.clone(),
    );
    let reference = burn::tensor::module::conv2d(x.clone(), weight.clone(), Some(bias), options);
    println!(
        "conv2d       {:?} * {:?} -> {:?}  (max |kernel - Burn| = {:.2e})",
        x.dims(),
        weight.dims(),
        y.dims(),
        max_diff(y.clone(), reference)
    );

    // Unpadded 2x2 average pooling with stride 2 of the convolution's output (LeNet's pooling).
    let pooled = convzoo_kernels::avg_pool2d(y.clone(), [2, 2], [2, 2]);
    let reference = burn::tensor::module::avg_pool2d(y.clone(), AvgPoolOptions::new([2, 2]));
    println!(
        "avg_pool2d   {:?} -> {:?}  (max |kernel - Burn| = {:.2e})",
        y.dims(),
        pooled.dims(),
        max_diff(pooled, reference)
    );
}
