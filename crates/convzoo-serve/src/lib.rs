//! A local web page and JSON API for convzoo runs (`cargo xtask serve --run DIR`): draw or drop
//! an image and see the top-5 classes and every layer's output and feature maps; see each run's
//! curves, refreshed while it trains. The page (HTML, JavaScript, CSS) is embedded in the
//! binary: it works offline.
//!
//! The API: `GET /api/runs`; `POST /api/predict?run=ID` with an image file's bytes →
//! `{"model", "run", "classes": [{"name", "prob"}], "ms"}`; `POST /api/inspect?run=ID` → the
//! same plus `input` and `layers` (shape, ms, feature maps as base64 PNGs). Errors are a 4xx or
//! 5xx with `{"error": "..."}`. Runs are listed at start and named by their index: nothing a
//! client sends becomes a file path.
//!
//! # Example
//! ```
//! use burn::tensor::Device;
//! use convzoo_models::ModelConfig;
//! use convzoo_serve::Catalog;
//!
//! // A finished run directory (untrained LeNet weights, for the example).
//! let dir = std::env::temp_dir().join(format!("convzoo-serve-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let device = Device::flex();
//! std::fs::write(
//!     dir.join("config.json"),
//!     r#"{"model": "lenet", "resize": 28, "batch_size": 256, "backend": "flex"}"#,
//! )
//! .unwrap();
//! let model = ModelConfig::from_name("lenet").unwrap().init(&device);
//! convzoo_run::save_weights(&dir.join("model.bpk"), &model).unwrap();
//!
//! let catalog = Catalog::open(&[dir.clone()], &device)?;
//! let runs = catalog.runs_json();
//! assert_eq!(runs["runs"][0]["summary"][0]["name"], "net.0");
//! assert_eq!(runs["runs"][0]["parameters"], 61_706);
//! # std::fs::remove_dir_all(dir).unwrap();
//! # Ok::<(), convzoo_serve::Error>(())
//! ```
#![warn(missing_docs)]

mod catalog;
mod error;
mod http;
mod infer;

pub use catalog::{Catalog, Entry, Row};
pub use error::{Error, Result};
pub use http::{Limits, Reply, route, serve};
pub use infer::{MAPS_PER_LAYER, inspect, predict};
