//! ResNet (He et al., 2016, "Deep residual learning for image recognition"), d2l section 8.6.
//!
//! Built from a stage table of (residual blocks, channels): [`RESNET18_STAGES`] is d2l's
//! ResNet-18, [`RESNET34_STAGES`] a ResNet-34 of the same blocks. The first block of every stage
//! but the first halves the size with a strided 1x1 shortcut.

use burn::config::Config;
use burn::tensor::Device;
use convzoo_blocks::init::linear;
use convzoo_blocks::{BatchNormKind, ResidualConfig, Sequential, WeightInit};

use crate::SizeRule;
use crate::registry::{Arch, Architecture, ModelInfo, Recipe, common_fields};
use crate::stem::stem;

/// ResNet-18: (residual blocks, channels) per stage.
pub const RESNET18_STAGES: [(usize, usize); 4] = [(2, 64), (2, 128), (2, 256), (2, 512)];

/// `resnet18`: d2l's ResNet-18.
pub const RESNET18: ModelInfo = ModelInfo {
    name: "resnet18",
    title: "ResNet-18",
    d2l_section: "8.6",
    input: [1, 96, 96],
    recipe: Recipe::d2l(0.05, 256, 96),
    bench_batch: 64,
    pytorch: Some("resnet18"),
    config: || Arch::ResNet(ResNetConfig::new(RESNET18_STAGES.to_vec())),
};

/// ResNet-34's stages, built of d2l's residual blocks (biased convolutions, 1x1 shortcut
/// without batch norm).
pub const RESNET34_STAGES: [(usize, usize); 4] = [(3, 64), (4, 128), (6, 256), (3, 512)];

/// `resnet34`: d2l's ResNet with ResNet-34's stages.
pub const RESNET34: ModelInfo = ModelInfo {
    name: "resnet34",
    title: "ResNet-34",
    d2l_section: "8.6",
    input: [1, 96, 96],
    recipe: Recipe::d2l(0.05, 256, 96),
    bench_batch: 64,
    pytorch: Some("resnet34"),
    config: || Arch::ResNet(ResNetConfig::new(RESNET34_STAGES.to_vec())),
};

/// Configuration of d2l's ResNet (any input size: it ends in global pooling; d2l uses 96x96).
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, num_classes]`
#[derive(Config, Debug)]
pub struct ResNetConfig {
    /// (number of residual blocks, channels) of each stage.
    pub stages: Vec<(usize, usize)>,
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Number of classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
    /// Batch-norm implementation (`PyTorch` matches `nn.BatchNorm`'s running variance).
    #[config(default = "BatchNormKind::Burn")]
    pub batch_norm: BatchNormKind,
}

impl Architecture for ResNetConfig {
    common_fields!();

    fn set_batch_norm(&mut self, kind: BatchNormKind) {
        self.batch_norm = kind;
    }

    fn size_rule(&self) -> SizeRule {
        SizeRule::AtLeast(1)
    }

    fn build(&self, device: &Device) -> Sequential {
        let b1 = stem(
            self.in_channels,
            64,
            Some(self.batch_norm),
            self.init,
            device,
        );
        // 96: N x 64 x 24 x 24, then stages of 64 x 24, 128 x 12, 256 x 6, 512 x 3
        let mut net = Sequential::new().push(b1);
        let mut c_in = 64;
        for (s, &(num_blocks, c)) in self.stages.iter().enumerate() {
            let mut stage = Sequential::new();
            for b in 0..num_blocks {
                let downsample = b == 0 && s > 0;
                let block = ResidualConfig::new(c_in, c)
                    .with_use_1x1conv(downsample)
                    .with_stride(if downsample { 2 } else { 1 })
                    .with_init(self.init)
                    .with_batch_norm(self.batch_norm);
                stage = stage.push(block.init(device));
                c_in = c;
            }
            net = net.push_named(format!("b{}", s + 2), stage);
        }
        let last = Sequential::new().global_avg_pool().flatten().push(linear(
            c_in,
            self.num_classes,
            self.init,
            device,
        ));
        net.push_named("last", last)
    }
}
