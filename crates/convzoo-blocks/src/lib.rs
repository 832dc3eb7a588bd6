//! Building blocks of the modern CNNs of *Dive into Deep Learning* (chapter 8), on Burn 0.22.
//!
//! Each block is a config (`derive(Config)`, serialisable) beside a module (`derive(Module)`)
//! built with `init(&Device)`. Burn has no lazy layers, so the configs carry the input channels
//! and expose `out_channels()` for chaining. The crate enables no Burn backend: pick one in your
//! binary (`burn = { features = ["flex"] }`) and pass its [`Device`](burn::tensor::Device).
//!
//! | block | d2l | type |
//! |---|---|---|
//! | layers as data (PyTorch's `nn.Sequential`) | | [`Sequential`], [`Layer`], [`Features`] |
//! | VGG block | 8.2 | [`vgg_block`], [`VggBlockConfig`] |
//! | NiN block | 8.3 | [`NinBlockConfig`] |
//! | Inception | 8.4 | [`InceptionConfig`], [`Inception`] |
//! | batch norm from scratch | 8.5 | [`ScratchBatchNormConfig`], [`ScratchBatchNorm`] |
//! | residual block | 8.6 | [`ResidualConfig`], [`Residual`] |
//! | ResNeXt block (grouped bottleneck) | 8.6 | [`ResNeXtBlockConfig`], [`ResNeXtBlock`] |
//! | dense and transition blocks | 8.7 | [`DenseBlockConfig`], [`TransitionBlockConfig`] |
//! | sigmoid with a one-multiply backward | 7.6 | [`activation::sigmoid`] |
//! | one entry point for convolution and average-pooling layers | | [`conv::forward`], [`conv::avg_pool`] |
//!
//! With the `flex-kernels` feature (off by default; the `convzoo` binary turns it on), `flex`
//! re-exports `convzoo-kernels`: Burn backend extensions that run convolution, batch norm, ReLU,
//! the sigmoid, max pooling and unpadded average pooling on flex with convzoo's own kernels
//! (forward and backward); other backends are untouched. `BENCHMARKS.md` has their figures.
//!
//! # Example
//! ```
//! use burn::tensor::{Device, Tensor};
//! use convzoo_blocks::{InceptionConfig, Probe};
//!
//! let device = Device::flex();
//! let config = InceptionConfig::new(192, 64, (96, 128), (16, 32), 32);
//! let block = config.init(&device);
//! let mut probe = Probe::on();
//! let y = block.forward_probed(Tensor::zeros([1, 192, 28, 28], &device), &mut probe);
//! assert_eq!(y.dims(), [1, config.out_channels(), 28, 28]);
//! assert_eq!(probe.macs / 1_000_000, 128); // the book's 128 MFLOPs
//! ```
#![warn(missing_docs)]

pub mod activation;
mod any_batch_norm;
mod batch_norm;
pub mod conv;
mod dense;
mod dropout;
/// The flex kernels (crate `convzoo-kernels`), with the `flex-kernels` feature.
#[cfg(feature = "flex-kernels")]
pub use convzoo_kernels as flex;
mod features;
mod inception;
pub mod init;
mod layer;
mod nin;
mod params;
mod probe;
mod residual;
mod resnext;
pub mod testing;
mod vgg;

pub use any_batch_norm::{AnyBatchNorm, BatchNormKind};
pub use batch_norm::{ScratchBatchNorm, ScratchBatchNormConfig};
pub use dense::{DenseBlock, DenseBlockConfig, TransitionBlockConfig, bn_relu_conv};
pub use dropout::with_dropout_seed;
pub use inception::{ConvUnit, Inception, InceptionConfig};
pub use init::WeightInit;
pub use layer::{Features, Flatten, Layer, Sequential};
pub use nin::NinBlockConfig;
pub use params::{
    TensorEntry, count_parameters, for_each_tensor, initialize_now, largest_tensor,
    settle_running_stats,
};
pub use probe::{ConvShape, LayerShape, Probe};
pub use residual::{Residual, ResidualConfig};
pub use resnext::{ResNeXtBlock, ResNeXtBlockConfig};
pub use vgg::{VggBlockConfig, vgg_block};
