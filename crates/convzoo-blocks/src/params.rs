//! Parameter counting as PyTorch does it: trainable tensors only.
//!
//! Burn's `Module::num_params` also counts batch-norm running statistics (they are module
//! state visited like parameters); `model.parameters()` in PyTorch does not, and d2l's figures
//! follow PyTorch.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// Names of the buffers that are module state, not parameters.
const BUFFERS: [&str; 2] = ["running_mean", "running_var"];

#[derive(Default)]
struct Counter {
    path: Vec<String>,
    count: usize,
}

impl ModuleVisitor for Counter {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let is_buffer = self
            .path
            .last()
            .is_some_and(|n| BUFFERS.contains(&n.as_str()));
        if !is_buffer {
            self.count += param.lazy_shape().num_elements();
        }
    }
}

/// Number of trainable parameters of `module`, as PyTorch's `parameters()` counts them.
pub fn count_parameters<M: Module>(module: &M) -> usize {
    let mut counter = Counter::default();
    module.visit(&mut counter);
    counter.count
}

#[derive(Default)]
struct Largest {
    path: Vec<String>,
    best: Option<(String, usize)>,
}

impl ModuleVisitor for Largest {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let n = param.lazy_shape().num_elements();
        if self.best.as_ref().is_none_or(|(_, m)| n > *m) {
            self.best = Some((self.path.join("."), n));
        }
    }
}

/// The largest float tensor of `module` (parameters and running statistics): its path and
/// number of elements. Devices with a per-buffer size limit (wgpu) must hold it in one piece.
pub fn largest_tensor<M: Module>(module: &M) -> Option<(String, usize)> {
    let mut largest = Largest::default();
    module.visit(&mut largest);
    largest.best
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::BatchNormConfig;
    use burn::tensor::Device;

    #[test]
    fn largest_tensor_names_the_biggest_weight() {
        let device = Device::flex();
        let linear = burn::nn::LinearConfig::new(30, 20).init(&device);
        assert_eq!(largest_tensor(&linear), Some(("weight".into(), 600)));
    }

    #[test]
    fn batch_norm_counts_gamma_and_beta_only() {
        let bn = BatchNormConfig::new(7).init(&Device::flex());
        assert_eq!(count_parameters(&bn), 14);
        assert_eq!(
            bn.num_params(),
            28,
            "Burn counts the running statistics too"
        );
        let scratch = crate::ScratchBatchNormConfig::new(7).init(&Device::flex());
        assert_eq!(count_parameters(&scratch), 14);
    }
}
