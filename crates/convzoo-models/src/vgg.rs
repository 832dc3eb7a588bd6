//! VGG (Simonyan & Zisserman, 2014, "Very deep convolutional networks for large-scale image
//! recognition"), d2l section 8.2.
//!
//! Built from an architecture table of (number of convolutions, output channels) per block:
//! [`VGG11_ARCH`] is VGG-11, [`VGG16_ARCH`] VGG-16; d2l trains [`VGG11_SMALL_ARCH`], VGG-11 with
//! channels / 4.

use burn::config::Config;
use burn::nn::DropoutConfig;
use burn::tensor::Device;
use convzoo_blocks::init::linear;
use convzoo_blocks::{Sequential, WeightInit, vgg_block};

use crate::SizeRule;
use crate::registry::{Arch, Architecture, ModelInfo, Recipe, common_fields};

/// VGG-11's convolutional part: (convolutions, channels) per block.
pub const VGG11_ARCH: [(usize, usize); 5] = [(1, 64), (1, 128), (2, 256), (2, 512), (2, 512)];

/// The VGG-11 that d2l trains: [`VGG11_ARCH`] with every channel count divided by 4.
pub const VGG11_SMALL_ARCH: [(usize, usize); 5] = [(1, 16), (1, 32), (2, 64), (2, 128), (2, 128)];

/// VGG-16's convolutional part.
pub const VGG16_ARCH: [(usize, usize); 5] = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)];

/// `vgg11`: VGG-11.
pub const VGG11: ModelInfo = ModelInfo {
    name: "vgg11",
    title: "VGG-11",
    d2l_section: "8.2",
    input: [1, 224, 224],
    recipe: Recipe::d2l(0.05, 128, 224),
    bench_batch: 32,
    pytorch: Some("vgg11"),
    config: || Arch::Vgg(VggConfig::new(VGG11_ARCH.to_vec())),
};

/// `vgg11-small`: the VGG-11 d2l trains.
pub const VGG11_SMALL: ModelInfo = ModelInfo {
    name: "vgg11-small",
    title: "VGG-11, channels / 4",
    d2l_section: "8.2",
    input: [1, 224, 224],
    recipe: Recipe::d2l(0.05, 128, 224),
    bench_batch: 32,
    pytorch: Some("vgg11_small"),
    config: || Arch::Vgg(VggConfig::new(VGG11_SMALL_ARCH.to_vec())),
};

/// `vgg16`: VGG-16.
pub const VGG16: ModelInfo = ModelInfo {
    name: "vgg16",
    title: "VGG-16",
    d2l_section: "8.2",
    input: [1, 224, 224],
    recipe: Recipe::d2l(0.05, 128, 224),
    bench_batch: 32,
    pytorch: Some("vgg16"),
    config: || Arch::Vgg(VggConfig::new(VGG16_ARCH.to_vec())),
};

/// Configuration of VGG: blocks from the arch table, then a 3-layer classifier, on 224x224
/// images.
///
/// # Shapes
/// - input: `[N, in_channels, 224, 224]`
/// - output: `[N, num_classes]`
#[derive(Config, Debug)]
pub struct VggConfig {
    /// (number of 3x3 convolutions, output channels) of each block.
    pub arch: Vec<(usize, usize)>,
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Number of classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Width of the two hidden fully connected layers.
    #[config(default = 4096)]
    pub hidden: usize,
    /// Dropout probability in the classifier.
    #[config(default = 0.5)]
    pub dropout: f64,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
}

impl VggConfig {
    /// Side of the maps the classifier takes (7: d2l's classifier is sized for 224x224).
    pub const FEATURE_SIZE: usize = 7;
}

impl Architecture for VggConfig {
    common_fields!();

    fn set_dropout(&mut self, p: f64) {
        self.dropout = p;
    }

    fn size_rule(&self) -> SizeRule {
        // Every block halves the size; the classifier takes 7x7 maps.
        SizeRule::Exact(Self::FEATURE_SIZE << self.arch.len())
    }

    fn build(&self, device: &Device) -> Sequential {
        // VGG-11: 64 x 112, 128 x 56, 256 x 28, 512 x 14, 512 x 7
        let mut net = Sequential::new();
        let mut c_in = self.in_channels;
        for &(num_convs, c_out) in &self.arch {
            net = net.push(
                vgg_block(num_convs, c_in, c_out)
                    .with_init(self.init)
                    .init(device),
            );
            c_in = c_out;
        }
        let s = Self::FEATURE_SIZE;
        let dropout = || DropoutConfig::new(self.dropout).init();
        net.flatten() // N x (channels * 7 * 7)
            .push(linear(c_in * s * s, self.hidden, self.init, device))
            .relu()
            .push(dropout())
            .push(linear(self.hidden, self.hidden, self.init, device))
            .relu()
            .push(dropout())
            .push(linear(self.hidden, self.num_classes, self.init, device))
    }
}
