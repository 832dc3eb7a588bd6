//! The VGG block (d2l section 8.2): `num_convs` 3x3 convolutions with ReLU, then a 2x2 max-pool.

use burn::config::Config;
use burn::nn::pool::MaxPool2dConfig;
use burn::tensor::Device;

use crate::init::{WeightInit, conv, conv_config};
use crate::layer::Sequential;

/// Configuration of a VGG block (built as a [`Sequential`]).
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

impl VggBlockConfig {
    /// Output channels of the block.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Creates the block on `device`: `num_convs` x (3x3 conv, padding 1, ReLU), then a 2x2
    /// max-pool with stride 2, as one [`Sequential`] (PyTorch keys `0`, `2`, ... for the
    /// convolutions).
    ///
    /// # Shapes
    /// - input: `[N, in_channels, H, W]`
    /// - output: `[N, out_channels, H / 2, W / 2]`
    pub fn init(&self, device: &Device) -> Sequential {
        let mut block = Sequential::new();
        for i in 0..self.num_convs {
            let c_in = if i == 0 {
                self.in_channels
            } else {
                self.out_channels
            };
            let config = conv_config(c_in, self.out_channels, 3, 1, 1);
            block = block.push(conv(&config, self.init, device)).relu();
        }
        block.push(MaxPool2dConfig::new([2, 2]).init())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Features;
    use burn::module::Module;
    use burn::tensor::Tensor;

    #[test]
    fn halves_odd_sizes_and_sets_channels() {
        let device = Device::flex();
        let block = vgg_block(2, 3, 8).init(&device);
        assert_eq!(block.len(), 5, "conv, relu, conv, relu, pool");
        let y = block.forward(Features::Maps(Tensor::zeros([2, 3, 9, 7], &device)));
        assert_eq!(y.dims(), [2, 8, 4, 3]);
        // (3*9 + 1) * 8 + (8*9 + 1) * 8 parameters.
        assert_eq!(block.num_params(), 28 * 8 + 73 * 8);
    }
}
