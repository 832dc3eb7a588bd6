//! [`Model`]: any registry model behind one type, with its input checked before it runs.

use burn::module::Module;
use burn::tensor::Tensor;
use convzoo_blocks::{Features, Probe, Sequential};

use crate::Error;
use crate::input::InputSpec;

/// What a [`Model`] knows of itself besides its weights.
#[derive(Clone, Debug)]
pub struct ModelMeta {
    /// Registry name.
    pub name: &'static str,
    /// Accepted input.
    pub input: InputSpec,
}

/// A registry model, built by [`ModelConfig::init`](crate::ModelConfig::init): d2l's `net`, a
/// [`Sequential`] whose layers carry their PyTorch names.
///
/// # Shapes
/// - input: `[N, C, H, W]` as [`Model::input_spec`] says
/// - output: `[N, num_classes]` logits
#[derive(Module, Debug)]
pub struct Model {
    /// The network (PyTorch's `net`).
    pub net: Sequential,
    #[module(skip)]
    meta: ModelMeta,
}

impl Model {
    pub(crate) fn new(net: Sequential, name: &'static str, input: InputSpec) -> Self {
        Self {
            net,
            meta: ModelMeta { name, input },
        }
    }

    /// The registry name.
    pub fn name(&self) -> &'static str {
        self.meta.name
    }

    /// The input the model accepts.
    pub fn input_spec(&self) -> InputSpec {
        self.meta.input
    }

    /// Checks that the model can take a batch of shape `dims`.
    pub fn check_input(&self, dims: &[usize]) -> Result<(), Error> {
        self.meta.input.check(self.meta.name, dims)
    }

    /// Logits for `x`, or an error naming the model, the expected and the given shape.
    pub fn try_forward(&self, x: Tensor<4>) -> Result<Tensor<2>, Error> {
        self.forward_probed(x, &mut Probe::off())
    }

    /// Logits for `x`.
    ///
    /// # Panics
    /// With the message of [`Error::Input`] if the model cannot take `x`'s shape; use
    /// [`try_forward`](Self::try_forward) to get the error instead.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`try_forward`](Self::try_forward), recording every top-level layer's output (named
    /// by its PyTorch key, `net.3`) and the multiply-adds into `probe`.
    pub fn forward_probed(&self, x: Tensor<4>, probe: &mut Probe) -> Result<Tensor<2>, Error> {
        self.check_input(&x.dims())?;
        let y = self.net.forward_probed(Features::Maps(x), probe, "net");
        Ok(y.vectors(self.meta.name))
    }

    /// The PyTorch `state_dict` key of the tensor Burn's store calls `path` (enum variants
    /// skipped): `net.layers.1.layers.0.conv1.weight` -> `net.b2.0.conv1.weight`.
    pub fn torch_key(&self, path: &str) -> String {
        match path.strip_prefix("net.") {
            Some(rest) => format!("net.{}", self.net.torch_key(rest)),
            None => path.to_string(),
        }
    }
}
