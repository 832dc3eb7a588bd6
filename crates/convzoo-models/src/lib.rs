//! The convolutional networks of *Dive into Deep Learning*'s "modern CNNs" chapter on Burn 0.22:
//! LeNet, LeNet with batch norm, AlexNet, VGG, NiN, GoogLeNet, ResNet, DenseNet and AnyNet
//! (RegNetX-32), exactly as d2l defines them (same layers, same parameter counts, same
//! initialisation).
//!
//! Every model is reachable by name through the [`REGISTRY`] and [`ModelConfig::from_name`].
//! A model is d2l's `net` as data: a [`convzoo_blocks::Sequential`] built from its
//! configuration, whose layers carry their PyTorch names, so the forward pass, the summary
//! ([`summarize`]) and the PyTorch keys ([`torch`]) all come from one structure. Each model's
//! file declares its registry entry; [`REGISTRY`] lists them. The crate enables no Burn
//! backend: choose one in your binary and pass its device.
//!
//! # Example
//! ```
//! use burn::tensor::{Device, Tensor};
//! use convzoo_models::ModelConfig;
//!
//! let device = Device::flex();
//! let model = ModelConfig::from_name("lenet").unwrap().init(&device);
//! let logits = model.forward(Tensor::zeros([2, 1, 28, 28], &device));
//! assert_eq!(logits.dims(), [2, 10]);
//!
//! // A shape the model cannot take is an error, not a panic deep inside a layer.
//! let err = model.try_forward(Tensor::zeros([2, 1, 32, 32], &device)).unwrap_err();
//! assert!(err.to_string().starts_with("model 'lenet' expects input [N, 1, 28, 28]"));
//! ```
#![warn(missing_docs)]

mod alexnet;
mod anynet;
mod densenet;
mod error;
mod googlenet;
mod input;
mod lenet;
mod model;
mod nin;
mod registry;
mod resnet;
mod stem;
mod summary;
pub mod torch;
mod vgg;

pub use alexnet::AlexNetConfig;
pub use anynet::{AnyNetConfig, AnyNetStage, AnyNetStages, REGNETX32_STAGES};
pub use densenet::{DENSENET_BLOCKS, DenseNetConfig};
pub use error::Error;
pub use googlenet::{GOOGLENET_STAGES, GoogLeNetConfig, InceptionWidths};
pub use input::{InputSpec, SizeRule};
pub use lenet::{LeNetBnConfig, LeNetConfig};
pub use model::{Model, ModelMeta};
pub use nin::NiNConfig;
pub use registry::{
    Arch, Architecture, ModelConfig, ModelInfo, REGISTRY, Recipe, find, model_names,
};
pub use resnet::{RESNET18_STAGES, RESNET34_STAGES, ResNetConfig};
pub use stem::{max_pool_3x3_s2, stem};
pub use summary::{SeedRow, Summary, group_thousands, seed_table, summarize};
pub use vgg::{VGG11_ARCH, VGG11_SMALL_ARCH, VGG16_ARCH, VggConfig};
