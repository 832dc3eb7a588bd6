//! The residual block of ResNet (d2l section 8.6), exactly as d2l writes it: both 3x3
//! convolutions keep their bias, and the optional 1x1 shortcut convolution has no batch norm.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor};

use crate::any_batch_norm::{AnyBatchNorm, BatchNormKind};
use crate::init::{WeightInit, conv, conv_config};
use crate::probe::Probe;

/// Configuration of a [`Residual`] block.
#[derive(Config, Debug)]
pub struct ResidualConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels (`num_channels` in d2l).
    pub out_channels: usize,
    /// Whether the shortcut is a 1x1 convolution (needed when channels or size change).
    #[config(default = false)]
    pub use_1x1conv: bool,
    /// Stride of the first 3x3 convolution and of the shortcut.
    #[config(default = 1)]
    pub stride: usize,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
    /// Batch-norm implementation.
    #[config(default = "BatchNormKind::Burn")]
    pub batch_norm: BatchNormKind,
}

/// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, out_channels, (H - 1) / stride + 1, (W - 1) / stride + 1]`
#[derive(Module, Debug)]
pub struct Residual {
    /// 3x3 convolution, padding 1, stride `stride`.
    pub conv1: Conv2d,
    /// 3x3 convolution, padding 1.
    pub conv2: Conv2d,
    /// Optional 1x1 shortcut convolution with stride `stride`.
    pub conv3: Option<Conv2d>,
    /// Batch norm after `conv1`.
    pub bn1: AnyBatchNorm,
    /// Batch norm after `conv2`.
    pub bn2: AnyBatchNorm,
}

impl ResidualConfig {
    /// Output channels of the block.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Creates the block on `device`.
    ///
    /// # Panics
    /// If the shortcut is the identity but channels or size change: `in_channels !=
    /// out_channels` or `stride != 1` need `use_1x1conv`.
    pub fn init(&self, device: &Device) -> Residual {
        let (c_in, c, s) = (self.in_channels, self.out_channels, self.stride);
        assert!(
            self.use_1x1conv || (c_in == c && s == 1),
            "Residual({c_in} -> {c}, stride {s}) needs use_1x1conv: the identity shortcut \
             cannot change channels or size"
        );
        Residual {
            conv1: conv(&conv_config(c_in, c, 3, s, 1), self.init, device),
            conv2: conv(&conv_config(c, c, 3, 1, 1), self.init, device),
            conv3: self
                .use_1x1conv
                .then(|| conv(&conv_config(c_in, c, 1, s, 0), self.init, device)),
            bn1: AnyBatchNorm::new(self.batch_norm, c, device),
            bn2: AnyBatchNorm::new(self.batch_norm, c, device),
        }
    }
}

impl Residual {
    /// Applies the block. See the type's docs for shapes.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_probed(x, &mut Probe::off())
    }

    /// [`forward`](Self::forward), counting multiply-adds into `probe`.
    pub fn forward_probed(&self, x: Tensor<4>, probe: &mut Probe) -> Tensor<4> {
        if crate::conv::fusing(&x, probe) {
            // Inference: three passes over outputs instead of nine.
            use crate::conv::Activation::{Identity, Relu};
            let y = crate::conv::fused(&self.conv1, Some(&self.bn1), None, Relu, x.clone());
            let shortcut = match &self.conv3 {
                Some(c) => crate::conv::fused(c, None, None, Identity, x),
                None => x,
            };
            return crate::conv::fused(&self.conv2, Some(&self.bn2), Some(shortcut), Relu, y);
        }
        let y = probe.conv(&self.conv1, x.clone());
        let y = self
            .bn1
            .forward_activation(y, crate::conv::Activation::Relu);
        let y = probe.conv(&self.conv2, y);
        let shortcut = match &self.conv3 {
            Some(c) => probe.conv(c, x),
            None => x,
        };
        // In training on flex, the add and the ReLU inside bn2's passes.
        self.bn2
            .forward_residual(y, shortcut, crate::conv::Activation::Relu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_downsampling_blocks() {
        let device = Device::flex();
        let same = ResidualConfig::new(3, 3).init(&device);
        assert!(same.conv3.is_none());
        assert_eq!(
            same.forward(Tensor::zeros([2, 3, 7, 5], &device)).dims(),
            [2, 3, 7, 5]
        );
        let down = ResidualConfig::new(3, 6)
            .with_use_1x1conv(true)
            .with_stride(2)
            .init(&device);
        assert_eq!(
            down.forward(Tensor::zeros([2, 3, 7, 5], &device)).dims(),
            [2, 6, 4, 3]
        );
        // conv1 3*9*6+6, conv2 6*9*6+6, conv3 3*6+6, two BNs of 2*6.
        assert_eq!(crate::count_parameters(&down), 168 + 330 + 24 + 24);
    }

    #[test]
    #[should_panic(expected = "needs use_1x1conv")]
    fn identity_shortcut_cannot_change_channels() {
        ResidualConfig::new(3, 6).init(&Device::flex());
    }
}
