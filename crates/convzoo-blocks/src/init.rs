//! Layer constructors with d2l's initialisation.
//!
//! d2l's `init_cnn` draws conv and linear *weights* Xavier-uniform and leaves the biases at
//! PyTorch's default, `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`, which is Burn's default too. The
//! helpers here build a layer with Burn's default initialiser and, for [`WeightInit::Xavier`],
//! replace its weight by a Xavier-uniform one (parameters are initialised lazily, so nothing is
//! drawn twice).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// How conv and linear weights are initialised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WeightInit {
    /// d2l's `init_cnn`: Xavier-uniform weights, default biases (the d2l training recipe).
    #[default]
    Xavier,
    /// PyTorch's (and Burn's) default: Kaiming-uniform with gain `1/sqrt(3)`.
    Default,
}

/// Symmetric padding of `p` pixels on every side.
pub fn pad(p: usize) -> PaddingConfig2d {
    PaddingConfig2d::Explicit(p, p, p, p)
}

/// A square `k x k` convolution config from `c_in` to `c_out` channels, with stride `stride`
/// and symmetric padding `padding` (PyTorch's `nn.Conv2d(c_in, c_out, k, stride, padding)`).
pub fn conv_config(
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    padding: usize,
) -> Conv2dConfig {
    Conv2dConfig::new([c_in, c_out], [k, k])
        .with_stride([stride, stride])
        .with_padding(pad(padding))
}

/// Builds a convolution from `config`, initialised by `init`.
pub fn conv(config: &Conv2dConfig, init: WeightInit, device: &Device) -> Conv2d {
    let mut layer = config.init(device);
    if init == WeightInit::Xavier {
        let [c_in, c_out] = config.channels;
        let k: usize = config.kernel_size.iter().product();
        let shape = layer.weight.shape();
        layer.weight = Initializer::XavierUniform { gain: 1.0 }.init_with(
            shape,
            Some(c_in / config.groups * k),
            Some(c_out / config.groups * k),
            device,
        );
    }
    layer
}

/// Builds a fully connected layer `d_in -> d_out`, initialised by `init`.
pub fn linear(d_in: usize, d_out: usize, init: WeightInit, device: &Device) -> Linear {
    let config = LinearConfig::new(d_in, d_out);
    let mut layer = config.init(device);
    if init == WeightInit::Xavier {
        let shape = layer.weight.shape();
        layer.weight = Initializer::XavierUniform { gain: 1.0 }.init_with(
            shape,
            Some(d_in),
            Some(d_out),
            device,
        );
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xavier_weights_stay_in_their_bound_and_biases_keep_the_default_bound() {
        let device = Device::flex();
        device.seed(3);
        let layer = conv(&conv_config(1, 64, 3, 1, 1), WeightInit::Xavier, &device);
        // Xavier-uniform bound: sqrt(6 / (fan_in + fan_out)), fan = channels * 9.
        let bound = (6.0f32 / ((1 + 64) * 9) as f32).sqrt();
        let w: Vec<f32> = layer.weight.val().into_data().try_to_vec::<f32>().unwrap();
        let max = w.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            max <= bound && max > 0.9 * bound,
            "max {max}, bound {bound}"
        );
        // The default bias bound is 1/sqrt(fan_in) = 1/3, larger than the Xavier bound here.
        let b: Vec<f32> = layer
            .bias
            .unwrap()
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let bias_bound = 1.0 / 3.0;
        assert!(b.iter().all(|v| v.abs() <= bias_bound));
        assert!(
            b.iter().any(|v| v.abs() > bound),
            "biases look Xavier-initialised"
        );
    }

    #[test]
    fn linear_xavier_bound() {
        let device = Device::flex();
        let layer = linear(400, 120, WeightInit::Xavier, &device);
        let bound = (6.0f32 / 520.0).sqrt();
        let w: Vec<f32> = layer.weight.val().into_data().try_to_vec::<f32>().unwrap();
        assert!(w.iter().all(|v| v.abs() <= bound));
        assert_eq!(w.len(), 400 * 120);
    }
}
