//! The dense block and transition block of DenseNet (d2l section 8.7).

use burn::config::Config;
use burn::module::Module;
use burn::nn::pool::AvgPool2dConfig;
use burn::tensor::{Device, Tensor};

use crate::any_batch_norm::{AnyBatchNorm, BatchNormKind};
use crate::init::{WeightInit, conv, conv_config};
use crate::layer::Sequential;
use crate::probe::Probe;

/// d2l's `conv_block`: batch norm, ReLU, then a `k x k` convolution with padding `k / 2`
/// (PyTorch keys `0` and `2`).
pub fn bn_relu_conv(
    c_in: usize,
    c_out: usize,
    k: usize,
    init: WeightInit,
    batch_norm: BatchNormKind,
    device: &Device,
) -> Sequential {
    Sequential::new()
        .push(AnyBatchNorm::new(batch_norm, c_in, device))
        .relu()
        .push(conv(&conv_config(c_in, c_out, k, 1, k / 2), init, device))
}

/// Configuration of a [`DenseBlock`].
#[derive(Config, Debug)]
pub struct DenseBlockConfig {
    /// Number of BN-ReLU-conv units.
    pub num_convs: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels of each unit (the growth rate; `num_channels` in d2l).
    pub growth_rate: usize,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
    /// Batch-norm implementation.
    #[config(default = "BatchNormKind::Burn")]
    pub batch_norm: BatchNormKind,
}

/// Each unit sees the concatenation of the block's input and all earlier units' outputs.
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, in_channels + num_convs * growth_rate, H, W]`
#[derive(Module, Debug)]
pub struct DenseBlock {
    /// The BN-ReLU-conv3x3 units, in order (d2l's `net`).
    pub net: Sequential,
}

impl DenseBlockConfig {
    /// Output channels: input plus `num_convs` times the growth rate.
    pub fn out_channels(&self) -> usize {
        self.in_channels + self.num_convs * self.growth_rate
    }

    /// Creates the block on `device`.
    pub fn init(&self, device: &Device) -> DenseBlock {
        let net = (0..self.num_convs).fold(Sequential::new(), |net, i| {
            let c_in = self.in_channels + i * self.growth_rate;
            net.push(bn_relu_conv(
                c_in,
                self.growth_rate,
                3,
                self.init,
                self.batch_norm,
                device,
            ))
        });
        DenseBlock { net }
    }
}

impl DenseBlock {
    /// Applies the block. See the type's docs for shapes.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_probed(x, &mut Probe::off())
    }

    /// [`forward`](Self::forward), counting multiply-adds into `probe`.
    pub fn forward_probed(&self, x: Tensor<4>, probe: &mut Probe) -> Tensor<4> {
        #[cfg(feature = "flex-kernels")]
        if !probe.is_on()
            && crate::flex::fusing(&x)
            && let Some(units) = self.units()
        {
            return forward_parts(&units, x);
        }
        self.net.layers.iter().fold(x, |x, unit| {
            let y = unit.forward_maps(x.clone(), probe);
            cat_channels(x, y)
        })
    }

    /// Each unit's batch norm and convolution, where every unit is `bn_relu_conv`'s and its
    /// parameters are on flex without autodiff.
    #[cfg(feature = "flex-kernels")]
    fn units(&self) -> Option<Vec<(&AnyBatchNorm, &burn::nn::conv::Conv2d)>> {
        self.net.layers.iter().map(unit).collect()
    }
}

/// A unit's batch norm and convolution, if it is `bn_relu_conv`'s with its parameters on flex
/// without autodiff.
#[cfg(feature = "flex-kernels")]
fn unit(layer: &crate::layer::Layer) -> Option<(&AnyBatchNorm, &burn::nn::conv::Conv2d)> {
    use crate::layer::Layer;
    match layer {
        Layer::Seq(seq) => match seq.layers.as_slice() {
            [Layer::BatchNorm(bn), Layer::Relu(_), Layer::Conv(conv)] if bn.on_plain_flex() => {
                Some((bn, conv))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The block in inference on flex without concatenating each unit's input: a unit's batch norm
/// and ReLU read the block's input and the earlier units' outputs where they lie (one pass that
/// writes the convolution's input), and the block's output is concatenated once, at the end.
#[cfg(feature = "flex-kernels")]
fn forward_parts(units: &[(&AnyBatchNorm, &burn::nn::conv::Conv2d)], x: Tensor<4>) -> Tensor<4> {
    use crate::conv::{Activation, fused};
    let device = x.device();
    let mut parts = vec![x];
    for (bn, conv) in units {
        let [scale, shift] = bn.inference_affine(&device);
        let z = crate::flex::channel_affine_cat(parts.clone(), scale, shift, true);
        parts.push(fused(conv, None, None, Activation::Identity, z));
    }
    crate::flex::cat_channels_all(parts)
}

/// `x` and `y` concatenated along the channels: samples copied in parallel on flex with the
/// `flex-kernels` feature ([`crate::flex::cat_channels`]), Burn's `Tensor::cat` otherwise.
fn cat_channels(x: Tensor<4>, y: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex-kernels")]
    {
        crate::flex::cat_channels(x, y)
    }
    #[cfg(not(feature = "flex-kernels"))]
    {
        Tensor::cat(vec![x, y], 1)
    }
}

/// Configuration of a transition block: batch norm, ReLU, 1x1 convolution, then 2x2 average
/// pooling with stride 2 (d2l's `transition_block`).
#[derive(Config, Debug)]
pub struct TransitionBlockConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels (d2l halves the channels).
    pub out_channels: usize,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
    /// Batch-norm implementation.
    #[config(default = "BatchNormKind::Burn")]
    pub batch_norm: BatchNormKind,
}

impl TransitionBlockConfig {
    /// Output channels of the block.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Creates the block on `device` (PyTorch keys `0` and `2`).
    ///
    /// # Shapes
    /// - input: `[N, in_channels, H, W]`
    /// - output: `[N, out_channels, H / 2, W / 2]`
    pub fn init(&self, device: &Device) -> Sequential {
        let unit = bn_relu_conv(
            self.in_channels,
            self.out_channels,
            1,
            self.init,
            self.batch_norm,
            device,
        );
        unit.push(AvgPool2dConfig::new([2, 2]).init())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Features;

    #[test]
    fn dense_block_grows_channels_like_the_book() {
        // d2l: DenseBlock(2, 10) on 3 input channels gives 3 + 2 * 10 = 23 channels.
        let device = Device::flex();
        let config = DenseBlockConfig::new(2, 3, 10);
        assert_eq!(config.out_channels(), 23);
        let y = config
            .init(&device)
            .forward(Tensor::zeros([4, 3, 8, 8], &device));
        assert_eq!(y.dims(), [4, 23, 8, 8]);
    }

    /// In inference on flex (each unit's input read where its parts lie, with the flex
    /// kernels) as with a probe on (the units' inputs concatenated one by one).
    #[cfg(feature = "flex-kernels")]
    #[test]
    fn inference_without_the_concatenations_gives_the_same_values() {
        let device = Device::flex();
        let block = DenseBlockConfig::new(3, 4, 5).init(&device);
        let x = Tensor::<4>::random(
            [2, 4, 6, 6],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let fast = block.forward(x.clone());
        let plain = block.forward_probed(x, &mut Probe::on());
        assert_eq!(fast.dims(), [2, 19, 6, 6]);
        let (fast, plain) = (crate::testing::values(fast), crate::testing::values(plain));
        crate::testing::assert_close("dense block", &fast, &plain, 1e-5);
    }

    #[test]
    fn transition_halves_odd_sizes() {
        // d2l: transition_block(10) on the 23-channel output gives [4, 10, 4, 4].
        let device = Device::flex();
        let block = TransitionBlockConfig::new(23, 10).init(&device);
        let run = |shape: [usize; 4]| block.forward(Features::Maps(Tensor::zeros(shape, &device)));
        assert_eq!(run([4, 23, 8, 8]).dims(), [4, 10, 4, 4]);
        assert_eq!(run([1, 23, 7, 9]).dims(), [1, 10, 3, 4]);
    }
}
