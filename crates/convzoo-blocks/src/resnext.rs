//! The ResNeXt block (d2l section 8.6): a bottleneck residual block whose 3x3 convolution is
//! grouped. d2l's argument `groups` is the width of one group, so the 3x3 convolution has
//! `bottleneck / group_width` groups. Every convolution keeps its bias, as d2l's do.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor};

use crate::any_batch_norm::{AnyBatchNorm, BatchNormKind};
use crate::conv::Activation::{Identity, Relu};
use crate::init::{WeightInit, conv, conv_config};
use crate::probe::Probe;

/// Configuration of a [`ResNeXtBlock`] (d2l's `ResNeXtBlock(num_channels, groups, bot_mul,
/// use_1x1conv, strides)`, with the input channels that Burn's layers need).
#[derive(Config, Debug)]
pub struct ResNeXtBlockConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels (`num_channels` in d2l).
    pub out_channels: usize,
    /// Channels per group of the 3x3 convolution (`groups` in d2l).
    pub group_width: usize,
    /// Bottleneck ratio: the inner convolutions have `round(out_channels * bot_mul)` channels.
    #[config(default = 1.0)]
    pub bot_mul: f64,
    /// Whether the shortcut is a 1x1 convolution with batch norm (needed when channels or size
    /// change).
    #[config(default = false)]
    pub use_1x1conv: bool,
    /// Stride of the 3x3 convolution and of the shortcut.
    #[config(default = 1)]
    pub stride: usize,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
    /// Batch-norm implementation.
    #[config(default = "BatchNormKind::Burn")]
    pub batch_norm: BatchNormKind,
}

/// `relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x))`, `conv2` grouped.
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, out_channels, (H - 1) / stride + 1, (W - 1) / stride + 1]`
#[derive(Module, Debug)]
pub struct ResNeXtBlock {
    /// 1x1 convolution to the bottleneck width.
    pub conv1: Conv2d,
    /// Grouped 3x3 convolution, padding 1, stride `stride`.
    pub conv2: Conv2d,
    /// 1x1 convolution back to `out_channels`.
    pub conv3: Conv2d,
    /// Optional 1x1 shortcut convolution with stride `stride`.
    pub conv4: Option<Conv2d>,
    /// Batch norm after `conv1`.
    pub bn1: AnyBatchNorm,
    /// Batch norm after `conv2`.
    pub bn2: AnyBatchNorm,
    /// Batch norm after `conv3`.
    pub bn3: AnyBatchNorm,
    /// Batch norm after `conv4`.
    pub bn4: Option<AnyBatchNorm>,
}

impl ResNeXtBlockConfig {
    /// Output channels of the block.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Channels of the bottleneck: `round(out_channels * bot_mul)`, halves to even as Python's
    /// `round`.
    pub fn bottleneck_channels(&self) -> usize {
        (self.out_channels as f64 * self.bot_mul).round_ties_even() as usize
    }

    /// Number of groups of the 3x3 convolution: `bottleneck_channels / group_width`.
    pub fn groups(&self) -> usize {
        self.bottleneck_channels() / self.group_width.max(1)
    }

    /// Why the block cannot be built, if it cannot: a bottleneck of 0 channels, a group width
    /// of 0 or wider than the bottleneck, groups that do not divide the bottleneck, or an
    /// identity shortcut that would have to change channels or size.
    pub fn problem(&self) -> Option<String> {
        let (bot, width) = (self.bottleneck_channels(), self.group_width);
        let (c_in, c, s) = (self.in_channels, self.out_channels, self.stride);
        if bot == 0 {
            Some(format!(
                "the bottleneck round({c} * {}) has 0 channels",
                self.bot_mul
            ))
        } else if width == 0 || width > bot {
            Some(format!(
                "group width {width} must be between 1 and the bottleneck width {bot}"
            ))
        } else if !bot.is_multiple_of(bot / width) {
            Some(format!(
                "{} groups (bottleneck {bot} / group width {width}) do not divide the \
                 bottleneck's {bot} channels",
                bot / width
            ))
        } else if !self.use_1x1conv && (c_in != c || s != 1) {
            Some(format!(
                "ResNeXtBlock({c_in} -> {c}, stride {s}) needs use_1x1conv: the identity \
                 shortcut cannot change channels or size"
            ))
        } else if s == 0 {
            Some("stride 0".to_string())
        } else {
            None
        }
    }

    /// Creates the block on `device`.
    ///
    /// # Panics
    /// If [`problem`](Self::problem) finds one (model configurations check it first).
    pub fn init(&self, device: &Device) -> ResNeXtBlock {
        if let Some(problem) = self.problem() {
            panic!("{problem}");
        }
        let (c_in, c, s, bot) = (
            self.in_channels,
            self.out_channels,
            self.stride,
            self.bottleneck_channels(),
        );
        let bn = |channels| AnyBatchNorm::new(self.batch_norm, channels, device);
        let grouped = conv_config(bot, bot, 3, s, 1).with_groups(self.groups());
        ResNeXtBlock {
            conv1: conv(&conv_config(c_in, bot, 1, 1, 0), self.init, device),
            conv2: conv(&grouped, self.init, device),
            conv3: conv(&conv_config(bot, c, 1, 1, 0), self.init, device),
            conv4: self
                .use_1x1conv
                .then(|| conv(&conv_config(c_in, c, 1, s, 0), self.init, device)),
            bn1: bn(bot),
            bn2: bn(bot),
            bn3: bn(c),
            bn4: self.use_1x1conv.then(|| bn(c)),
        }
    }
}

impl ResNeXtBlock {
    /// Applies the block. See the type's docs for shapes.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_probed(x, &mut Probe::off())
    }

    /// [`forward`](Self::forward), counting multiply-adds into `probe`.
    pub fn forward_probed(&self, x: Tensor<4>, probe: &mut Probe) -> Tensor<4> {
        if crate::conv::fusing(&x, probe) {
            // Inference: each convolution with its batch norm, the sum and the ReLU in one pass.
            use crate::conv::fused;
            let y = fused(&self.conv1, Some(&self.bn1), None, Relu, x.clone());
            let y = fused(&self.conv2, Some(&self.bn2), None, Relu, y);
            let shortcut = match &self.conv4 {
                Some(c) => fused(c, self.bn4.as_ref(), None, Identity, x),
                None => x,
            };
            return fused(&self.conv3, Some(&self.bn3), Some(shortcut), Relu, y);
        }
        let y = probe.conv(&self.conv1, x.clone());
        let y = self.bn1.forward_activation(y, Relu);
        let y = probe.conv(&self.conv2, y);
        let y = self.bn2.forward_activation(y, Relu);
        let y = probe.conv(&self.conv3, y);
        let shortcut = match (&self.conv4, &self.bn4) {
            (Some(c), Some(bn)) => bn.forward(probe.conv(c, x)),
            (Some(c), None) => probe.conv(c, x),
            (None, _) => x,
        };
        self.bn3.forward_residual(y, shortcut, Relu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_bottleneck_shapes_and_parameters() {
        let device = Device::flex();
        // RegNetX-32's first block: 32 -> 32 channels, group width 16 (2 groups), stride 2.
        let config = ResNeXtBlockConfig::new(32, 32, 16)
            .with_use_1x1conv(true)
            .with_stride(2);
        assert_eq!((config.bottleneck_channels(), config.groups()), (32, 2));
        let block = config.init(&device);
        assert_eq!(block.conv2.weight.dims(), [32, 16, 3, 3]);
        let mut probe = Probe::on();
        let y = block.forward_probed(Tensor::zeros([2, 32, 9, 8], &device), &mut probe);
        assert_eq!(y.dims(), [2, 32, 5, 4]);
        // conv1, conv3, conv4: 32*32+32 each; conv2 32*16*9+32; four BNs of 2*32.
        assert_eq!(crate::count_parameters(&block), 3 * 1056 + 4640 + 4 * 64);
        // Per sample: 32*32 per pixel of conv1 (at 9x8), 32*16*9 + 32*32 + 32*32 at 5x4.
        assert_eq!(probe.macs, (72 * 1024 + 20 * (4608 + 1024 + 1024)) as u64);
    }

    #[test]
    fn identity_block_keeps_shape() {
        let device = Device::flex();
        let block = ResNeXtBlockConfig::new(80, 80, 16).init(&device);
        assert!(block.conv4.is_none() && block.bn4.is_none());
        assert_eq!(block.conv2.groups, 5);
        let y = block.forward(Tensor::ones([1, 80, 3, 3], &device));
        assert_eq!(y.dims(), [1, 80, 3, 3]);
    }

    #[test]
    fn python_rounding_of_the_bottleneck() {
        // round(5 * 0.5) = 2 in Python (half to even), 3 with f64::round.
        let config = ResNeXtBlockConfig::new(5, 5, 1).with_bot_mul(0.5);
        assert_eq!(config.bottleneck_channels(), 2);
    }

    #[test]
    fn bad_configurations_are_named() {
        let problem = |c: ResNeXtBlockConfig| c.problem().unwrap();
        assert!(
            problem(ResNeXtBlockConfig::new(8, 8, 4).with_bot_mul(0.01)).contains("0 channels")
        );
        assert!(problem(ResNeXtBlockConfig::new(8, 8, 16)).contains("group width 16"));
        assert!(problem(ResNeXtBlockConfig::new(8, 8, 0)).contains("group width 0"));
        // 50 / 16 = 3 groups, which do not divide 50.
        assert!(problem(ResNeXtBlockConfig::new(50, 50, 16)).contains("3 groups"));
        assert!(problem(ResNeXtBlockConfig::new(8, 16, 4)).contains("needs use_1x1conv"));
        assert!(ResNeXtBlockConfig::new(8, 8, 8).problem().is_none());
    }
}
