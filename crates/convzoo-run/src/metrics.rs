//! Per-epoch metrics, written as `metrics.json` and `metrics.csv` after every epoch.

use std::fmt::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use convzoo_datasets::write_atomic;

use crate::error::{Error, Result};

/// The metrics of one epoch, as d2l prints them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's examples, in training mode.
    pub train_loss: f64,
    /// Training accuracy over the epoch's examples, in training mode.
    pub train_acc: f64,
    /// Test accuracy after the epoch, in inference mode.
    pub test_acc: f64,
    /// Wall-clock seconds of the epoch (training and testing).
    pub seconds: f64,
    /// Training throughput.
    pub train_images_per_sec: f64,
    /// Seconds of the epoch's training spent making batches (the data pipeline's share).
    #[serde(default)]
    pub data_seconds: f64,
}

/// All epochs of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Registry model name.
    pub model: String,
    /// Burn backend.
    pub backend: String,
    /// One entry per finished epoch.
    pub epochs: Vec<EpochMetrics>,
}

impl Metrics {
    /// Reads `metrics.json` of the run directory `dir`; `None` before the first epoch ends.
    pub fn read(dir: &Path) -> Result<Option<Metrics>> {
        let path = dir.join("metrics.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Io { path, source }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| Error::BadRunConfig { path, source })
    }

    /// Writes `metrics.json` and `metrics.csv` into `dir`, atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).expect("metrics serialise");
        write_atomic(&dir.join("metrics.json"), json.as_bytes())?;
        let mut csv = String::from(
            "epoch,train_loss,train_acc,test_acc,seconds,train_images_per_sec,data_seconds\n",
        );
        for e in &self.epochs {
            let _ = writeln!(
                csv,
                "{},{},{},{},{:.3},{:.1},{:.3}",
                e.epoch,
                e.train_loss,
                e.train_acc,
                e.test_acc,
                e.seconds,
                e.train_images_per_sec,
                e.data_seconds
            );
        }
        Ok(write_atomic(&dir.join("metrics.csv"), csv.as_bytes())?)
    }
}

impl EpochMetrics {
    /// The line printed after each epoch.
    pub fn line(&self, epochs: usize) -> String {
        format!(
            "epoch {}/{epochs}  train loss {:.3}  train acc {:.3}  test acc {:.3}  {:.1} s  {:.0} img/s",
            self.epoch,
            self.train_loss,
            self.train_acc,
            self.test_acc,
            self.seconds,
            self.train_images_per_sec
        )
    }
}
