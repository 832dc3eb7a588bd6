//! [`AnyBatchNorm`]: Burn's batch-norm layer or the from-scratch one, chosen by
//! [`BatchNormKind`], with the flex kernels' training path for Burn's.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::batch_norm::{ScratchBatchNorm, ScratchBatchNormConfig};
use crate::conv::Activation;

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

    /// `activation(forward(x) + residual)` (ResNet's block ending). In training on flex (the
    /// `flex-kernels` feature), for Burn's layer, the residual and the activation inside the
    /// batch norm kernel's passes each way; otherwise the three operations in turn.
    pub fn forward_residual<const D: usize>(
        &self,
        x: Tensor<D>,
        residual: Tensor<D>,
        activation: Activation,
    ) -> Tensor<D> {
        match self {
            #[cfg(feature = "flex-kernels")]
            Self::Burn(bn) if trains_on_kernels(bn, &x) => {
                burn_train(bn, x, Some(residual), activation)
            }
            _ => activation.apply(self.forward(x) + residual),
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
/// kernels ([`burn_train`]) when the `flex-kernels` feature is on.
fn burn_forward<const D: usize>(
    bn: &burn::nn::BatchNorm,
    x: Tensor<D>,
    activation: Activation,
) -> Tensor<D> {
    #[cfg(feature = "flex-kernels")]
    if trains_on_kernels(bn, &x) {
        return burn_train(bn, x, None, activation);
    }
    activation.apply(bn.forward(x))
}

/// Whether Burn's layer `bn` is training on `x` (an autodiff device, training mode): through
/// the flex kernels then.
#[cfg(feature = "flex-kernels")]
fn trains_on_kernels<const D: usize>(bn: &burn::nn::BatchNorm, x: &Tensor<D>) -> bool {
    x.device().is_autodiff() && bn.training.is_enabled()
}

/// Training-mode batch norm of Burn's layer `bn` by the flex kernels
/// ([`crate::flex::batch_norm_train`], the residual and the activation inside), with the running
/// statistics updated as Burn's layer does.
#[cfg(feature = "flex-kernels")]
fn burn_train<const D: usize>(
    bn: &burn::nn::BatchNorm,
    x: Tensor<D>,
    residual: Option<Tensor<D>>,
    activation: Activation,
) -> Tensor<D> {
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
    let (gamma, beta) = (bn.gamma.val(), bn.beta.val());
    let (y, mean, variance) = match residual {
        Some(r) => {
            crate::flex::batch_norm_train_residual(x, gamma, beta, r, bn.epsilon, kernel_activation)
        }
        None => crate::flex::batch_norm_train(x, gamma, beta, bn.epsilon, kernel_activation),
    };
    // The running statistics as Burn's layer keeps them (momentum-weighted, biased variance).
    let m = bn.momentum;
    let update = |state: &burn::module::RunningState<Tensor<1>>, batch: Tensor<1>| {
        let old = state.value_sync().to_device(&device);
        let new = old.mul_scalar(1.0 - m).add(batch.detach().mul_scalar(m));
        state.update(new.detach());
    };
    update(&bn.running_mean, mean);
    update(&bn.running_var, variance);
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::BatchNormConfig;
    use burn::tensor::Distribution;

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
}
