//! Network in Network (Lin, Chen & Yan, 2013), d2l section 8.3.
//!
//! Three NiN blocks with max-pooling, dropout, and a last NiN block with one channel per class
//! whose global average is the logit: no fully connected layer.

use burn::config::Config;
use burn::module::Module;
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Device, Tensor};
use convzoo_blocks::{NinBlock, NinBlockConfig, Probe, WeightInit};

/// Configuration of [`NiN`].
#[derive(Config, Debug)]
pub struct NiNConfig {
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Number of classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Dropout probability before the last block.
    #[config(default = 0.5)]
    pub dropout: f64,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
}

/// d2l's NiN on 224x224 images (any size from 67x67 works: it ends in global pooling).
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`, H and W >= 67
/// - output: `[N, num_classes]`
#[derive(Module, Debug)]
pub struct NiN {
    blocks: Vec<NinBlock>,
    pool: MaxPool2d,
    dropout: Dropout,
    gap: AdaptiveAvgPool2d,
}

impl NiNConfig {
    /// Creates the model on `device`.
    pub fn init(&self, device: &Device) -> NiN {
        // (out channels, kernel, stride, padding) of the four blocks.
        let table = [
            (96, 11, 4, 0),
            (256, 5, 1, 2),
            (384, 3, 1, 1),
            (self.num_classes, 3, 1, 1),
        ];
        let mut c_in = self.in_channels;
        let blocks = table
            .iter()
            .map(|&(c, k, s, p)| {
                let block = NinBlockConfig::new(c_in, c, k, s, p)
                    .with_init(self.init)
                    .init(device);
                c_in = c;
                block
            })
            .collect();
        NiN {
            blocks,
            pool: MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).init(),
            dropout: DropoutConfig::new(self.dropout).init(),
            gap: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
        }
    }
}

impl NiN {
    /// [`forward`](crate::Model::forward) with a probe recording every layer.
    pub fn forward_probed(&self, x: Tensor<4>, p: &mut Probe) -> Tensor<2> {
        // 224: N x 96 x 54 -> pool 26; 256 x 26 -> pool 12; 384 x 12 -> pool 5; classes x 5
        let [first @ .., last] = self.blocks.as_slice() else {
            unreachable!("NiN has four blocks")
        };
        let mut x = x;
        for (i, block) in first.iter().enumerate() {
            x = block.forward_probed(x, p);
            x = p.layer(&format!("nin{}", i + 1), x);
            x = p.layer(&format!("maxpool{}", i + 1), self.pool.forward(x));
        }
        let x = p.layer("dropout", self.dropout.forward(x));
        let x = last.forward_probed(x, p);
        let x = p.layer("nin4", x);
        let x = p.layer("gap", self.gap.forward(x)); // N x classes x 1 x 1
        p.layer("flatten", x.flatten::<2>(1, 3))
    }
}
