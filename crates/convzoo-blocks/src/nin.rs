//! The NiN block (d2l section 8.3): one convolution followed by two 1x1 convolutions, each with
//! ReLU — a per-pixel multilayer perceptron.

use burn::config::Config;
use burn::tensor::Device;

use crate::init::{WeightInit, conv, conv_config};
use crate::layer::Sequential;

/// Configuration of a NiN block (built as a [`Sequential`]).
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

impl NinBlockConfig {
    /// Output channels of the block.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Creates the block on `device`: conv(k, stride, padding) + ReLU, then twice 1x1 conv +
    /// ReLU, as one [`Sequential`] (PyTorch keys `0`, `2`, `4`).
    ///
    /// # Shapes
    /// - input: `[N, in_channels, H, W]`
    /// - output: `[N, out_channels, (H + 2p - k) / s + 1, (W + 2p - k) / s + 1]`
    pub fn init(&self, device: &Device) -> Sequential {
        let (c_in, c) = (self.in_channels, self.out_channels);
        let spatial = conv_config(c_in, c, self.kernel_size, self.stride, self.padding);
        let pointwise = conv_config(c, c, 1, 1, 0);
        Sequential::new()
            .push(conv(&spatial, self.init, device))
            .relu()
            .push(conv(&pointwise, self.init, device))
            .relu()
            .push(conv(&pointwise, self.init, device))
            .relu()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Features;
    use burn::tensor::Tensor;

    #[test]
    fn output_size_follows_the_conv_arithmetic() {
        let device = Device::flex();
        let block = NinBlockConfig::new(1, 6, 11, 4, 0).init(&device);
        // (35 - 11) / 4 + 1 = 7, (38 - 11) / 4 + 1 = 7 (floor)
        let y = block.forward(Features::Maps(Tensor::zeros([2, 1, 35, 38], &device)));
        assert_eq!(y.dims(), [2, 6, 7, 7]);
        let y = block
            .forward(Features::Maps(Tensor::from_floats(
                [[[[-1.0; 11]; 11]]],
                &device,
            )))
            .maps("test");
        // ReLU closes the block: no negative output.
        let min: f32 = y.min().into_scalar();
        assert!(min >= 0.0);
    }
}
