//! DenseNet (Huang et al., 2017, "Densely connected convolutional networks"), d2l section 8.7.
//!
//! Built from a table of convolutions per dense block ([`DENSENET_BLOCKS`]: 4 blocks of 4) and
//! a growth rate (32); a transition block halves channels and size between dense blocks:
//! 64 -> 192 -> 96 -> 224 -> 112 -> 240 -> 120 -> 248 channels.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use convzoo_blocks::init::linear;
use convzoo_blocks::{
    AnyBatchNorm, BatchNormKind, DenseBlock, DenseBlockConfig, Probe, TransitionBlock,
    TransitionBlockConfig, WeightInit,
};

use crate::stem::Stem;

/// d2l's DenseNet: convolutions per dense block.
pub const DENSENET_BLOCKS: [usize; 4] = [4, 4, 4, 4];

/// Configuration of [`DenseNet`].
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

/// One dense block and the transition after it (none after the last block).
#[derive(Module, Debug)]
pub struct DenseStage {
    dense: DenseBlock,
    transition: Option<TransitionBlock>,
}

/// d2l's DenseNet (input at least 29x29: three transitions halve it; d2l uses 96x96).
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, num_classes]`
#[derive(Module, Debug)]
pub struct DenseNet {
    b1: Stem,
    stages: Vec<DenseStage>,
    bn: AnyBatchNorm,
    gap: AdaptiveAvgPool2d,
    fc: Linear,
}

impl DenseNetConfig {
    /// Creates the model on `device`.
    pub fn init(&self, device: &Device) -> DenseNet {
        let mut c = self.stem_channels;
        let mut stages = Vec::new();
        for (i, &num_convs) in self.blocks.iter().enumerate() {
            let block = DenseBlockConfig::new(num_convs, c, self.growth_rate)
                .with_init(self.init)
                .with_batch_norm(self.batch_norm);
            c = block.out_channels();
            let dense = block.init(device);
            let transition = (i + 1 < self.blocks.len()).then(|| {
                let transition = TransitionBlockConfig::new(c, c / 2)
                    .with_init(self.init)
                    .with_batch_norm(self.batch_norm);
                c = transition.out_channels();
                transition.init(device)
            });
            stages.push(DenseStage { dense, transition });
        }
        DenseNet {
            b1: Stem::new(
                self.in_channels,
                self.stem_channels,
                Some(self.batch_norm),
                self.init,
                device,
            ),
            stages,
            bn: AnyBatchNorm::new(self.batch_norm, c, device),
            gap: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc: linear(c, self.num_classes, self.init, device),
        }
    }
}

impl DenseNet {
    /// [`forward`](crate::Model::forward) with a probe recording every layer.
    pub fn forward_probed(&self, x: Tensor<4>, p: &mut Probe) -> Tensor<2> {
        let x = self.b1.forward_probed(x, p);
        // 96: N x 64 x 24; dense 192 x 24, transition 96 x 12; 224 x 12, 112 x 6; 240 x 6,
        // 120 x 3; 248 x 3
        let mut x = p.layer("b1", x);
        for (i, stage) in self.stages.iter().enumerate() {
            x = stage.dense.forward_probed(x, p);
            x = p.layer(&format!("dense{}", i + 1), x);
            if let Some(t) = &stage.transition {
                x = t.forward_probed(x, p);
                x = p.layer(&format!("transition{}", i + 1), x);
            }
        }
        let x = self
            .gap
            .forward(relu(self.bn.forward(x)))
            .flatten::<2>(1, 3);
        let x = p.linear(&self.fc, x);
        p.layer("last", x) // N x num_classes
    }
}
