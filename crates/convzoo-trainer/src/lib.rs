//! Training, evaluation, checkpoints, metrics and plots for the convzoo models, and the
//! `convzoo` command line (`cargo xtask train` runs it).
//!
//! The loop is d2l's `train_ch6`: minibatch SGD on the cross-entropy, Xavier initialisation,
//! train loss and accuracy averaged over each epoch in training mode, test accuracy in inference
//! mode. A run directory holds `config.json`, `metrics.json`/`metrics.csv`, `curves.svg`/
//! `curves.png`, checkpoints (resumable mid-epoch, bit for bit on the CPU) and `model.bpk`.
//!
//! # Example
//! ```no_run
//! use convzoo_trainer::config::Overrides;
//!
//! // LeNet with d2l's recipe for one epoch on the first 2,048 images.
//! let config = Overrides {
//!     epochs: Some(1),
//!     limit_train: Some(2048),
//!     ..Overrides::default()
//! }
//! .resolve("flex")?;
//! let run = convzoo_trainer::train::start(config, None)?;
//! println!("metrics in {}", run.join("metrics.json").display());
//! # Ok::<(), String>(())
//! ```
#![warn(missing_docs)]

pub mod allocator;
pub mod backend;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod files;
pub mod infer;
pub mod interop;
pub mod metrics;
pub mod plot;
pub mod train;
