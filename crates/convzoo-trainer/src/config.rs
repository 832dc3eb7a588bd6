//! The training configuration: d2l's recipe for the model, then a JSON file, then flags (see
//! [`Overrides`]), resolved and checked.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use convzoo_blocks::BatchNormKind;
use convzoo_datasets::{Augment, DataSpec, NormalizeSpec};
use convzoo_models::{AnyNetStages, ModelConfig};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, UsageError};
pub use crate::overrides::Overrides;
use convzoo_run::{DatasetInfo, RunSpec};

/// Optimisers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Stochastic gradient descent (d2l's choice), optional momentum and weight decay.
    Sgd,
    /// Adam with PyTorch's defaults (betas 0.9/0.999, epsilon 1e-8).
    Adam,
}

/// Learning-rate schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// The same rate throughout (d2l's recipes).
    Constant,
    /// Multiply by 0.1 every third of the epochs.
    Step,
    /// Cosine annealing from the rate to 0 over the run, per step.
    Cosine,
}

/// A complete, resolved training configuration (written to `config.json` in the run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Registry model name.
    pub model: String,
    /// An AnyNet's stem width and stages (`--anynet`), replacing the model's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anynet: Option<AnyNetStages>,
    /// Number of epochs.
    pub epochs: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Learning rate.
    pub lr: f64,
    /// Optimiser.
    pub optimizer: OptimizerKind,
    /// SGD momentum (0: none, as d2l).
    pub momentum: f64,
    /// L2 weight decay (0: none, as d2l).
    pub weight_decay: f64,
    /// Learning-rate schedule.
    pub lr_schedule: LrSchedule,
    /// Side length the images are resized to.
    pub resize: usize,
    /// Use only the first N training images (0: all).
    pub limit_train: usize,
    /// Use only the first N test images (0: all).
    pub limit_test: usize,
    /// Seed of initialisation, data order and dropout.
    pub seed: u64,
    /// Burn backend (the first of `devices` when there are several).
    pub backend: String,
    /// The devices of a data-parallel run (`--devices`), the main one first; empty: `backend`
    /// alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// Directory with the dataset files (`None`: search the usual places).
    pub data_dir: Option<PathBuf>,
    /// Write a checkpoint every N training steps as well as at every epoch's end (0: epochs only).
    pub checkpoint_every: usize,
    /// Batch-norm implementation (`None`: the model's own).
    #[serde(default)]
    pub batch_norm: Option<BatchNormKind>,
    /// Log the training loss to TensorBoard every N steps (0: only the per-epoch scalars).
    #[serde(default = "default_log_every")]
    pub log_every: usize,
    /// The dataset (`--data`).
    #[serde(default)]
    pub data: DataSpec,
    /// Fraction of each class held out as the test set of an image folder without `test/`.
    #[serde(default)]
    pub val_split: f64,
    /// Training-time augmentation.
    #[serde(default)]
    pub augment: Augment,
    /// Normalisation, as asked for (the values used are in `dataset`).
    #[serde(default)]
    pub normalize: NormalizeSpec,
    /// Skip image files that do not decode (their names go to `skipped.txt`).
    #[serde(default)]
    pub skip_bad_images: bool,
    /// What the run found in its data: classes, image shape, normalisation (set when it starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<DatasetInfo>,
}

/// TensorBoard's step loss every this many steps, unless `--log-every` says otherwise.
pub const DEFAULT_LOG_EVERY: usize = 20;

fn default_log_every() -> usize {
    DEFAULT_LOG_EVERY
}

impl TrainConfig {
    /// Reads the `config.json` of the run directory `run`.
    pub fn read_from_run(run: &Path) -> Result<Self> {
        let path = run.join("config.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(source) => {
                return Err(convzoo_run::Error::NotARun {
                    path,
                    run: run.into(),
                    source,
                }
                .into());
            }
        };
        serde_json::from_str(&text)
            .map_err(|source| convzoo_run::Error::BadRunConfig { path, source }.into())
    }

    /// The model's configuration: the registry's, with this run's batch norm, and the channels
    /// and classes of its data once known.
    pub fn model_config(&self) -> Result<ModelConfig> {
        Ok(self.spec().model_config()?)
    }

    /// The part of this configuration that inference reads back from `config.json`.
    pub fn spec(&self) -> RunSpec {
        RunSpec {
            model: self.model.clone(),
            anynet: self.anynet.clone(),
            batch_norm: self.batch_norm,
            resize: self.resize,
            batch_size: self.batch_size,
            backend: self.backend.clone(),
            data: self.data.clone(),
            dataset: self.dataset.clone(),
        }
    }

    /// Checks values that flags and files can get wrong.
    pub fn check(&self) -> Result<()> {
        let bad = |flag, problem| Err(Error::Usage(UsageError::BadValue { flag, problem }));
        let positive = [
            ("--epochs", self.epochs),
            ("--batch-size", self.batch_size),
            ("--resize", self.resize),
        ];
        if let Some((flag, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return bad(flag, "must be at least 1".into());
        }
        crate::devices::check_one_backend(&self.devices)?;
        if self.batch_size < self.devices.len() {
            return bad(
                "--batch-size",
                format!(
                    "must be at least the number of devices ({} in --devices {}), got {}",
                    self.devices.len(),
                    self.devices.join(","),
                    self.batch_size
                ),
            );
        }
        let model = ModelConfig::from_name(&self.model)?;
        model
            .input_spec()
            .check(&self.model, &[1, 1, self.resize, self.resize])
            .map_err(|source| {
                Error::Usage(UsageError::BadResize {
                    resize: self.resize,
                    source,
                })
            })?;
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(
                "--lr",
                format!("must be a positive number, got {}", self.lr),
            );
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad(
                "--momentum",
                format!("must be in [0, 1), got {}", self.momentum),
            );
        }
        if !(0.0..1.0).contains(&self.val_split) {
            return bad(
                "--val-split",
                format!("must be in [0, 1), got {}", self.val_split),
            );
        }
        if !self.data.is_folder() && self.val_split > 0.0 {
            return bad(
                "--val-split",
                format!(
                    "holds out part of an image folder; {} has its own test set",
                    self.data
                ),
            );
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "--weight-decay",
                format!("must be >= 0, got {}", self.weight_decay),
            );
        }
        Ok(())
    }

    /// The devices the run trains on: `devices`, or `backend` alone.
    pub fn device_specs(&self) -> Vec<String> {
        match self.devices.is_empty() {
            true => vec![self.backend.clone()],
            false => self.devices.clone(),
        }
    }

    /// The learning rate at `step` of `epoch` (`steps` steps per epoch).
    pub fn lr_at(&self, epoch: usize, step: usize, steps: usize) -> f64 {
        match self.lr_schedule {
            LrSchedule::Constant => self.lr,
            LrSchedule::Step => {
                let every = self.epochs.div_ceil(3).max(1);
                self.lr * 0.1f64.powi((epoch / every) as i32)
            }
            LrSchedule::Cosine => {
                let total = (self.epochs * steps).max(1) as f64;
                let t = (epoch * steps + step) as f64;
                0.5 * self.lr * (1.0 + (std::f64::consts::PI * t / total).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let mut c = Overrides::default().resolve("flex").unwrap();
        c.lr_schedule = LrSchedule::Step;
        c.epochs = 9;
        assert_eq!(c.lr_at(2, 0, 10), 0.9);
        assert!((c.lr_at(3, 0, 10) - 0.09).abs() < 1e-12);
        c.lr_schedule = LrSchedule::Cosine;
        assert_eq!(c.lr_at(0, 0, 10), 0.9);
        assert!(c.lr_at(8, 9, 10) < 0.01);
    }
}
