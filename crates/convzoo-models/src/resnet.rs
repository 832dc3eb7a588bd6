//! ResNet (He et al., 2016, "Deep residual learning for image recognition"), d2l section 8.6.
//!
//! Built from a stage table of (residual blocks, channels): [`RESNET18_STAGES`] is d2l's
//! ResNet-18; e.g. `[(3, 64), (4, 128), (6, 256), (3, 512)]` is a ResNet-34 of the same style.
//! The first block of every stage but the first halves the size with a strided 1x1 shortcut.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::tensor::{Device, Tensor};
use convzoo_blocks::init::linear;
use convzoo_blocks::{BatchNormKind, Probe, Residual, ResidualConfig, WeightInit};

use crate::stem::Stem;

/// ResNet-18: (residual blocks, channels) per stage.
pub const RESNET18_STAGES: [(usize, usize); 4] = [(2, 64), (2, 128), (2, 256), (2, 512)];

/// Configuration of [`ResNet`].
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

/// d2l's ResNet (any input size: it ends in global pooling; d2l uses 96x96).
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, num_classes]`
#[derive(Module, Debug)]
pub struct ResNet {
    b1: Stem,
    stages: Vec<Vec<Residual>>,
    gap: AdaptiveAvgPool2d,
    fc: Linear,
}

impl ResNetConfig {
    /// Creates the model on `device`.
    pub fn init(&self, device: &Device) -> ResNet {
        let mut c_in = 64;
        let stages = self
            .stages
            .iter()
            .enumerate()
            .map(|(s, &(num_blocks, c))| {
                (0..num_blocks)
                    .map(|b| {
                        let downsample = b == 0 && s > 0;
                        let block = ResidualConfig::new(c_in, c)
                            .with_use_1x1conv(downsample)
                            .with_stride(if downsample { 2 } else { 1 })
                            .with_init(self.init)
                            .with_batch_norm(self.batch_norm)
                            .init(device);
                        c_in = c;
                        block
                    })
                    .collect()
            })
            .collect();
        ResNet {
            b1: Stem::new(
                self.in_channels,
                64,
                Some(self.batch_norm),
                self.init,
                device,
            ),
            stages,
            gap: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc: linear(c_in, self.num_classes, self.init, device),
        }
    }
}

impl ResNet {
    /// [`forward`](crate::Model::forward) with a probe recording every layer.
    pub fn forward_probed(&self, x: Tensor<4>, p: &mut Probe) -> Tensor<2> {
        let x = self.b1.forward_probed(x, p);
        // 96: N x 64 x 24 x 24, then stages of 64 x 24, 128 x 12, 256 x 6, 512 x 3
        let mut x = p.layer("b1", x);
        for (s, stage) in self.stages.iter().enumerate() {
            for block in stage {
                x = block.forward_probed(x, p);
            }
            x = p.layer(&format!("b{}", s + 2), x);
        }
        let x = self.gap.forward(x).flatten::<2>(1, 3);
        let x = p.linear(&self.fc, x);
        p.layer("last", x) // N x num_classes
    }
}
