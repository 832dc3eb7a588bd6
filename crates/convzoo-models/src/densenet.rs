//! DenseNet (Huang et al., 2017, "Densely connected convolutional networks"), d2l section 8.7.
//!
//! Built from a table of convolutions per dense block ([`DENSENET_BLOCKS`]: 4 blocks of 4) and
//! a growth rate (32); a transition block halves channels and size between dense blocks:
//! 64 -> 192 -> 96 -> 224 -> 112 -> 240 -> 120 -> 248 channels.

use burn::config::Config;
use burn::tensor::Device;
use convzoo_blocks::init::linear;
use convzoo_blocks::{
    AnyBatchNorm, BatchNormKind, DenseBlockConfig, Sequential, TransitionBlockConfig, WeightInit,
};

use crate::SizeRule;
use crate::registry::{Arch, Architecture, ModelInfo, Recipe, common_fields};
use crate::stem::stem;

/// d2l's DenseNet: convolutions per dense block.
pub const DENSENET_BLOCKS: [usize; 4] = [4, 4, 4, 4];

/// `densenet`: d2l's DenseNet.
pub const DENSENET: ModelInfo = ModelInfo {
    name: "densenet",
    title: "DenseNet",
    d2l_section: "8.7",
    input: [1, 96, 96],
    recipe: Recipe::d2l(0.1, 256, 96),
    bench_batch: 64,
    pytorch: Some("densenet"),
    config: || Arch::DenseNet(DenseNetConfig::new(DENSENET_BLOCKS.to_vec())),
};

/// Configuration of d2l's DenseNet (input at least 29x29: the stem quarters it and three
/// transitions halve it; d2l uses 96x96).
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, num_classes]`
#[derive(Config, Debug)]
pub struct DenseNetConfig {
    /// Number of BN-ReLU-conv units in each dense block.
    pub blocks: Vec<usize>,
    /// Channels after the stem.
    #[config(default = 64)]
    pub stem_channels: usize,
    /// Channels added by each unit.
    #[config(default = 32)]
    pub growth_rate: usize,
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

impl Architecture for DenseNetConfig {
    common_fields!();

    fn set_batch_norm(&mut self, kind: BatchNormKind) {
        self.batch_norm = kind;
    }

    fn size_rule(&self) -> SizeRule {
        // The stem divides by 4 (rounding up) and every transition halves (rounding down):
        // the last transition needs 2x2.
        SizeRule::AtLeast(4 * (1 << self.blocks.len().saturating_sub(1)) - 3)
    }

    fn build(&self, device: &Device) -> Sequential {
        let (i, k) = (self.init, self.batch_norm);
        let b1 = stem(self.in_channels, self.stem_channels, Some(k), i, device);
        // 96: N x 64 x 24; dense 192 x 24, transition 96 x 12; 224 x 12, 112 x 6; 240 x 6,
        // 120 x 3; 248 x 3
        let mut net = Sequential::new().push(b1);
        let mut c = self.stem_channels;
        for (n, &num_convs) in self.blocks.iter().enumerate() {
            let dense = DenseBlockConfig::new(num_convs, c, self.growth_rate)
                .with_init(i)
                .with_batch_norm(k);
            c = dense.out_channels();
            net = net.push_named(format!("dense_blk{}", n + 1), dense.init(device));
            if n + 1 < self.blocks.len() {
                let transition = TransitionBlockConfig::new(c, c / 2)
                    .with_init(i)
                    .with_batch_norm(k);
                c = transition.out_channels();
                net = net.push_named(format!("tran_blk{}", n + 1), transition.init(device));
            }
        }
        let last = Sequential::new()
            .push(AnyBatchNorm::new(k, c, device))
            .relu()
            .global_avg_pool()
            .flatten()
            .push(linear(c, self.num_classes, i, device));
        net.push_named("last", last)
    }
}
