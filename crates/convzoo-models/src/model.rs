//! [`Model`]: any registry model behind one type, with its input checked before it runs.

use burn::module::Module;
use burn::tensor::Tensor;
use convzoo_blocks::Probe;

use crate::input::{InputError, InputSpec};
use crate::{AlexNet, DenseNet, GoogLeNet, LeNet, LeNetBn, NiN, ResNet, Vgg};

/// The network of a [`Model`]: one variant per architecture.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Net {
    /// LeNet.
    LeNet(LeNet),
    /// LeNet with batch norm (Burn's or from scratch).
    LeNetBn(LeNetBn),
    /// AlexNet.
    AlexNet(AlexNet),
    /// VGG (VGG-11 or VGG-11 small).
    Vgg(Vgg),
    /// Network in Network.
    NiN(NiN),
    /// GoogLeNet.
    GoogLeNet(GoogLeNet),
    /// ResNet.
    ResNet(ResNet),
    /// DenseNet.
    DenseNet(DenseNet),
}

/// What a [`Model`] knows of itself besides its weights.
#[derive(Clone, Debug)]
pub struct ModelMeta {
    /// Registry name.
    pub name: &'static str,
    /// Accepted input.
    pub input: InputSpec,
}

/// A registry model, built by [`ModelConfig::init`](crate::ModelConfig::init).
///
/// # Shapes
/// - input: `[N, C, H, W]` as [`Model::input_spec`] says
/// - output: `[N, num_classes]` logits
#[derive(Module, Debug)]
pub struct Model {
    /// The network.
    pub net: Net,
    #[module(skip)]
    meta: ModelMeta,
}

impl Model {
    pub(crate) fn new(net: Net, name: &'static str, input: InputSpec) -> Self {
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
    pub fn check_input(&self, dims: &[usize]) -> Result<(), InputError> {
        self.meta.input.check(self.meta.name, dims)
    }

    /// Logits for `x`, or an error naming the model, the expected and the given shape.
    pub fn try_forward(&self, x: Tensor<4>) -> Result<Tensor<2>, InputError> {
        self.check_input(&x.dims())?;
        Ok(self.run(x, &mut Probe::off()))
    }

    /// Logits for `x`.
    ///
    /// # Panics
    /// With the message of [`InputError`] if the model cannot take `x`'s shape; use
    /// [`try_forward`](Self::try_forward) to get the error instead.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`try_forward`](Self::try_forward), recording every layer's output shape and the
    /// multiply-adds into `probe`.
    pub fn forward_probed(&self, x: Tensor<4>, probe: &mut Probe) -> Result<Tensor<2>, InputError> {
        self.check_input(&x.dims())?;
        Ok(self.run(x, probe))
    }

    fn run(&self, x: Tensor<4>, p: &mut Probe) -> Tensor<2> {
        match &self.net {
            Net::LeNet(m) => m.forward_probed(x, p),
            Net::LeNetBn(m) => m.forward_probed(x, p),
            Net::AlexNet(m) => m.forward_probed(x, p),
            Net::Vgg(m) => m.forward_probed(x, p),
            Net::NiN(m) => m.forward_probed(x, p),
            Net::GoogLeNet(m) => m.forward_probed(x, p),
            Net::ResNet(m) => m.forward_probed(x, p),
            Net::DenseNet(m) => m.forward_probed(x, p),
        }
    }
}
