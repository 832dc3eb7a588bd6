//! AlexNet (Krizhevsky, Sutskever & Hinton, 2012, "ImageNet classification with deep
//! convolutional neural networks"), d2l section 8.1.
//!
//! d2l's version for 1-channel 224x224 Fashion-MNIST: the first convolution pads by 1 (so 224
//! becomes 54), there is no local response normalisation, and the classifier ends in 10 classes.

use burn::config::Config;
use burn::nn::DropoutConfig;
use burn::nn::pool::MaxPool2dConfig;
use burn::tensor::Device;
use convzoo_blocks::init::{conv, conv_config, linear};
use convzoo_blocks::{Sequential, WeightInit};

use crate::SizeRule;
use crate::registry::{Arch, Architecture, ModelInfo, Recipe, common_fields};

/// `alexnet`: d2l's AlexNet.
pub const ALEXNET: ModelInfo = ModelInfo {
    name: "alexnet",
    title: "AlexNet",
    d2l_section: "8.1",
    input: [1, 224, 224],
    recipe: Recipe::d2l(0.01, 128, 224),
    bench_batch: 32,
    pytorch: Some("alexnet"),
    config: || Arch::AlexNet(AlexNetConfig::new()),
};

/// (out channels, kernel, stride, padding, max-pool after) of the five convolutions.
const CONVS: [(usize, usize, usize, usize, bool); 5] = [
    (96, 11, 4, 1, true),
    (256, 5, 1, 2, true),
    (384, 3, 1, 1, false),
    (384, 3, 1, 1, false),
    (256, 3, 1, 1, true),
];

/// Configuration of d2l's AlexNet on 224x224 images.
///
/// # Shapes
/// - input: `[N, in_channels, 224, 224]`
/// - output: `[N, num_classes]`
#[derive(Config, Debug)]
pub struct AlexNetConfig {
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Number of classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Dropout probability in the classifier.
    #[config(default = 0.5)]
    pub dropout: f64,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
}

impl Architecture for AlexNetConfig {
    common_fields!();

    fn set_dropout(&mut self, p: f64) {
        self.dropout = p;
    }

    fn size_rule(&self) -> SizeRule {
        // The classifier takes 256 maps of 5x5.
        SizeRule::Exact(224)
    }

    fn build(&self, device: &Device) -> Sequential {
        // N x 96 x 54 x 54 -> pool 26; 256 x 26 -> pool 12; 384, 384, 256 x 12 -> pool 5
        let mut net = Sequential::new();
        let mut c_in = self.in_channels;
        for (c_out, k, s, p, pooled) in CONVS {
            net = net
                .push(conv(&conv_config(c_in, c_out, k, s, p), self.init, device))
                .relu();
            if pooled {
                net = net.push(MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).init());
            }
            c_in = c_out;
        }
        let dropout = || DropoutConfig::new(self.dropout).init();
        net.flatten() // N x 6400
            .push(linear(256 * 5 * 5, 4096, self.init, device))
            .relu()
            .push(dropout())
            .push(linear(4096, 4096, self.init, device))
            .relu()
            .push(dropout())
            .push(linear(4096, self.num_classes, self.init, device))
    }
}
