//! GoogLeNet (Szegedy et al., 2015, "Going deeper with convolutions"), d2l section 8.4.
//!
//! d2l's version: no auxiliary classifiers and no local response normalisation, 96x96 input.
//! The nine Inception blocks come from a table of their branch widths.

use burn::config::Config;
use burn::tensor::Device;
use convzoo_blocks::init::{conv, conv_config, linear};
use convzoo_blocks::{AnyBatchNorm, BatchNormKind, InceptionConfig, Sequential, WeightInit};

use crate::SizeRule;
use crate::registry::{Arch, Architecture, ModelInfo, Recipe, common_fields};
use crate::stem::{max_pool_3x3_s2, stem};

/// `googlenet`: d2l's GoogLeNet.
pub const GOOGLENET: ModelInfo = ModelInfo {
    name: "googlenet",
    title: "GoogLeNet",
    d2l_section: "8.4",
    input: [1, 96, 96],
    recipe: Recipe::d2l(0.1, 128, 96),
    bench_batch: 64,
    pytorch: Some("googlenet"),
    config: || Arch::GoogLeNet(GoogLeNetConfig::new()),
};

/// `googlenet-bn`: d2l's GoogLeNet with a batch norm after every convolution ("V2 + BN").
pub const GOOGLENET_BN: ModelInfo = ModelInfo {
    name: "googlenet-bn",
    title: "GoogLeNet with batch norm",
    d2l_section: "8.4",
    input: [1, 96, 96],
    recipe: Recipe::d2l(0.1, 128, 96),
    bench_batch: 64,
    pytorch: Some("googlenet_bn"),
    config: || Arch::GoogLeNet(GoogLeNetConfig::new().with_batch_norm(Some(BatchNormKind::Burn))),
};

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

/// Configuration of d2l's GoogLeNet (any input size: it ends in global pooling; d2l uses
/// 96x96).
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, num_classes]`
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
    /// A batch norm of this kind after every convolution, before its ReLU; `None` for d2l's
    /// GoogLeNet, which has none.
    pub batch_norm: Option<BatchNormKind>,
}

impl Architecture for GoogLeNetConfig {
    common_fields!();

    fn set_batch_norm(&mut self, kind: BatchNormKind) {
        // Only a GoogLeNet with batch norm changes its kind; d2l's has none to change.
        if self.batch_norm.is_some() {
            self.batch_norm = Some(kind);
        }
    }

    fn size_rule(&self) -> SizeRule {
        SizeRule::AtLeast(1)
    }

    fn build(&self, device: &Device) -> Sequential {
        let (i, bn) = (self.init, self.batch_norm);
        // conv, [batch norm], ReLU
        let conv_unit = |b: Sequential, c_in, c_out, k, p| {
            let b = b.push(conv(&conv_config(c_in, c_out, k, 1, p), i, device));
            match bn {
                Some(kind) => b.push(AnyBatchNorm::new(kind, c_out, device)),
                None => b,
            }
            .relu()
        };
        let b1 = stem(self.in_channels, 64, bn, i, device); // 96: N x 64 x 24 x 24
        let b2 = conv_unit(Sequential::new(), 64, 64, 1, 0);
        let b2 = conv_unit(b2, 64, 192, 3, 1).push(max_pool_3x3_s2()); // N x 192 x 12 x 12
        let mut net = Sequential::new().push(b1).push(b2);
        let mut c_in = 192;
        for (s, widths) in GOOGLENET_STAGES.iter().enumerate() {
            let mut stage = Sequential::new();
            for &(c1, c2, c3, c4) in *widths {
                let config = InceptionConfig::new(c_in, c1, c2, c3, c4)
                    .with_init(i)
                    .with_batch_norm(bn);
                c_in = config.out_channels();
                stage = stage.push(config.init(device));
            }
            // b3: N x 480 x 6 x 6, b4: N x 832 x 3 x 3, b5: N x 1024
            stage = if s + 1 < GOOGLENET_STAGES.len() {
                stage.push(max_pool_3x3_s2())
            } else {
                stage.global_avg_pool().flatten()
            };
            net = net.push(stage);
        }
        net.push(linear(c_in, self.num_classes, i, device))
    }
}
