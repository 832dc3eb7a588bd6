//! LeNet-5 (LeCun et al., 1998, "Gradient-based learning applied to document recognition"),
//! d2l section 7.6, and LeNet with batch normalisation (Ioffe & Szegedy, 2015), d2l section 8.5.
//!
//! d2l's LeNet keeps the original's sigmoid activations and average pooling; its first
//! convolution pads by 2 so that 28x28 Fashion-MNIST images keep their size. The batch-norm
//! variant does not pad (28 -> 24) and puts a batch norm before every sigmoid.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::tensor::{Device, Tensor};
use convzoo_blocks::activation::sigmoid;
use convzoo_blocks::init::{conv, conv_config, linear};
use convzoo_blocks::{AnyBatchNorm, BatchNormKind, Probe, WeightInit};

/// Configuration of [`LeNet`].
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

/// d2l's LeNet on 28x28 images.
///
/// # Shapes
/// - input: `[N, in_channels, 28, 28]`
/// - output: `[N, num_classes]`
#[derive(Module, Debug)]
pub struct LeNet {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: AvgPool2d,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
}

impl LeNetConfig {
    /// Creates the model on `device`.
    pub fn init(&self, device: &Device) -> LeNet {
        let i = self.init;
        LeNet {
            conv1: conv(&conv_config(self.in_channels, 6, 5, 1, 2), i, device),
            conv2: conv(&conv_config(6, 16, 5, 1, 0), i, device),
            pool: AvgPool2dConfig::new([2, 2]).init(),
            fc1: linear(16 * 5 * 5, 120, i, device),
            fc2: linear(120, 84, i, device),
            fc3: linear(84, self.num_classes, i, device),
        }
    }
}

impl LeNet {
    /// [`forward`](crate::Model::forward) with a probe recording every layer.
    pub fn forward_probed(&self, x: Tensor<4>, p: &mut Probe) -> Tensor<2> {
        let x = p.conv(&self.conv1, x); // N x 6 x 28 x 28
        let x = p.layer("conv1", x);
        let x = p.layer("sigmoid1", sigmoid(x));
        let x = p.layer("avgpool1", convzoo_blocks::conv::avg_pool(&self.pool, x)); // N x 6 x 14 x 14
        let x = p.conv(&self.conv2, x); // N x 16 x 10 x 10
        let x = p.layer("conv2", x);
        let x = p.layer("sigmoid2", sigmoid(x));
        let x = p.layer("avgpool2", convzoo_blocks::conv::avg_pool(&self.pool, x)); // N x 16 x 5 x 5
        let x = p.layer("flatten", x.flatten::<2>(1, 3)); // N x 400
        let x = p.linear(&self.fc1, x);
        let x = p.layer("fc1", x);
        let x = p.layer("sigmoid3", sigmoid(x));
        let x = p.linear(&self.fc2, x);
        let x = p.layer("fc2", x);
        let x = p.layer("sigmoid4", sigmoid(x));
        let x = p.linear(&self.fc3, x);
        p.layer("fc3", x) // N x num_classes
    }
}

/// Configuration of [`LeNetBn`].
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

/// d2l's LeNet with batch normalisation after every convolution and hidden linear layer.
///
/// # Shapes
/// - input: `[N, in_channels, 28, 28]`
/// - output: `[N, num_classes]`
#[derive(Module, Debug)]
pub struct LeNetBn {
    conv1: Conv2d,
    bn1: AnyBatchNorm,
    conv2: Conv2d,
    bn2: AnyBatchNorm,
    pool: AvgPool2d,
    fc1: Linear,
    bn3: AnyBatchNorm,
    fc2: Linear,
    bn4: AnyBatchNorm,
    fc3: Linear,
}

impl LeNetBnConfig {
    /// Creates the model on `device`.
    pub fn init(&self, device: &Device) -> LeNetBn {
        let (i, k) = (self.init, self.batch_norm);
        LeNetBn {
            conv1: conv(&conv_config(self.in_channels, 6, 5, 1, 0), i, device),
            bn1: AnyBatchNorm::new(k, 6, device),
            conv2: conv(&conv_config(6, 16, 5, 1, 0), i, device),
            bn2: AnyBatchNorm::new(k, 16, device),
            pool: AvgPool2dConfig::new([2, 2]).init(),
            fc1: linear(16 * 4 * 4, 120, i, device),
            bn3: AnyBatchNorm::new(k, 120, device),
            fc2: linear(120, 84, i, device),
            bn4: AnyBatchNorm::new(k, 84, device),
            fc3: linear(84, self.num_classes, i, device),
        }
    }
}

impl LeNetBn {
    /// [`forward`](crate::Model::forward) with a probe recording every layer.
    pub fn forward_probed(&self, x: Tensor<4>, p: &mut Probe) -> Tensor<2> {
        let x = p.conv(&self.conv1, x); // N x 6 x 24 x 24
        let x = p.layer("conv1", x);
        let x = p.layer("bn1", self.bn1.forward(x));
        let x = p.layer("sigmoid1", sigmoid(x));
        let x = p.layer("avgpool1", convzoo_blocks::conv::avg_pool(&self.pool, x)); // N x 6 x 12 x 12
        let x = p.conv(&self.conv2, x); // N x 16 x 8 x 8
        let x = p.layer("conv2", x);
        let x = p.layer("bn2", self.bn2.forward(x));
        let x = p.layer("sigmoid2", sigmoid(x));
        let x = p.layer("avgpool2", convzoo_blocks::conv::avg_pool(&self.pool, x)); // N x 16 x 4 x 4
        let x = p.layer("flatten", x.flatten::<2>(1, 3)); // N x 256
        let x = p.linear(&self.fc1, x);
        let x = p.layer("fc1", x);
        let x = p.layer("bn3", self.bn3.forward(x));
        let x = p.layer("sigmoid3", sigmoid(x));
        let x = p.linear(&self.fc2, x);
        let x = p.layer("fc2", x);
        let x = p.layer("bn4", self.bn4.forward(x));
        let x = p.layer("sigmoid4", sigmoid(x));
        let x = p.linear(&self.fc3, x);
        p.layer("fc3", x) // N x num_classes
    }
}
