//! Builds a small network from d2l blocks (a VGG block, a residual block, global average pooling
//! and a linear classifier) as a `Sequential`, runs one 28x28 image through it with a recording
//! probe and prints every layer's output shape, the parameters and the multiply-adds.
//!
//! ```text
//! cargo run --release -p convzoo-blocks --example probe
//! ```

use burn::tensor::{Device, Tensor};
use convzoo_blocks::init::linear;
use convzoo_blocks::{
    Features, Probe, ResidualConfig, Sequential, WeightInit, count_parameters, vgg_block,
};

fn main() {
    let device = Device::flex();

    // 1x28x28 -> VGG block (two 3x3 convolutions, 2x2 max-pool): 16x14x14
    //         -> residual block with a 1x1 shortcut, stride 2: 32x7x7
    //         -> global average pool, flatten, linear: 10 logits.
    let net = Sequential::new()
        .push_named("vgg", vgg_block(2, 1, 16).init(&device))
        .push_named(
            "residual",
            ResidualConfig::new(16, 32)
                .with_use_1x1conv(true)
                .with_stride(2)
                .init(&device),
        )
        .global_avg_pool()
        .flatten()
        .push_named("fc", linear(32, 10, WeightInit::Xavier, &device));

    let mut probe = Probe::on();
    let x = Features::Maps(Tensor::zeros([1, 1, 28, 28], &device));
    let y = net.forward_probed(x, &mut probe, "net");

    println!("{:<14} {:<18} output shape", "layer", "kind");
    for layer in &probe.layers {
        println!(
            "{:<14} {:<18} {:?}",
            layer.name, layer.kind, layer.output_shape
        );
    }
    println!("output: {:?}", y.dims());
    println!("parameters: {}", count_parameters(&net));
    println!(
        "multiply-adds per image: {:.2} M ({} convolutions)",
        probe.macs as f64 / 1e6,
        probe.convs.len()
    );
}
