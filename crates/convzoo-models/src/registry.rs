//! The registry: every model by name, with its native input, its d2l training recipe and its
//! configuration. It drives the CLI, the summary and the tests.

use std::fmt;

use burn::tensor::Device;
use convzoo_blocks::{BatchNormKind, WeightInit};
use serde::{Deserialize, Serialize};

use crate::input::{InputSpec, SizeRule};
use crate::model::{Model, Net};
use crate::{
    AlexNetConfig, DENSENET_BLOCKS, DenseNetConfig, GoogLeNetConfig, LeNetBnConfig, LeNetConfig,
    NiNConfig, RESNET18_STAGES, ResNetConfig, VGG11_ARCH, VGG11_SMALL_ARCH, VggConfig,
};

/// d2l's training recipe for a model (v0.17 chapter code): plain SGD, Xavier init.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Recipe {
    /// Learning rate.
    pub lr: f64,
    /// Minibatch size.
    pub batch_size: usize,
    /// Side length the 28x28 images are resized to.
    pub resize: usize,
    /// Number of epochs.
    pub epochs: usize,
}

/// One registry entry.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ModelInfo {
    /// Registry name (`lenet`, `resnet18`, ...).
    pub name: &'static str,
    /// Human-readable name.
    pub title: &'static str,
    /// The section of d2l (2nd edition numbering) that introduces it.
    pub d2l_section: &'static str,
    /// Native input `[channels, height, width]` for Fashion-MNIST.
    pub input: [usize; 3],
    /// d2l's training recipe.
    pub recipe: Recipe,
    /// Batch size of the throughput benchmark (`convzoo bench`).
    pub bench_batch: usize,
}

const fn recipe(lr: f64, batch_size: usize, resize: usize) -> Recipe {
    Recipe {
        lr,
        batch_size,
        resize,
        epochs: 10,
    }
}

const fn info(
    name: &'static str,
    title: &'static str,
    d2l_section: &'static str,
    size: usize,
    recipe: Recipe,
) -> ModelInfo {
    // The benchmark batch sizes of d2l_models.py: 256 for the LeNets, 32 at 224x224, 64 at 96.
    let bench_batch = match size {
        28 => 256,
        224 => 32,
        _ => 64,
    };
    ModelInfo {
        name,
        title,
        d2l_section,
        input: [1, size, size],
        recipe,
        bench_batch,
    }
}

/// Every model, in the order of the book.
pub const REGISTRY: [ModelInfo; 10] = [
    info("lenet", "LeNet", "7.6", 28, recipe(0.9, 256, 28)),
    info(
        "lenet-bn",
        "LeNet with batch norm",
        "8.5",
        28,
        recipe(1.0, 256, 28),
    ),
    info(
        "lenet-bn-scratch",
        "LeNet with batch norm from scratch",
        "8.5",
        28,
        recipe(1.0, 256, 28),
    ),
    info("alexnet", "AlexNet", "8.1", 224, recipe(0.01, 128, 224)),
    info("vgg11", "VGG-11", "8.2", 224, recipe(0.05, 128, 224)),
    info(
        "vgg11-small",
        "VGG-11, channels / 4",
        "8.2",
        224,
        recipe(0.05, 128, 224),
    ),
    info(
        "nin",
        "Network in Network",
        "8.3",
        224,
        recipe(0.1, 128, 224),
    ),
    info("googlenet", "GoogLeNet", "8.4", 96, recipe(0.1, 128, 96)),
    info("resnet18", "ResNet-18", "8.6", 96, recipe(0.05, 256, 96)),
    info("densenet", "DenseNet", "8.7", 96, recipe(0.1, 256, 96)),
];

/// The registry names, comma separated (for error messages and `--help`).
pub fn model_names() -> String {
    REGISTRY
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Looks a model up by registry name.
pub fn find(name: &str) -> Result<&'static ModelInfo, UnknownModel> {
    REGISTRY
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| UnknownModel(name.to_string()))
}

/// A name that is not in the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownModel(pub String);

impl fmt::Display for UnknownModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown model '{}'; choose one of: {}",
            self.0,
            model_names()
        )
    }
}

impl std::error::Error for UnknownModel {}

/// The configuration of any registry model: the registry name (the JSON tag `model`) and that
/// model's own config. Serialises to JSON and back to the same architecture.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "model", content = "config", rename_all = "kebab-case")]
pub enum ModelConfig {
    /// `lenet`
    Lenet(LeNetConfig),
    /// `lenet-bn`
    LenetBn(LeNetBnConfig),
    /// `lenet-bn-scratch`
    LenetBnScratch(LeNetBnConfig),
    /// `alexnet`
    Alexnet(AlexNetConfig),
    /// `vgg11`
    Vgg11(VggConfig),
    /// `vgg11-small`
    Vgg11Small(VggConfig),
    /// `nin`
    Nin(NiNConfig),
    /// `googlenet`
    Googlenet(GoogLeNetConfig),
    /// `resnet18`
    Resnet18(ResNetConfig),
    /// `densenet`
    Densenet(DenseNetConfig),
}

impl ModelConfig {
    /// The d2l configuration of the registry model `name`: 1 input channel, 10 classes.
    pub fn from_name(name: &str) -> Result<Self, UnknownModel> {
        find(name)?;
        Ok(match name {
            "lenet" => Self::Lenet(LeNetConfig::new()),
            "lenet-bn" => Self::LenetBn(LeNetBnConfig::new()),
            "lenet-bn-scratch" => {
                Self::LenetBnScratch(LeNetBnConfig::new().with_batch_norm(BatchNormKind::Scratch))
            }
            "alexnet" => Self::Alexnet(AlexNetConfig::new()),
            "vgg11" => Self::Vgg11(VggConfig::new(VGG11_ARCH.to_vec())),
            "vgg11-small" => Self::Vgg11Small(VggConfig::new(VGG11_SMALL_ARCH.to_vec())),
            "nin" => Self::Nin(NiNConfig::new()),
            "googlenet" => Self::Googlenet(GoogLeNetConfig::new()),
            "resnet18" => Self::Resnet18(ResNetConfig::new(RESNET18_STAGES.to_vec())),
            "densenet" => Self::Densenet(DenseNetConfig::new(DENSENET_BLOCKS.to_vec())),
            _ => unreachable!("every registry name has a config"),
        })
    }

    /// The registry name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Lenet(_) => "lenet",
            Self::LenetBn(_) => "lenet-bn",
            Self::LenetBnScratch(_) => "lenet-bn-scratch",
            Self::Alexnet(_) => "alexnet",
            Self::Vgg11(_) => "vgg11",
            Self::Vgg11Small(_) => "vgg11-small",
            Self::Nin(_) => "nin",
            Self::Googlenet(_) => "googlenet",
            Self::Resnet18(_) => "resnet18",
            Self::Densenet(_) => "densenet",
        }
    }

    /// The registry entry.
    pub fn info(&self) -> &'static ModelInfo {
        find(self.name()).expect("every config names a registry model")
    }

    /// Sets the number of input channels (1 for Fashion-MNIST, 3 for RGB).
    pub fn with_in_channels(mut self, c: usize) -> Self {
        match &mut self {
            Self::Lenet(m) => m.in_channels = c,
            Self::LenetBn(m) | Self::LenetBnScratch(m) => m.in_channels = c,
            Self::Alexnet(m) => m.in_channels = c,
            Self::Vgg11(m) | Self::Vgg11Small(m) => m.in_channels = c,
            Self::Nin(m) => m.in_channels = c,
            Self::Googlenet(m) => m.in_channels = c,
            Self::Resnet18(m) => m.in_channels = c,
            Self::Densenet(m) => m.in_channels = c,
        }
        self
    }

    /// Sets the number of classes.
    pub fn with_num_classes(mut self, n: usize) -> Self {
        match &mut self {
            Self::Lenet(m) => m.num_classes = n,
            Self::LenetBn(m) | Self::LenetBnScratch(m) => m.num_classes = n,
            Self::Alexnet(m) => m.num_classes = n,
            Self::Vgg11(m) | Self::Vgg11Small(m) => m.num_classes = n,
            Self::Nin(m) => m.num_classes = n,
            Self::Googlenet(m) => m.num_classes = n,
            Self::Resnet18(m) => m.num_classes = n,
            Self::Densenet(m) => m.num_classes = n,
        }
        self
    }

    /// Sets the weight initialisation.
    pub fn with_init(mut self, init: WeightInit) -> Self {
        match &mut self {
            Self::Lenet(m) => m.init = init,
            Self::LenetBn(m) | Self::LenetBnScratch(m) => m.init = init,
            Self::Alexnet(m) => m.init = init,
            Self::Vgg11(m) | Self::Vgg11Small(m) => m.init = init,
            Self::Nin(m) => m.init = init,
            Self::Googlenet(m) => m.init = init,
            Self::Resnet18(m) => m.init = init,
            Self::Densenet(m) => m.init = init,
        }
        self
    }

    /// Sets the batch-norm implementation of the models that have batch norm (`lenet-bn`,
    /// `lenet-bn-scratch`, `resnet18`, `densenet`); the others are returned unchanged.
    /// [`BatchNormKind::PyTorch`] reproduces `nn.BatchNorm`'s running statistics exactly.
    pub fn with_batch_norm(mut self, kind: BatchNormKind) -> Self {
        match &mut self {
            Self::LenetBn(m) | Self::LenetBnScratch(m) => m.batch_norm = kind,
            Self::Resnet18(m) => m.batch_norm = kind,
            Self::Densenet(m) => m.batch_norm = kind,
            _ => {}
        }
        self
    }

    /// Sets the dropout probability of the models that have dropout (`alexnet`, `vgg11`,
    /// `vgg11-small`, `nin`); the others are returned unchanged. `0.0` makes a training step
    /// deterministic, e.g. to compare backends, whose random streams differ.
    pub fn with_dropout(mut self, p: f64) -> Self {
        match &mut self {
            Self::Alexnet(m) => m.dropout = p,
            Self::Vgg11(m) | Self::Vgg11Small(m) => m.dropout = p,
            Self::Nin(m) => m.dropout = p,
            _ => {}
        }
        self
    }

    /// Input channels.
    pub fn in_channels(&self) -> usize {
        match self {
            Self::Lenet(m) => m.in_channels,
            Self::LenetBn(m) | Self::LenetBnScratch(m) => m.in_channels,
            Self::Alexnet(m) => m.in_channels,
            Self::Vgg11(m) | Self::Vgg11Small(m) => m.in_channels,
            Self::Nin(m) => m.in_channels,
            Self::Googlenet(m) => m.in_channels,
            Self::Resnet18(m) => m.in_channels,
            Self::Densenet(m) => m.in_channels,
        }
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        match self {
            Self::Lenet(m) => m.num_classes,
            Self::LenetBn(m) | Self::LenetBnScratch(m) => m.num_classes,
            Self::Alexnet(m) => m.num_classes,
            Self::Vgg11(m) | Self::Vgg11Small(m) => m.num_classes,
            Self::Nin(m) => m.num_classes,
            Self::Googlenet(m) => m.num_classes,
            Self::Resnet18(m) => m.num_classes,
            Self::Densenet(m) => m.num_classes,
        }
    }

    /// The input the model accepts.
    pub fn input_spec(&self) -> InputSpec {
        let size = match self {
            Self::Lenet(_) | Self::LenetBn(_) | Self::LenetBnScratch(_) => SizeRule::Exact(28),
            Self::Alexnet(_) | Self::Vgg11(_) | Self::Vgg11Small(_) => SizeRule::Exact(224),
            Self::Nin(_) => SizeRule::AtLeast(67),
            Self::Googlenet(_) | Self::Resnet18(_) => SizeRule::AtLeast(1),
            // The stem divides by 4 (rounding up) and every transition halves (rounding down):
            // the last transition needs 2x2.
            Self::Densenet(m) => SizeRule::AtLeast(4 * (1 << m.blocks.len().saturating_sub(1)) - 3),
        };
        InputSpec {
            channels: self.in_channels(),
            size,
        }
    }

    /// Builds the model on `device`.
    pub fn init(&self, device: &Device) -> Model {
        let net = match self {
            Self::Lenet(m) => Net::LeNet(m.init(device)),
            Self::LenetBn(m) | Self::LenetBnScratch(m) => Net::LeNetBn(m.init(device)),
            Self::Alexnet(m) => Net::AlexNet(m.init(device)),
            Self::Vgg11(m) | Self::Vgg11Small(m) => Net::Vgg(m.init(device)),
            Self::Nin(m) => Net::NiN(m.init(device)),
            Self::Googlenet(m) => Net::GoogLeNet(m.init(device)),
            Self::Resnet18(m) => Net::ResNet(m.init(device)),
            Self::Densenet(m) => Net::DenseNet(m.init(device)),
        };
        Model::new(net, self.name(), self.input_spec())
    }
}
