//! The NiN block (d2l section 8.3): one convolution followed by two 1x1 convolutions, each with
//! ReLU — a per-pixel multilayer perceptron.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::init::{WeightInit, conv, conv_config};
use crate::probe::Probe;

/// Configuration of a [`NinBlock`].
#[derive(Config, Debug)]
pub struct NinBlockConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels of all three convolutions.
    pub out_channels: usize,
    /// Kernel size of the first convolution.
    pub kernel_size: usize,
    /// Stride of the first convolution.
    pub stride: usize,
    /// Padding of the first convolution.
    pub padding: usize,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
}

/// conv(k, stride, padding) + ReLU, then twice 1x1 conv + ReLU.
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, out_channels, (H + 2p - k) / s + 1, (W + 2p - k) / s + 1]`
#[derive(Module, Debug)]
pub struct NinBlock {
    /// The spatial convolution.
    pub conv: Conv2d,
    /// The first 1x1 convolution.
    pub conv1x1_a: Conv2d,
    /// The second 1x1 convolution.
    pub conv1x1_b: Conv2d,
}

impl NinBlockConfig {
    /// Output channels of the block.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Creates the block on `device`.
    pub fn init(&self, device: &Device) -> NinBlock {
        let (c_in, c) = (self.in_channels, self.out_channels);
        let spatial = conv_config(c_in, c, self.kernel_size, self.stride, self.padding);
        NinBlock {
            conv: conv(&spatial, self.init, device),
            conv1x1_a: conv(&conv_config(c, c, 1, 1, 0), self.init, device),
            conv1x1_b: conv(&conv_config(c, c, 1, 1, 0), self.init, device),
        }
    }
}

impl NinBlock {
    /// Applies the block. See the type's docs for shapes.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_probed(x, &mut Probe::off())
    }

    /// [`forward`](Self::forward), counting multiply-adds into `probe`.
    pub fn forward_probed(&self, x: Tensor<4>, probe: &mut Probe) -> Tensor<4> {
        let x = relu(probe.conv(&self.conv, x));
        let x = relu(probe.conv(&self.conv1x1_a, x));
        relu(probe.conv(&self.conv1x1_b, x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_follows_the_conv_arithmetic() {
        let device = Device::flex();
        let block = NinBlockConfig::new(1, 6, 11, 4, 0).init(&device);
        // (35 - 11) / 4 + 1 = 7, (38 - 11) / 4 + 1 = 7 (floor)
        let y = block.forward(Tensor::zeros([2, 1, 35, 38], &device));
        assert_eq!(y.dims(), [2, 6, 7, 7]);
        let y = block.forward(Tensor::from_floats([[[[-1.0; 11]; 11]]], &device));
        // ReLU closes the block: no negative output.
        let min: f32 = y.min().into_scalar();
        assert!(min >= 0.0);
    }
}
