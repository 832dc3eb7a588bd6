//! A convzoo run directory, for the programs that use finished runs (`convzoo eval` and
//! `predict`, the web page): `config.json` (the part that rebuilds the model and its input:
//! [`RunSpec`], with the run's [`DatasetInfo`]), `metrics.json` ([`Metrics`]) and the final
//! weights `model.bpk` ([`load_weights`]). [`Run::open`] gives the trained model in inference
//! mode, and reads images as the run's training did.
//!
//! # Example
//! ```
//! use burn::tensor::Device;
//! use convzoo_models::ModelConfig;
//! use convzoo_run::{Run, save_weights};
//!
//! // A run directory as the trainer leaves it (here with untrained LeNet weights).
//! let dir = std::env::temp_dir().join(format!("convzoo-run-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let device = Device::flex();
//! std::fs::write(
//!     dir.join("config.json"),
//!     r#"{"model": "lenet", "resize": 28, "batch_size": 256, "backend": "flex"}"#,
//! )
//! .unwrap();
//! save_weights(&dir.join("model.bpk"), &ModelConfig::from_name("lenet")?.init(&device))?;
//!
//! let run = Run::open(&dir, &device)?;
//! let x = run.input(vec![0; 28 * 28], &device);
//! let ranked = run.rank(run.model.forward(x))?;
//! assert_eq!(ranked.len(), 10);
//! assert_eq!(run.info.classes[9], "Ankle boot");
//! # std::fs::remove_dir_all(dir).unwrap();
//! # Ok::<(), convzoo_run::Error>(())
//! ```
#![warn(missing_docs)]

mod error;
pub mod metrics;
mod open;
mod spec;
mod weights;

pub use error::{Error, Result};
pub use metrics::{EpochMetrics, Metrics};
pub use open::Run;
pub use spec::{DatasetInfo, RunSpec};
pub use weights::{load_weights, save_weights};
