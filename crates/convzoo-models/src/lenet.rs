//! LeNet-5 (LeCun et al., 1998, "Gradient-based learning applied to document recognition"),
//! d2l section 7.6, and LeNet with batch normalisation (Ioffe & Szegedy, 2015), d2l section 8.5.
//!
//! d2l's LeNet keeps the original's sigmoid activations and average pooling; its first
//! convolution pads by 2 so that 28x28 Fashion-MNIST images keep their size. The batch-norm
//! variant does not pad (28 -> 24) and puts a batch norm before every sigmoid.

use burn::config::Config;
use burn::nn::pool::AvgPool2dConfig;
use burn::tensor::Device;
use convzoo_blocks::init::{conv, conv_config, linear};
use convzoo_blocks::{AnyBatchNorm, BatchNormKind, Sequential, WeightInit};

use crate::SizeRule;
use crate::registry::{Arch, Architecture, ModelInfo, Recipe, common_fields};

/// `lenet`: d2l's LeNet.
pub const LENET: ModelInfo = ModelInfo {
    name: "lenet",
    title: "LeNet",
    d2l_section: "7.6",
    input: [1, 28, 28],
    recipe: Recipe::d2l(0.9, 256, 28),
    bench_batch: 256,
    pytorch: Some("lenet"),
    config: || Arch::LeNet(LeNetConfig::new()),
};

/// `lenet-bn`: LeNet with Burn's batch norm.
pub const LENET_BN: ModelInfo = ModelInfo {
    name: "lenet-bn",
    title: "LeNet with batch norm",
    d2l_section: "8.5",
    input: [1, 28, 28],
    recipe: Recipe::d2l(1.0, 256, 28),
    bench_batch: 256,
    pytorch: Some("bn_lenet"),
    config: || Arch::LeNetBn(LeNetBnConfig::new()),
};

/// `lenet-bn-scratch`: LeNet with d2l's batch norm from scratch.
pub const LENET_BN_SCRATCH: ModelInfo = ModelInfo {
    name: "lenet-bn-scratch",
    title: "LeNet with batch norm from scratch",
    d2l_section: "8.5",
    input: [1, 28, 28],
    recipe: Recipe::d2l(1.0, 256, 28),
    bench_batch: 256,
    pytorch: Some("bn_lenet"),
    config: || Arch::LeNetBn(LeNetBnConfig::new().with_batch_norm(BatchNormKind::Scratch)),
};

/// Configuration of d2l's LeNet on 28x28 images.
///
/// # Shapes
/// - input: `[N, in_channels, 28, 28]`
/// - output: `[N, num_classes]`
#[derive(Config, Debug)]
pub struct LeNetConfig {
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

impl Architecture for LeNetConfig {
    common_fields!();

    fn size_rule(&self) -> SizeRule {
        // The first linear layer takes 16 maps of 5x5.
        SizeRule::Exact(28)
    }

    fn build(&self, device: &Device) -> Sequential {
        let i = self.init;
        let pool = || AvgPool2dConfig::new([2, 2]).init();
        Sequential::new()
            .push(conv(&conv_config(self.in_channels, 6, 5, 1, 2), i, device))
            .sigmoid()
            .push(pool()) // N x 6 x 14 x 14
            .push(conv(&conv_config(6, 16, 5, 1, 0), i, device))
            .sigmoid()
            .push(pool()) // N x 16 x 5 x 5
            .flatten()
            .push(linear(16 * 5 * 5, 120, i, device))
            .sigmoid()
            .push(linear(120, 84, i, device))
            .sigmoid()
            .push(linear(84, self.num_classes, i, device))
    }
}

/// Configuration of d2l's LeNet with batch normalisation after every convolution and hidden
/// linear layer.
///
/// # Shapes
/// - input: `[N, in_channels, 28, 28]`
/// - output: `[N, num_classes]`
#[derive(Config, Debug)]
pub struct LeNetBnConfig {
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Number of classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Which batch-norm implementation to use.
    #[config(default = "BatchNormKind::Burn")]
    pub batch_norm: BatchNormKind,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
}

impl Architecture for LeNetBnConfig {
    common_fields!();

    fn set_batch_norm(&mut self, kind: BatchNormKind) {
        self.batch_norm = kind;
    }

    fn size_rule(&self) -> SizeRule {
        // The first linear layer takes 16 maps of 4x4.
        SizeRule::Exact(28)
    }

    fn build(&self, device: &Device) -> Sequential {
        let (i, k) = (self.init, self.batch_norm);
        let pool = || AvgPool2dConfig::new([2, 2]).init();
        let bn = |c| AnyBatchNorm::new(k, c, device);
        Sequential::new()
            .push(conv(&conv_config(self.in_channels, 6, 5, 1, 0), i, device))
            .push(bn(6))
            .sigmoid()
            .push(pool()) // N x 6 x 12 x 12
            .push(conv(&conv_config(6, 16, 5, 1, 0), i, device))
            .push(bn(16))
            .sigmoid()
            .push(pool()) // N x 16 x 4 x 4
            .flatten()
            .push(linear(16 * 4 * 4, 120, i, device))
            .push(bn(120))
            .sigmoid()
            .push(linear(120, 84, i, device))
            .push(bn(84))
            .sigmoid()
            .push(linear(84, self.num_classes, i, device))
    }
}
