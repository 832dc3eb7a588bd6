//! Training, evaluation, checkpoints, metrics and plots for the convzoo models, and the
//! `convzoo` command line (`cargo xtask train` runs it).
//!
//! The loop is d2l's `train_ch6`: minibatch SGD on the cross-entropy, Xavier initialisation,
//! train loss and accuracy averaged over each epoch in training mode, test accuracy in inference
//! mode. A run directory holds `config.json`, `metrics.json`/`metrics.csv`, `curves.svg`/
//! `curves.png`, checkpoints (resumable mid-epoch, bit for bit on the CPU) and `model.bpk`.
//!
//! The library never prints: a run reports what happens as [`observe::Event`]s to an
//! [`observe::Observer`], and every failure is an [`Error`] that knows its exit status.
//!
//! # Example
//! ```no_run
//! use convzoo_trainer::config::Overrides;
//! use convzoo_trainer::observe::Event;
//!
//! // LeNet with d2l's recipe for one epoch on the first 2,048 images.
//! let config = Overrides {
//!     epochs: Some(1),
//!     limit_train: Some(2048),
//!     ..Overrides::default()
//! }
//! .resolve("flex")?;
//! let mut epochs = Vec::new();
//! let run = convzoo_trainer::train::start_with(config, None, &mut |e: &Event| {
//!     if let Event::Epoch { metrics, .. } = e {
//!         epochs.push(metrics.clone());
//!     }
//! })?;
//! assert!(run.join("metrics.json").is_file() && epochs.len() == 1);
//! # Ok::<(), convzoo_trainer::Error>(())
//! ```
#![warn(missing_docs)]

pub mod allocator;
pub mod backend;
pub mod checkpoint;
pub mod config;
pub mod confusion;
pub mod data;
pub mod design_space;
pub mod devices;
pub mod error;
pub mod files;
pub mod infer;
pub mod interop;
pub use convzoo_run::metrics;
pub mod observe;
pub mod overrides;
pub mod plot;
pub mod step;
pub mod tensorboard;
pub mod train;

pub use error::{Error, Result, UsageError};
