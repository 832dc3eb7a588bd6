//! One walk over a module's float tensors, with their paths; parameter counting as PyTorch does
//! it (trainable tensors only) and the largest tensor are built on it. Also: initialising the
//! parameters now, and settling the running statistics.
//!
//! Burn's `Module::num_params` also counts batch-norm running statistics (they are module
//! state visited like parameters); `model.parameters()` in PyTorch does not, and d2l's figures
//! follow PyTorch.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Gradients, Tensor};

/// Names of the buffers that are module state, not parameters.
const BUFFERS: [&str; 2] = ["running_mean", "running_var"];

/// One float tensor of a module, as [`for_each_tensor`] meets it.
pub struct TensorEntry<'a> {
    /// Its path: field names and indices, enum variants left out (`net.layers.0.weight`).
    pub path: &'a str,
    /// Its shape (known without initialising a lazy parameter).
    pub shape: Vec<usize>,
    /// Whether it is module state (batch-norm running statistics) rather than a parameter.
    pub buffer: bool,
    value: &'a dyn Fn() -> Tensor<1>,
    grad: &'a dyn Fn(&Gradients) -> Option<Tensor<1>>,
}

impl TensorEntry<'_> {
    /// Its values, flattened.
    pub fn value(&self) -> Tensor<1> {
        (self.value)()
    }

    /// Its gradient in `grads`, flattened, if it has one.
    pub fn grad(&self, grads: &Gradients) -> Option<Tensor<1>> {
        (self.grad)(grads)
    }
}

struct Walk<F> {
    path: Vec<String>,
    skipped: Vec<bool>,
    f: F,
}

impl<F: FnMut(&TensorEntry)> ModuleVisitor for Walk<F> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        let variant = container_type.starts_with("Enum:");
        self.skipped.push(variant);
        if !variant {
            self.path.push(name.to_string());
        }
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        if self.skipped.pop() == Some(false) {
            self.path.pop();
        }
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let shape = param.lazy_shape().dims::<D>().to_vec();
        let n = shape.iter().product::<usize>();
        let path = self.path.join(".");
        let buffer = self
            .path
            .last()
            .is_some_and(|n| BUFFERS.contains(&n.as_str()));
        let value = || param.val().reshape([n]);
        let grad = |g: &Gradients| param.val().grad(g).map(|t| t.reshape([n]));
        (self.f)(&TensorEntry {
            path: &path,
            shape,
            buffer,
            value: &value,
            grad: &grad,
        });
    }
}

/// Calls `f` with every float tensor of `module` (parameters and running statistics), in
/// visiting order.
pub fn for_each_tensor<M: Module>(module: &M, f: impl FnMut(&TensorEntry)) {
    module.visit(&mut Walk {
        path: Vec::new(),
        skipped: Vec::new(),
        f,
    });
}

/// Number of trainable parameters of `module`, as PyTorch's `parameters()` counts them.
pub fn count_parameters<M: Module>(module: &M) -> usize {
    let mut count = 0;
    for_each_tensor(module, |t| {
        if !t.buffer {
            count += t.shape.iter().product::<usize>();
        }
    });
    count
}

/// The largest float tensor of `module` (parameters and running statistics): its path and
/// number of elements. Devices with a per-buffer size limit (wgpu) must hold it in one piece.
pub fn largest_tensor<M: Module>(module: &M) -> Option<(String, usize)> {
    let mut best: Option<(String, usize)> = None;
    for_each_tensor(module, |t| {
        let n = t.shape.iter().product::<usize>();
        if best.as_ref().is_none_or(|(_, m)| n > *m) {
            best = Some((t.path.to_string(), n));
        }
    });
    best
}

/// Initialises every parameter of `module` now, in module order.
///
/// Burn initialises a parameter when it is first read, drawing from the device's random
/// generator as it stands then: the initial weights would depend on whatever else drew from it
/// first, and on the order a forward pass (or forking to another device) reads them. After
/// this, they depend only on the seed set before the model was built.
pub fn initialize_now<M: Module>(module: &M) {
    struct Read;
    impl ModuleVisitor for Read {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Read);
}

/// Folds the pending updates of `module`'s running statistics into their values.
///
/// A batch-norm layer's running mean and variance are Burn `RunningState`s: an update made in
/// a forward pass waits, one per thread, until the next read on the same thread, and the
/// value is then the mean of the waiting updates. Reading the module (to save it, or to copy
/// it to other threads) without settling it first sees the statistics one step old; after a
/// step that ran on several threads, settling averages their updates.
pub fn settle_running_stats<M: Module>(module: &M) {
    // `valid()` synchronises every running state on its way (the states are shared with the
    // copy it returns, which is not needed).
    let _ = module.valid();
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

    #[test]
    fn paths_leave_enum_variants_out() {
        let device = Device::flex();
        let bn = crate::AnyBatchNorm::new(crate::BatchNormKind::Burn, 3, &device);
        let mut paths = Vec::new();
        for_each_tensor(&bn, |t| paths.push((t.path.to_string(), t.buffer)));
        assert!(paths.contains(&("gamma".into(), false)), "{paths:?}");
        assert!(paths.contains(&("running_var".into(), true)), "{paths:?}");
    }

    #[test]
    fn initialising_now_makes_the_weights_a_function_of_the_seed() {
        let device = Device::flex();
        let first_weight = |reseed: bool| {
            device.seed(3);
            let linear = burn::nn::LinearConfig::new(4, 4).init(&device);
            initialize_now(&linear);
            if reseed {
                device.seed(99);
            }
            linear.weight.val().into_data()
        };
        assert_eq!(first_weight(false), first_weight(true));
    }

    #[test]
    fn settling_folds_the_updates_of_each_thread() {
        let device = Device::flex().autodiff();
        let bn = crate::ScratchBatchNormConfig::new(1).init(&device);
        let running_mean = |bn: &crate::ScratchBatchNorm| {
            let mut mean = None;
            for_each_tensor(bn, |t| {
                if t.path == "running_mean" {
                    mean = Some(crate::testing::values(t.value())[0]);
                }
            });
            mean.unwrap()
        };
        let x = |v: f32| Tensor::<2>::full([2, 1], v, &device);
        // Two threads each normalise a batch of their own, as two devices do in one step.
        std::thread::scope(|s| {
            s.spawn(|| bn.forward(x(10.0)));
            s.spawn(|| bn.forward(x(30.0)));
        });
        assert_eq!(running_mean(&bn), 0.0, "the updates wait");
        settle_running_stats(&bn);
        // momentum 0.1: the mean of 0.9 * 0 + 0.1 * 10 and 0.9 * 0 + 0.1 * 30.
        assert!(
            (running_mean(&bn) - 2.0).abs() < 1e-6,
            "{}",
            running_mean(&bn)
        );
    }
}
