//! GoogLeNet (Szegedy et al., 2015, "Going deeper with convolutions"), d2l section 8.4.
//!
//! d2l's version: no auxiliary classifiers and no local response normalisation, 96x96 input.
//! The nine Inception blocks come from a table of their branch widths.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use convzoo_blocks::init::{conv, conv_config, linear};
use convzoo_blocks::{Inception, InceptionConfig, Probe, WeightInit};

use crate::stem::{Stem, max_pool_3x3_s2};

/// Branch widths `(c1, (c2 reduce, c2), (c3 reduce, c3), c4)` of one Inception block.
pub type InceptionWidths = (usize, (usize, usize), (usize, usize), usize);

/// GoogLeNet's Inception blocks, stage by stage (d2l's b3, b4, b5).
pub const GOOGLENET_STAGES: [&[InceptionWidths]; 3] = [
    &[
        (64, (96, 128), (16, 32), 32),
        (128, (128, 192), (32, 96), 64),
    ],
    &[
        (192, (96, 208), (16, 48), 64),
        (160, (112, 224), (24, 64), 64),
        (128, (128, 256), (24, 64), 64),
        (112, (144, 288), (32, 64), 64),
        (256, (160, 320), (32, 128), 128),
    ],
    &[
        (256, (160, 320), (32, 128), 128),
        (384, (192, 384), (48, 128), 128),
    ],
];

/// Configuration of [`GoogLeNet`].
#[derive(Config, Debug)]
pub struct GoogLeNetConfig {
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Number of classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
}

/// d2l's GoogLeNet (any input size: it ends in global pooling; d2l uses 96x96).
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, num_classes]`
#[derive(Module, Debug)]
pub struct GoogLeNet {
    b1: Stem,
    b2_conv1: Conv2d,
    b2_conv2: Conv2d,
    stages: Vec<Vec<Inception>>,
    pool: MaxPool2d,
    gap: AdaptiveAvgPool2d,
    fc: Linear,
}

impl GoogLeNetConfig {
    /// Creates the model on `device`.
    pub fn init(&self, device: &Device) -> GoogLeNet {
        let i = self.init;
        let mut c_in = 192;
        let stages = GOOGLENET_STAGES
            .iter()
            .map(|stage| {
                stage
                    .iter()
                    .map(|&(c1, c2, c3, c4)| {
                        let config = InceptionConfig::new(c_in, c1, c2, c3, c4).with_init(i);
                        c_in = config.out_channels();
                        config.init(device)
                    })
                    .collect()
            })
            .collect();
        GoogLeNet {
            b1: Stem::new(self.in_channels, 64, None, i, device),
            b2_conv1: conv(&conv_config(64, 64, 1, 1, 0), i, device),
            b2_conv2: conv(&conv_config(64, 192, 3, 1, 1), i, device),
            stages,
            pool: max_pool_3x3_s2(),
            gap: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc: linear(c_in, self.num_classes, i, device),
        }
    }
}

impl GoogLeNet {
    /// [`forward`](crate::Model::forward) with a probe recording every layer.
    pub fn forward_probed(&self, x: Tensor<4>, p: &mut Probe) -> Tensor<2> {
        let x = self.b1.forward_probed(x, p);
        let x = p.layer("b1", x); // 96: N x 64 x 24 x 24
        let x = relu(p.conv(&self.b2_conv1, x));
        let x = relu(p.conv(&self.b2_conv2, x));
        let x = p.layer("b2", self.pool.forward(x)); // N x 192 x 12 x 12
        let last = self.stages.len() - 1;
        let mut x = x;
        for (s, stage) in self.stages.iter().enumerate() {
            for block in stage {
                x = block.forward_probed(x, p);
            }
            if s < last {
                // b3: N x 480 x 6 x 6, b4: N x 832 x 3 x 3
                x = p.layer(&format!("b{}", s + 3), self.pool.forward(x));
            }
        }
        let x = self.gap.forward(x).flatten::<2>(1, 3);
        let x = p.layer("b5", x); // N x 1024
        let x = p.linear(&self.fc, x);
        p.layer("fc", x) // N x num_classes
    }
}
