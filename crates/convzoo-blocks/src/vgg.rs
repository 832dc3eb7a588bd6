//! The VGG block (d2l section 8.2): `num_convs` 3x3 convolutions with ReLU, then a 2x2 max-pool.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::init::{WeightInit, conv, conv_config};
use crate::probe::Probe;

/// Configuration of a [`VggBlock`].
#[derive(Config, Debug)]
pub struct VggBlockConfig {
    /// Number of 3x3 convolutions.
    pub num_convs: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels of every convolution.
    pub out_channels: usize,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
}

/// d2l's `vgg_block(num_convs, out_channels)`, with the input channels spelled out.
pub fn vgg_block(num_convs: usize, in_channels: usize, out_channels: usize) -> VggBlockConfig {
    VggBlockConfig::new(num_convs, in_channels, out_channels)
}

/// `num_convs` x (3x3 conv, padding 1, ReLU), then 2x2 max-pool with stride 2.
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, out_channels, H / 2, W / 2]`
#[derive(Module, Debug)]
pub struct VggBlock {
    /// The convolutions, in order.
    pub convs: Vec<Conv2d>,
    /// The closing 2x2 max-pool.
    pub pool: MaxPool2d,
}

impl VggBlockConfig {
    /// Output channels of the block.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Creates the block on `device`.
    pub fn init(&self, device: &Device) -> VggBlock {
        let convs = (0..self.num_convs)
            .map(|i| {
                let c_in = if i == 0 {
                    self.in_channels
                } else {
                    self.out_channels
                };
                conv(
                    &conv_config(c_in, self.out_channels, 3, 1, 1),
                    self.init,
                    device,
                )
            })
            .collect();
        VggBlock {
            convs,
            pool: MaxPool2dConfig::new([2, 2]).init(),
        }
    }
}

impl VggBlock {
    /// Applies the block. See the type's docs for shapes.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_probed(x, &mut Probe::off())
    }

    /// [`forward`](Self::forward), counting multiply-adds into `probe`.
    pub fn forward_probed(&self, x: Tensor<4>, probe: &mut Probe) -> Tensor<4> {
        let x = self.convs.iter().fold(x, |x, c| relu(probe.conv(c, x)));
        self.pool.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_odd_sizes_and_sets_channels() {
        let device = Device::flex();
        let block = vgg_block(2, 3, 8).init(&device);
        assert_eq!(block.convs.len(), 2);
        let y = block.forward(Tensor::zeros([2, 3, 9, 7], &device));
        assert_eq!(y.dims(), [2, 8, 4, 3]);
        // (3*9 + 1) * 8 + (8*9 + 1) * 8 parameters.
        assert_eq!(block.num_params(), 28 * 8 + 73 * 8);
    }
}
