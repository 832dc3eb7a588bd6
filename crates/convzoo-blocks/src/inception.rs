//! The Inception block of GoogLeNet (d2l section 8.4): four parallel branches concatenated on
//! the channel axis.

use burn::config::Config;
use burn::module::Module;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::{Device, Tensor};

use crate::activation::relu;
use crate::any_batch_norm::{AnyBatchNorm, BatchNormKind};
use crate::init::{WeightInit, conv, conv_config, pad};
use crate::layer::{Features, Layer, Sequential};
use crate::probe::Probe;
use burn::nn::conv::Conv2d;

/// Configuration of an [`Inception`] block: d2l's `Inception(c1, c2, c3, c4)`.
#[derive(Config, Debug)]
pub struct InceptionConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Branch 1: output channels of its 1x1 convolution.
    pub c1: usize,
    /// Branch 2: channels of the 1x1 reduction, then of the 3x3 convolution.
    pub c2: (usize, usize),
    /// Branch 3: channels of the 1x1 reduction, then of the 5x5 convolution.
    pub c3: (usize, usize),
    /// Branch 4: output channels of the 1x1 convolution after the 3x3 max-pool.
    pub c4: usize,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
    /// A batch norm of this kind after every convolution, before its ReLU (GoogLeNet with
    /// batch norm); `None` for d2l's GoogLeNet.
    pub batch_norm: Option<BatchNormKind>,
}

/// Four branches, each ending in ReLU, concatenated on the channel axis:
/// 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 max-pool -> 1x1.
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, c1 + c2.1 + c3.1 + c4, H, W]`
#[derive(Module, Debug)]
pub struct Inception {
    /// Branch 1: 1x1.
    pub b1_1: ConvUnit,
    /// Branch 2: 1x1 reduction.
    pub b2_1: ConvUnit,
    /// Branch 2: 3x3, padding 1.
    pub b2_2: ConvUnit,
    /// Branch 3: 1x1 reduction.
    pub b3_1: ConvUnit,
    /// Branch 3: 5x5, padding 2.
    pub b3_2: ConvUnit,
    /// Branch 4: 3x3 max-pool, stride 1, padding 1.
    pub b4_1: MaxPool2d,
    /// Branch 4: 1x1.
    pub b4_2: ConvUnit,
}

/// A branch convolution of an [`Inception`] block: alone (PyTorch key `b1_1.weight`), or with
/// its batch norm (`b1_1.0.weight`, `b1_1.1.weight`).
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum ConvUnit {
    /// The convolution.
    Conv(Conv2d),
    /// The convolution, then its batch norm.
    ConvBn(Sequential),
}

impl ConvUnit {
    /// Applies the unit, counting multiply-adds into `probe`.
    pub fn forward_probed(&self, x: Tensor<4>, probe: &mut Probe) -> Tensor<4> {
        match self {
            Self::Conv(c) => probe.conv(c, x),
            Self::ConvBn(s) => s.run(Features::Maps(x), probe).maps("ConvBn"),
        }
    }

    /// `relu(forward_probed(x))`; in inference ([`crate::conv::fusing`]) one pass.
    pub fn forward_relu(&self, x: Tensor<4>, probe: &mut Probe) -> Tensor<4> {
        if crate::conv::fusing(&x, probe) {
            let (conv, bn) = match self {
                Self::Conv(c) => (Some(c), None),
                Self::ConvBn(s) => match (s.layers.first(), s.layers.get(1)) {
                    (Some(Layer::Conv(c)), Some(Layer::BatchNorm(bn))) => (Some(c), Some(bn)),
                    _ => (None, None),
                },
            };
            if let Some(conv) = conv {
                return crate::conv::fused(conv, bn, None, crate::conv::Activation::Relu, x);
            }
        }
        relu(self.forward_probed(x, probe))
    }
}

impl InceptionConfig {
    /// Output channels: the sum of the four branches'.
    pub fn out_channels(&self) -> usize {
        self.c1 + self.c2.1 + self.c3.1 + self.c4
    }

    /// Creates the block on `device`.
    pub fn init(&self, device: &Device) -> Inception {
        let c_in = self.in_channels;
        // A convolution, or a convolution and its batch norm (PyTorch keys `0` and `1`).
        let make = |c_in, c_out, k, p| {
            let layer = conv(&conv_config(c_in, c_out, k, 1, p), self.init, device);
            match self.batch_norm {
                None => ConvUnit::Conv(layer),
                Some(kind) => ConvUnit::ConvBn(
                    Sequential::new()
                        .push(layer)
                        .push(AnyBatchNorm::new(kind, c_out, device)),
                ),
            }
        };
        Inception {
            b1_1: make(c_in, self.c1, 1, 0),
            b2_1: make(c_in, self.c2.0, 1, 0),
            b2_2: make(self.c2.0, self.c2.1, 3, 1),
            b3_1: make(c_in, self.c3.0, 1, 0),
            b3_2: make(self.c3.0, self.c3.1, 5, 2),
            b4_1: MaxPool2dConfig::new([3, 3])
                .with_strides([1, 1])
                .with_padding(pad(1))
                .init(),
            b4_2: make(c_in, self.c4, 1, 0),
        }
    }
}

impl Inception {
    /// Applies the block. See the type's docs for shapes.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_probed(x, &mut Probe::off())
    }

    /// [`forward`](Self::forward), counting multiply-adds into `probe`.
    pub fn forward_probed(&self, x: Tensor<4>, probe: &mut Probe) -> Tensor<4> {
        let mut branch = |unit: &ConvUnit, x| unit.forward_relu(x, probe);
        let b1 = branch(&self.b1_1, x.clone());
        let b2 = branch(&self.b2_1, x.clone());
        let b2 = branch(&self.b2_2, b2);
        let b3 = branch(&self.b3_1, x.clone());
        let b3 = branch(&self.b3_2, b3);
        let b4 = branch(&self.b4_2, crate::conv::max_pool(&self.b4_1, x));
        Tensor::cat(vec![b1, b2, b3, b4], 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_odd_spatial_sizes_and_sums_channels() {
        let device = Device::flex();
        let config = InceptionConfig::new(5, 2, (3, 4), (1, 3), 6);
        assert_eq!(config.out_channels(), 15);
        let y = config
            .init(&device)
            .forward(Tensor::zeros([2, 5, 7, 5], &device));
        assert_eq!(y.dims(), [2, 15, 7, 5]);
    }

    #[test]
    fn first_googlenet_inception_counts_as_in_the_book() {
        let device = Device::flex();
        let block = InceptionConfig::new(192, 64, (96, 128), (16, 32), 32).init(&device);
        let mut probe = Probe::on();
        let y = block.forward_probed(Tensor::zeros([1, 192, 28, 28], &device), &mut probe);
        assert_eq!(y.dims(), [1, 256, 28, 28]);
        // 64*192 + 96*192 + 128*96*9 + 16*192 + 32*16*25 + 32*192 weights, plus 368 biases.
        assert_eq!(block.num_params(), 163_696);
        // Multiply-adds: the weights (without biases) times 28 * 28 output positions.
        assert_eq!(probe.macs, (163_696 - 368) * 784);
    }
}
