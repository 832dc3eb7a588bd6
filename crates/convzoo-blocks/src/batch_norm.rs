//! Batch normalisation written from scratch, after d2l's `batch_norm` (section 8.5).
//!
//! Burn ships [`burn::nn::BatchNorm`]; this module spells the same computation out in tensor
//! operations so that it can be read next to the book, and the tests hold it to Burn's layer.

use burn::config::Config;
use burn::module::{Flag, Module, Param, RunningState};
use burn::tensor::{Device, Tensor};

use crate::conv::Activation;

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

    /// `AnyBatchNorm::Burn` (through the flex kernels when they are compiled in) against Burn's
    /// layer: outputs and running statistics over three training steps, then inference.
    #[test]
    fn burn_kind_keeps_burns_running_statistics() {
        let device = Device::flex().autodiff();
        device.seed(4);
        // Two separate layers (clones would share their running state); the init is constant.
        let theirs = BatchNormConfig::new(5).with_momentum(0.3).init(&device);
        let ours = AnyBatchNorm::Burn(BatchNormConfig::new(5).with_momentum(0.3).init(&device));
        for step in 0..3 {
            let x = Tensor::<4>::random(
                [6, 5, 4, 3],
                Distribution::Normal(step as f64, 2.0),
                &device,
            );
            assert_close(ours.forward(x.clone()), theirs.forward(x));
        }
        let AnyBatchNorm::Burn(bn) = &ours else {
            unreachable!()
        };
        assert_close(bn.running_mean.value(), theirs.running_mean.value());
        assert_close(bn.running_var.value(), theirs.running_var.value());
        let x = Tensor::<4>::random(
            [2, 5, 4, 3],
            Distribution::Normal(0.0, 1.0),
            &Device::flex(),
        );
        let (ours, theirs) = (ours.valid(), theirs.valid());
        assert_close(ours.forward(x.clone()), theirs.forward(x));
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

/// Which batch-norm implementation a model uses (serialised as `burn`, `scratch`, `pytorch`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchNormKind {
    /// Burn's [`burn::nn::BatchNorm`].
    #[default]
    Burn,
    /// [`ScratchBatchNorm`], written from tensor operations (d2l section 8.5).
    Scratch,
    /// [`ScratchBatchNorm`] with PyTorch's running variance (unbiased), for exact parity with
    /// `nn.BatchNorm` in training mode.
    PyTorch,
}

/// A batch-norm layer of either implementation (see [`BatchNormKind`]).
#[derive(Module, Debug)]
pub enum AnyBatchNorm {
    /// Burn's layer.
    Burn(burn::nn::BatchNorm),
    /// The from-scratch layer.
    Scratch(ScratchBatchNorm),
}

impl std::str::FromStr for BatchNormKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "burn" => Ok(Self::Burn),
            "scratch" => Ok(Self::Scratch),
            "pytorch" => Ok(Self::PyTorch),
            other => Err(format!(
                "unknown batch norm '{other}'; choose one of: burn, scratch, pytorch"
            )),
        }
    }
}

impl AnyBatchNorm {
    /// Creates a batch norm over `num_features` channels of the given kind.
    pub fn new(kind: BatchNormKind, num_features: usize, device: &Device) -> Self {
        match kind {
            BatchNormKind::Burn => {
                Self::Burn(burn::nn::BatchNormConfig::new(num_features).init(device))
            }
            BatchNormKind::Scratch => {
                Self::Scratch(ScratchBatchNormConfig::new(num_features).init(device))
            }
            BatchNormKind::PyTorch => Self::Scratch(
                ScratchBatchNormConfig::new(num_features)
                    .with_unbiased_running_var(true)
                    .init(device),
            ),
        }
    }

    /// Normalises `x` (`[N, C]` or `[N, C, H, W]`).
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.forward_relu(x, false)
    }

    /// [`forward`](Self::forward), then a ReLU with `relu` (as [`forward_activation`]).
    ///
    /// [`forward_activation`]: Self::forward_activation
    pub fn forward_relu<const D: usize>(&self, x: Tensor<D>, relu: bool) -> Tensor<D> {
        let activation = if relu {
            Activation::Relu
        } else {
            Activation::Identity
        };
        self.forward_activation(x, activation)
    }

    /// [`forward`](Self::forward), then `activation`. On flex (the `flex-kernels` feature):
    /// in inference one parallel pass of [`inference_affine`]'s scale and shift (with the ReLU);
    /// in training, for Burn's layer, the activation inside the batch norm kernel's passes each
    /// way.
    ///
    /// [`inference_affine`]: Self::inference_affine
    pub fn forward_activation<const D: usize>(
        &self,
        x: Tensor<D>,
        activation: Activation,
    ) -> Tensor<D> {
        #[cfg(feature = "flex-kernels")]
        if activation != Activation::Sigmoid && crate::flex::fusing(&x) && self.on_plain_flex() {
            let [scale, shift] = self.inference_affine(&x.device());
            return crate::flex::channel_affine(x, scale, shift, activation == Activation::Relu);
        }
        match self {
            Self::Burn(bn) => burn_forward(bn, x, activation),
            Self::Scratch(bn) => activation.apply(bn.forward(x)),
        }
    }

    /// `(gamma, beta, running_mean, running_var, epsilon)`, whichever the implementation.
    pub fn parts(&self) -> (Tensor<1>, Tensor<1>, Tensor<1>, Tensor<1>, f64) {
        match self {
            Self::Burn(bn) => (
                bn.gamma.val(),
                bn.beta.val(),
                bn.running_mean.value(),
                bn.running_var.value(),
                bn.epsilon,
            ),
            Self::Scratch(bn) => (
                bn.gamma.val(),
                bn.beta.val(),
                bn.running_mean.value(),
                bn.running_var.value(),
                bn.epsilon,
            ),
        }
    }

    /// Whether the parameters are on flex without autodiff (with the `flex-kernels` feature;
    /// always false without it): the fused inference passes apply only then.
    pub fn on_plain_flex(&self) -> bool {
        #[cfg(feature = "flex-kernels")]
        {
            crate::flex::fusing(&self.parts().0)
        }
        #[cfg(not(feature = "flex-kernels"))]
        false
    }

    /// The layer in inference as a per-channel scale and shift `[C]`: `gamma / sqrt(running_var
    /// + epsilon)` and `beta - running_mean * scale`, on `device`.
    pub fn inference_affine(&self, device: &Device) -> [Tensor<1>; 2] {
        let (gamma, beta, mean, var, epsilon) = self.parts();
        let [gamma, beta, mean, var] = [gamma, beta, mean, var].map(|t| t.to_device(device));
        let scale = gamma / (var + epsilon).sqrt();
        let shift = beta - mean * scale.clone();
        [scale, shift]
    }
}

/// Burn's `BatchNorm::forward` and `activation`, with the training path through the flex
/// kernels ([`crate::flex::batch_norm_train`], the activation inside) when the `flex-kernels`
/// feature is on.
fn burn_forward<const D: usize>(
    bn: &burn::nn::BatchNorm,
    x: Tensor<D>,
    activation: Activation,
) -> Tensor<D> {
    #[cfg(feature = "flex-kernels")]
    if x.device().is_autodiff() && bn.training.is_enabled() {
        let [channels] = bn.gamma.dims();
        assert!(
            D >= 2 && x.dims()[1] == channels,
            "batch norm over {channels} channels got an input of shape {:?}",
            x.dims()
        );
        let device = x.device();
        let kernel_activation = match activation {
            Activation::Identity => crate::flex::Activation::Identity,
            Activation::Relu => crate::flex::Activation::Relu,
            Activation::Sigmoid => crate::flex::Activation::Sigmoid,
        };
        let (y, mean, variance) = crate::flex::batch_norm_train(
            x,
            bn.gamma.val(),
            bn.beta.val(),
            bn.epsilon,
            kernel_activation,
        );
        // The running statistics as Burn's layer keeps them (momentum-weighted, biased variance).
        let m = bn.momentum;
        let update = |state: &burn::module::RunningState<Tensor<1>>, batch: Tensor<1>| {
            let old = state.value_sync().to_device(&device);
            let new = old.mul_scalar(1.0 - m).add(batch.detach().mul_scalar(m));
            state.update(new.detach());
        };
        update(&bn.running_mean, mean);
        update(&bn.running_var, variance);
        return y;
    }
    activation.apply(bn.forward(x))
}
