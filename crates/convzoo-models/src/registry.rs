//! The registry: every model by name. Each model's file declares its entry as a [`ModelInfo`]
//! struct literal (name, title, d2l section, input, recipe, benchmark batch, PyTorch name,
//! configuration); [`REGISTRY`] lists them.
//! Adding a model of an existing architecture touches its file and this list.

use burn::tensor::Device;
use convzoo_blocks::{BatchNormKind, Sequential, WeightInit};
use serde::{Deserialize, Serialize};

use crate::input::{InputSpec, SizeRule};
use crate::model::Model;
use crate::{
    AlexNetConfig, AnyNetConfig, AnyNetStages, DenseNetConfig, Error, GoogLeNetConfig,
    LeNetBnConfig, LeNetConfig, NiNConfig, ResNetConfig, VggConfig,
};
use crate::{alexnet, anynet, densenet, googlenet, lenet, nin, resnet, vgg};

/// Every model, in the order of the book.
pub const REGISTRY: &[ModelInfo] = &[
    lenet::LENET,
    lenet::LENET_BN,
    lenet::LENET_BN_SCRATCH,
    alexnet::ALEXNET,
    vgg::VGG11,
    vgg::VGG11_SMALL,
    vgg::VGG16,
    nin::NIN,
    googlenet::GOOGLENET,
    googlenet::GOOGLENET_BN,
    resnet::RESNET18,
    resnet::RESNET34,
    densenet::DENSENET,
    anynet::REGNETX32,
    anynet::ANYNET,
];

// Every entry's input is one Fashion-MNIST channel at its recipe's size (a compile-time check).
const _: () = {
    let mut i = 0;
    while i < REGISTRY.len() {
        let m = &REGISTRY[i];
        assert!(
            m.input[0] == 1 && m.input[1] == m.recipe.resize && m.input[2] == m.recipe.resize,
            "a registry entry's input is not [1, recipe.resize, recipe.resize]"
        );
        i += 1;
    }
};

/// d2l's training recipe for a model (v0.17 chapter code): plain SGD, Xavier init.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Recipe {
    /// Learning rate.
    pub lr: f64,
    /// Minibatch size.
    pub batch_size: usize,
    /// Side length the 28x28 images are resized to: the model's native input size.
    pub resize: usize,
    /// Number of epochs.
    pub epochs: usize,
}

impl Recipe {
    /// d2l's recipe: `lr`, `batch_size`, images resized to `resize`, 10 epochs.
    pub const fn d2l(lr: f64, batch_size: usize, resize: usize) -> Self {
        Self {
            lr,
            batch_size,
            resize,
            epochs: 10,
        }
    }
}

/// One registry entry, written as a struct literal in its model's file:
///
/// ```ignore
/// pub const LENET: ModelInfo = ModelInfo {
///     name: "lenet",
///     title: "LeNet",
///     d2l_section: "7.6",
///     input: [1, 28, 28],
///     recipe: Recipe::d2l(0.9, 256, 28),
///     bench_batch: 256,
///     pytorch: Some("lenet"),
///     config: || Arch::LeNet(LeNetConfig::new()),
/// };
/// ```
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ModelInfo {
    /// Registry name (`lenet`, `resnet18`, ...).
    pub name: &'static str,
    /// Human-readable name.
    pub title: &'static str,
    /// The section of d2l (2nd edition numbering) that introduces it.
    pub d2l_section: &'static str,
    /// Native input `[channels, height, width]` for Fashion-MNIST: `[1, r, r]` with `r` the
    /// recipe's `resize` (checked at compile time for every [`REGISTRY`] entry).
    pub input: [usize; 3],
    /// d2l's training recipe.
    pub recipe: Recipe,
    /// Batch size of the throughput benchmark (`convzoo bench`).
    pub bench_batch: usize,
    /// The model's name in `tools/torch-reference/d2l_models.py` (PyTorch fixtures and
    /// `bench compare --pytorch`); `None` where PyTorch has no counterpart.
    pub pytorch: Option<&'static str>,
    /// The model's d2l configuration (1 input channel, 10 classes).
    #[serde(skip)]
    pub config: fn() -> Arch,
}

/// What every architecture's configuration provides; [`ModelConfig`] dispatches to it.
pub trait Architecture {
    /// Input channels.
    fn in_channels(&self) -> usize;
    /// Sets the input channels.
    fn set_in_channels(&mut self, channels: usize);
    /// Number of classes.
    fn num_classes(&self) -> usize;
    /// Sets the number of classes.
    fn set_num_classes(&mut self, classes: usize);
    /// Sets the weight initialisation.
    fn set_init(&mut self, init: WeightInit);
    /// Sets the batch-norm implementation, where the architecture has batch norm.
    fn set_batch_norm(&mut self, _kind: BatchNormKind) {}
    /// Sets the dropout probability, where the architecture has dropout.
    fn set_dropout(&mut self, _p: f64) {}
    /// The spatial sizes the network accepts (what its layers' arithmetic allows).
    fn size_rule(&self) -> SizeRule;
    /// Builds the network, layer by layer: d2l's `net`.
    fn build(&self, device: &Device) -> Sequential;
}

/// Implements the accessors of [`Architecture`] for a config with the fields `in_channels`,
/// `num_classes` and `init`.
macro_rules! common_fields {
    () => {
        fn in_channels(&self) -> usize {
            self.in_channels
        }
        fn set_in_channels(&mut self, channels: usize) {
            self.in_channels = channels;
        }
        fn num_classes(&self) -> usize {
            self.num_classes
        }
        fn set_num_classes(&mut self, classes: usize) {
            self.num_classes = classes;
        }
        fn set_init(&mut self, init: convzoo_blocks::WeightInit) {
            self.init = init;
        }
    };
}
pub(crate) use common_fields;

/// Declares [`Arch`], one variant per architecture's configuration.
macro_rules! architectures {
    ($($variant:ident($config:ty)),* $(,)?) => {
        /// The configuration of one of the architectures (serialised with its `architecture` tag).
        #[derive(Clone, Debug, Serialize, Deserialize)]
        #[serde(tag = "architecture", rename_all = "kebab-case")]
        pub enum Arch {
            $(
                #[doc = concat!("[`", stringify!($config), "`]")]
                $variant($config),
            )*
        }

        impl Arch {
            /// The configuration.
            pub fn get(&self) -> &dyn Architecture {
                match self {
                    $(Self::$variant(c) => c,)*
                }
            }

            /// The configuration, to change it.
            pub fn get_mut(&mut self) -> &mut dyn Architecture {
                match self {
                    $(Self::$variant(c) => c,)*
                }
            }
        }
    };
}

architectures!(
    LeNet(LeNetConfig),
    LeNetBn(LeNetBnConfig),
    AlexNet(AlexNetConfig),
    Vgg(VggConfig),
    NiN(NiNConfig),
    GoogLeNet(GoogLeNetConfig),
    ResNet(ResNetConfig),
    DenseNet(DenseNetConfig),
    AnyNet(AnyNetConfig),
);

/// The registry names, comma separated (for error messages and `--help`).
pub fn model_names() -> String {
    REGISTRY
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Looks a model up by registry name.
pub fn find(name: &str) -> Result<&'static ModelInfo, Error> {
    REGISTRY
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| Error::UnknownModel {
            name: name.to_string(),
        })
}

/// The configuration of any registry model: the registry name and that model's architecture
/// configuration. Serialises to JSON (`{"model": NAME, "config": {"architecture": ..., ...}}`) and back
/// to the same architecture.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "RawModelConfig")]
pub struct ModelConfig {
    model: String,
    config: Arch,
}

#[derive(Deserialize)]
struct RawModelConfig {
    model: String,
    config: Arch,
}

impl TryFrom<RawModelConfig> for ModelConfig {
    type Error = Error;

    fn try_from(raw: RawModelConfig) -> Result<Self, Error> {
        find(&raw.model)?;
        Ok(Self {
            model: raw.model,
            config: raw.config,
        })
    }
}

impl ModelConfig {
    /// The d2l configuration of the registry model `name`: 1 input channel, 10 classes.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        let info = find(name)?;
        Ok(Self {
            model: info.name.to_string(),
            config: (info.config)(),
        })
    }

    /// The registry name.
    pub fn name(&self) -> &'static str {
        self.info().name
    }

    /// The registry entry.
    pub fn info(&self) -> &'static ModelInfo {
        find(&self.model).expect("a ModelConfig names a registry model")
    }

    /// The architecture's configuration.
    pub fn arch(&self) -> &Arch {
        &self.config
    }

    /// Sets the stem width and stages of an AnyNet (`anynet`, `regnetx32`), checked first.
    pub fn with_anynet(mut self, stages: &AnyNetStages) -> Result<Self, Error> {
        let Arch::AnyNet(config) = &self.config else {
            return Err(Error::Architecture {
                model: self.model.clone(),
                reason: "only an AnyNet (anynet, regnetx32) takes stages".into(),
            });
        };
        let config = config.clone().with_stages_of(stages);
        config.check()?;
        self.config = Arch::AnyNet(config);
        Ok(self)
    }

    /// Sets the number of input channels (1 for Fashion-MNIST, 3 for RGB).
    pub fn with_in_channels(mut self, c: usize) -> Self {
        self.config.get_mut().set_in_channels(c);
        self
    }

    /// Sets the number of classes.
    pub fn with_num_classes(mut self, n: usize) -> Self {
        self.config.get_mut().set_num_classes(n);
        self
    }

    /// Sets the weight initialisation.
    pub fn with_init(mut self, init: WeightInit) -> Self {
        self.config.get_mut().set_init(init);
        self
    }

    /// Sets the batch-norm implementation of the models that have batch norm; the others are
    /// returned unchanged. [`BatchNormKind::PyTorch`] reproduces `nn.BatchNorm`'s running
    /// statistics exactly.
    pub fn with_batch_norm(mut self, kind: BatchNormKind) -> Self {
        self.config.get_mut().set_batch_norm(kind);
        self
    }

    /// Sets the dropout probability of the models that have dropout; the others are returned
    /// unchanged. `0.0` makes a training step deterministic, e.g. to compare backends, whose
    /// random streams differ.
    pub fn with_dropout(mut self, p: f64) -> Self {
        self.config.get_mut().set_dropout(p);
        self
    }

    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.config.get().in_channels()
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.config.get().num_classes()
    }

    /// The input the model accepts.
    pub fn input_spec(&self) -> InputSpec {
        InputSpec {
            channels: self.in_channels(),
            size: self.config.get().size_rule(),
        }
    }

    /// Builds the model on `device`.
    pub fn init(&self, device: &Device) -> Model {
        Model::new(
            self.config.get().build(device),
            self.name(),
            self.input_spec(),
        )
    }
}
