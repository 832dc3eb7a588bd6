//! VGG (Simonyan & Zisserman, 2014, "Very deep convolutional networks for large-scale image
//! recognition"), d2l section 8.2.
//!
//! Built from an architecture table of (number of convolutions, output channels) per block:
//! [`VGG11_ARCH`] is VGG-11; d2l trains [`VGG11_SMALL_ARCH`], the same with channels / 4.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use convzoo_blocks::init::linear;
use convzoo_blocks::{Probe, VggBlock, WeightInit, vgg_block};

/// VGG-11's convolutional part: (convolutions, channels) per block.
pub const VGG11_ARCH: [(usize, usize); 5] = [(1, 64), (1, 128), (2, 256), (2, 512), (2, 512)];

/// The VGG-11 that d2l trains: [`VGG11_ARCH`] with every channel count divided by 4.
pub const VGG11_SMALL_ARCH: [(usize, usize); 5] = [(1, 16), (1, 32), (2, 64), (2, 128), (2, 128)];

/// Configuration of [`Vgg`].
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

/// VGG: blocks from the arch table, then a 3-layer classifier, on 224x224 images.
///
/// # Shapes
/// - input: `[N, in_channels, 224, 224]`
/// - output: `[N, num_classes]`
#[derive(Module, Debug)]
pub struct Vgg {
    blocks: Vec<VggBlock>,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    dropout: Dropout,
}

impl VggConfig {
    /// Spatial size after the blocks for a 224x224 input (each block halves it).
    pub fn feature_size(&self) -> usize {
        224 >> self.arch.len()
    }

    /// Creates the model on `device`.
    pub fn init(&self, device: &Device) -> Vgg {
        let mut c_in = self.in_channels;
        let blocks = self
            .arch
            .iter()
            .map(|&(num_convs, c_out)| {
                let block = vgg_block(num_convs, c_in, c_out)
                    .with_init(self.init)
                    .init(device);
                c_in = c_out;
                block
            })
            .collect();
        let s = self.feature_size();
        Vgg {
            blocks,
            fc1: linear(c_in * s * s, self.hidden, self.init, device),
            fc2: linear(self.hidden, self.hidden, self.init, device),
            fc3: linear(self.hidden, self.num_classes, self.init, device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl Vgg {
    /// [`forward`](crate::Model::forward) with a probe recording every layer.
    pub fn forward_probed(&self, x: Tensor<4>, p: &mut Probe) -> Tensor<2> {
        // VGG-11: 64 x 112, 128 x 56, 256 x 28, 512 x 14, 512 x 7
        let mut x = x;
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward_probed(x, p);
            x = p.layer(&format!("block{}", i + 1), x);
        }
        let x = p.layer("flatten", x.flatten::<2>(1, 3)); // N x (channels * 7 * 7)
        let x = p.linear(&self.fc1, x);
        let x = p.layer("fc1", x);
        let x = p.layer("relu1", relu(x));
        let x = p.layer("dropout1", self.dropout.forward(x));
        let x = p.linear(&self.fc2, x);
        let x = p.layer("fc2", x);
        let x = p.layer("relu2", relu(x));
        let x = p.layer("dropout2", self.dropout.forward(x));
        let x = p.linear(&self.fc3, x);
        p.layer("fc3", x) // N x num_classes
    }
}
