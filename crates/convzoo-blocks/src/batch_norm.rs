//! Batch normalisation written from scratch, after d2l's `batch_norm` (section 8.5).
//!
//! Burn ships [`burn::nn::BatchNorm`]; this module spells the same computation out in tensor
//! operations so that it can be read next to the book, and the tests hold it to Burn's layer.

use burn::config::Config;
use burn::module::{Flag, Module, Param, RunningState};
use burn::tensor::{Device, Tensor};

/// Configuration of [`ScratchBatchNorm`].
#[derive(Config, Debug)]
pub struct ScratchBatchNormConfig {
    /// Number of features (channels), the size of axis 1 of the input.
    pub num_features: usize,
    /// Added to the variance before the square root. Default: 1e-5.
    #[config(default = 1e-5)]
    pub epsilon: f64,
    /// Weight of the batch statistic in the running average. Default: 0.1 (d2l's `momentum=0.9`
    /// weighs the old value; PyTorch's and Burn's `momentum=0.1` weighs the new one).
    #[config(default = 0.1)]
    pub momentum: f64,
    /// Update the running variance with the unbiased batch variance (`n / (n - 1)` times the
    /// biased one), as PyTorch's `nn.BatchNorm` does; d2l's from-scratch code and Burn's layer
    /// use the biased one. Normalisation always uses the biased variance. Default: false.
    #[config(default = false)]
    pub unbiased_running_var: bool,
}

/// Batch normalisation from tensor operations: batch statistics in training (on an autodiff
/// device), running statistics in inference.
///
/// # Shapes
/// - input: `[N, C]` or `[N, C, H, W]`
/// - output: same as the input
#[derive(Module, Debug)]
pub struct ScratchBatchNorm {
    /// Scale (gamma), initialised to ones.
    pub gamma: Param<Tensor<1>>,
    /// Shift (beta), initialised to zeros.
    pub beta: Param<Tensor<1>>,
    /// Whether the layer takes part in training (cleared by `Module::valid`/`freeze`).
    pub training: Param<Flag>,
    /// Running mean of the batch means.
    pub running_mean: RunningState<Tensor<1>>,
    /// Running mean of the (biased) batch variances.
    pub running_var: RunningState<Tensor<1>>,
    /// Weight of the batch statistic in the running average.
    pub momentum: f64,
    /// Added to the variance before the square root.
    pub epsilon: f64,
    /// Whether the running variance takes the unbiased batch variance (PyTorch's convention).
    pub unbiased_running_var: bool,
}

impl ScratchBatchNormConfig {
    /// Creates the layer on `device`.
    pub fn init(&self, device: &Device) -> ScratchBatchNorm {
        let c = self.num_features;
        ScratchBatchNorm {
            gamma: Param::from_tensor(Tensor::ones([c], device)),
            beta: Param::from_tensor(Tensor::zeros([c], device)),
            training: Param::from_bool(true),
            running_mean: RunningState::new(Tensor::zeros([c], device)),
            running_var: RunningState::new(Tensor::ones([c], device)),
            momentum: self.momentum,
            epsilon: self.epsilon,
            unbiased_running_var: self.unbiased_running_var,
        }
    }
}

impl ScratchBatchNorm {
    /// Normalises `x` per channel (axis 1). See the type's docs for shapes.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        assert!(D == 2 || D == 4, "batch norm takes [N, C] or [N, C, H, W]");
        let c = self.gamma.dims()[0];
        let device = x.device();
        // [C] -> [1, C] or [1, C, 1, 1], to broadcast over the other axes.
        let mut per_channel = [1usize; D];
        per_channel[1] = c;
        let (mean, var) = if device.is_autodiff() && self.training.is_enabled() {
            // Batch statistics over every axis but the channel axis (biased variance).
            let mut mean = x.clone();
            for axis in (0..D).filter(|&a| a != 1) {
                mean = mean.mean_dim(axis);
            }
            let mut var = (x.clone() - mean.clone()).powi_scalar(2);
            for axis in (0..D).filter(|&a| a != 1) {
                var = var.mean_dim(axis);
            }
            let n = x.dims().iter().product::<usize>() / c;
            self.update_running(&mean, &var, c, n);
            (mean, var)
        } else {
            (
                self.running_mean
                    .value()
                    .to_device(&device)
                    .reshape(per_channel),
                self.running_var
                    .value()
                    .to_device(&device)
                    .reshape(per_channel),
            )
        };
        let x_hat = (x - mean) / (var + self.epsilon).sqrt();
        x_hat * self.gamma.val().reshape(per_channel) + self.beta.val().reshape(per_channel)
    }

    fn update_running<const D: usize>(
        &self,
        mean: &Tensor<D>,
        var: &Tensor<D>,
        c: usize,
        n: usize,
    ) {
        let m = self.momentum;
        let correction = if self.unbiased_running_var && n > 1 {
            n as f64 / (n as f64 - 1.0)
        } else {
            1.0
        };
        let device = mean.device();
        let old_mean = self.running_mean.value_sync().to_device(&device);
        let old_var = self.running_var.value_sync().to_device(&device);
        let new_mean = old_mean * (1.0 - m) + mean.clone().detach().reshape([c]) * m;
        let new_var = old_var * (1.0 - m) + var.clone().detach().reshape([c]) * (m * correction);
        self.running_mean.update(new_mean.detach());
        self.running_var.update(new_var.detach());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::BatchNormConfig;
    use burn::tensor::{Distribution, Tolerance};

    fn assert_close<const D: usize>(a: Tensor<D>, b: Tensor<D>) {
        let diff: f32 = (a - b).abs().max().into_scalar();
        assert!(diff <= 1e-5, "max abs difference {diff}");
    }

    fn equals_burn_batch_norm<const D: usize>(shape: [usize; D]) {
        let device = Device::flex().autodiff();
        device.seed(11);
        let c = shape[1];
        let ours = ScratchBatchNormConfig::new(c).init(&device);
        let burn = BatchNormConfig::new(c).init(&device);
        // Several training steps, each updating the running statistics.
        for step in 0..4 {
            let x = Tensor::<D>::random(shape, Distribution::Normal(step as f64, 2.0), &device);
            assert_close(ours.forward(x.clone()), burn.forward(x));
        }
        assert_close(
            ours.running_mean.value_sync(),
            burn.running_mean.value_sync(),
        );
        assert_close(ours.running_var.value_sync(), burn.running_var.value_sync());
        // Inference mode uses the running statistics.
        let (ours, burn) = (ours.valid(), burn.valid());
        let x = Tensor::<D>::random(shape, Distribution::Normal(1.0, 3.0), &device.inner());
        let (a, b) = (ours.forward(x.clone()), burn.forward(x));
        a.to_data()
            .assert_approx_eq::<f32>(&b.to_data(), Tolerance::absolute(1e-5));
    }

    #[test]
    fn equals_burn_on_images() {
        equals_burn_batch_norm([5, 3, 7, 6]);
    }

    #[test]
    fn equals_burn_on_features() {
        equals_burn_batch_norm([9, 4]);
    }

    #[test]
    fn normalises_batch_in_training() {
        let device = Device::flex().autodiff();
        let bn = ScratchBatchNormConfig::new(2).init(&device);
        let x = Tensor::<2>::from_floats([[1.0, 10.0], [3.0, 30.0]], &device);
        let y = bn.forward(x);
        // Each column becomes (-1, 1) / sqrt(1 + eps) after centring and scaling.
        let expected =
            Tensor::<2>::from_floats([[-1.0, -1.0], [1.0, 1.0]], &device) / (1.0f64 + 1e-5).sqrt();
        assert_close(y, expected);
        // running_mean = 0.9 * 0 + 0.1 * (2, 20)
        assert_close(
            bn.running_mean.value_sync(),
            Tensor::from_floats([0.2, 2.0], &device),
        );
        // running_var = 0.9 * 1 + 0.1 * (1, 100) (biased batch variance, as d2l)
        assert_close(
            bn.running_var.value_sync(),
            Tensor::from_floats([1.0, 10.9], &device),
        );
    }
}
