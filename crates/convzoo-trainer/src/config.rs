//! The training configuration: d2l's recipe for the model, then a JSON file, then flags.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use convzoo_blocks::BatchNormKind;
use convzoo_datasets::{Augment, DataSpec, NormalizeSpec};
use convzoo_models::{ModelConfig, find};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
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
    /// Burn backend.
    pub backend: String,
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
    #[serde(default, with = "spec_text")]
    pub normalize: NormalizeSpec,
    /// Skip image files that do not decode (their names go to `skipped.txt`).
    #[serde(default)]
    pub skip_bad_images: bool,
    /// What the run found in its data: classes, image shape, normalisation (set when it starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<DatasetInfo>,
}

/// [`NormalizeSpec`] as its `--normalize` text in JSON.
mod spec_text {
    use convzoo_datasets::NormalizeSpec;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(spec: &NormalizeSpec, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&spec.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NormalizeSpec, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }

    /// The same for an optional value (the overrides).
    pub mod option {
        use convzoo_datasets::NormalizeSpec;
        use serde::{Deserialize, Deserializer};

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<NormalizeSpec>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| s.parse().map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

/// TensorBoard's step loss every this many steps, unless `--log-every` says otherwise.
pub const DEFAULT_LOG_EVERY: usize = 20;

fn default_log_every() -> usize {
    DEFAULT_LOG_EVERY
}

/// Values that override the recipe: from a `--config` JSON file and from flags.
#[derive(Clone, Debug, Default, Args, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Overrides {
    /// Model to train (see `convzoo summary --model all`) [default: lenet]
    #[arg(long)]
    pub model: Option<String>,
    /// Number of epochs [default: the model's d2l recipe, 10]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Minibatch size [default: the model's d2l recipe]
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Learning rate [default: the model's d2l recipe]
    #[arg(long)]
    pub lr: Option<f64>,
    /// Optimiser [default: sgd]
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// SGD momentum, PyTorch's convention (no dampening) [default: 0]
    #[arg(long)]
    pub momentum: Option<f64>,
    /// L2 weight decay [default: 0]
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Learning-rate schedule [default: constant]
    #[arg(long, value_enum)]
    pub lr_schedule: Option<LrSchedule>,
    /// Resize the images to this side [default: the model's d2l recipe]
    #[arg(long)]
    pub resize: Option<usize>,
    /// Train on the first N images only (0: all) [default: 0]
    #[arg(long)]
    pub limit_train: Option<usize>,
    /// Test on the first N images only (0: all) [default: 0]
    #[arg(long)]
    pub limit_test: Option<usize>,
    /// Seed of initialisation, data order and dropout [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Burn backend compiled into this binary: flex, ndarray, wgpu[:ADAPTER], vulkan, metal,
    /// cuda[:N]; ADAPTER is discrete|integrated|virtual[:N] or cpu [default: flex]
    #[arg(long)]
    pub backend: Option<String>,
    /// Directory with the (Fashion-)MNIST files (used alone) [default: search]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Dataset: fashion-mnist, mnist, folder:PATH (PATH/train/<class>/<image>, PATH/test/...),
    /// cifar10:PATH (the binary version) [default: fashion-mnist]
    #[arg(long, value_name = "SPEC", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<DataSpec>()))]
    pub data: Option<DataSpec>,
    /// Hold out this fraction of each class as the test set (image folders without test/)
    /// [default: 0]
    #[arg(long, value_name = "F")]
    pub val_split: Option<f64>,
    /// Training-time augmentation: crop:PAD (random crop after zero padding), flip, both
    /// (crop:4,flip), or none [default: none, as d2l]
    #[arg(long, value_name = "LIST", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<Augment>()))]
    pub augment: Option<Augment>,
    /// Normalisation after scaling to [0, 1]: none, dataset (per-channel mean and deviation of
    /// the training images), or M,S [default: none, as d2l]
    #[arg(long, value_name = "HOW", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<NormalizeSpec>()))]
    #[serde(deserialize_with = "spec_text::option::deserialize")]
    pub normalize: Option<NormalizeSpec>,
    /// Skip image files that do not decode, listing them in the run's skipped.txt
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub skip_bad_images: Option<bool>,
    /// Also checkpoint every N steps (0: only at each epoch's end) [default: 0]
    #[arg(long)]
    pub checkpoint_every: Option<usize>,
    /// Batch norm of the batch-norm models: burn, scratch, or pytorch (PyTorch's running
    /// variance) [default: the model's own]
    #[arg(long, value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<BatchNormKind>()))]
    pub batch_norm: Option<BatchNormKind>,
    /// Write the training loss to the run's TensorBoard events every N steps (0: only the
    /// per-epoch scalars) [default: 20]
    #[arg(long)]
    pub log_every: Option<usize>,
}

impl Overrides {
    /// Reads overrides from a JSON file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.into(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| Error::ConfigParse {
            path: path.into(),
            source,
        })
    }

    /// The flags among these overrides that are set, as `--name`, in declaration order.
    pub fn given(&self) -> Vec<&'static str> {
        let Overrides {
            model,
            epochs,
            batch_size,
            lr,
            optimizer,
            momentum,
            weight_decay,
            lr_schedule,
            resize,
            limit_train,
            limit_test,
            seed,
            backend,
            data_dir,
            checkpoint_every,
            batch_norm,
            log_every,
            data,
            val_split,
            augment,
            normalize,
            skip_bad_images,
        } = self;
        [
            ("--model", model.is_some()),
            ("--epochs", epochs.is_some()),
            ("--batch-size", batch_size.is_some()),
            ("--lr", lr.is_some()),
            ("--optimizer", optimizer.is_some()),
            ("--momentum", momentum.is_some()),
            ("--weight-decay", weight_decay.is_some()),
            ("--lr-schedule", lr_schedule.is_some()),
            ("--resize", resize.is_some()),
            ("--limit-train", limit_train.is_some()),
            ("--limit-test", limit_test.is_some()),
            ("--seed", seed.is_some()),
            ("--backend", backend.is_some()),
            ("--data-dir", data_dir.is_some()),
            ("--checkpoint-every", checkpoint_every.is_some()),
            ("--batch-norm", batch_norm.is_some()),
            ("--log-every", log_every.is_some()),
            ("--data", data.is_some()),
            ("--val-split", val_split.is_some()),
            ("--augment", augment.is_some()),
            ("--normalize", normalize.is_some()),
            ("--skip-bad-images", skip_bad_images.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect()
    }

    /// `self`, with the values set in `other` replacing its own.
    pub fn then(self, other: Overrides) -> Overrides {
        Overrides {
            model: other.model.or(self.model),
            epochs: other.epochs.or(self.epochs),
            batch_size: other.batch_size.or(self.batch_size),
            lr: other.lr.or(self.lr),
            optimizer: other.optimizer.or(self.optimizer),
            momentum: other.momentum.or(self.momentum),
            weight_decay: other.weight_decay.or(self.weight_decay),
            lr_schedule: other.lr_schedule.or(self.lr_schedule),
            resize: other.resize.or(self.resize),
            limit_train: other.limit_train.or(self.limit_train),
            limit_test: other.limit_test.or(self.limit_test),
            seed: other.seed.or(self.seed),
            backend: other.backend.or(self.backend),
            data_dir: other.data_dir.or(self.data_dir),
            checkpoint_every: other.checkpoint_every.or(self.checkpoint_every),
            log_every: other.log_every.or(self.log_every),
            batch_norm: other.batch_norm.or(self.batch_norm),
            data: other.data.or(self.data),
            val_split: other.val_split.or(self.val_split),
            augment: other.augment.or(self.augment),
            normalize: other.normalize.or(self.normalize),
            skip_bad_images: other.skip_bad_images.or(self.skip_bad_images),
        }
    }

    /// The configuration: the model's d2l recipe with these overrides applied, checked.
    pub fn resolve(self, default_backend: &str) -> Result<TrainConfig> {
        let model = self.model.unwrap_or_else(|| "lenet".into());
        let info = find(&model)?;
        let r = info.recipe;
        let config = TrainConfig {
            model,
            epochs: self.epochs.unwrap_or(r.epochs),
            batch_size: self.batch_size.unwrap_or(r.batch_size),
            lr: self.lr.unwrap_or(r.lr),
            optimizer: self.optimizer.unwrap_or(OptimizerKind::Sgd),
            momentum: self.momentum.unwrap_or(0.0),
            weight_decay: self.weight_decay.unwrap_or(0.0),
            lr_schedule: self.lr_schedule.unwrap_or(LrSchedule::Constant),
            resize: self.resize.unwrap_or(r.resize),
            limit_train: self.limit_train.unwrap_or(0),
            limit_test: self.limit_test.unwrap_or(0),
            seed: self.seed.unwrap_or(0),
            backend: self.backend.unwrap_or_else(|| default_backend.into()),
            data_dir: self.data_dir,
            checkpoint_every: self.checkpoint_every.unwrap_or(0),
            log_every: self.log_every.unwrap_or(DEFAULT_LOG_EVERY),
            batch_norm: self.batch_norm,
            data: match self.data {
                Some(DataSpec::Folder(p)) => DataSpec::Folder(convzoo_datasets::absolute(&p)),
                Some(DataSpec::Cifar10(p)) => DataSpec::Cifar10(convzoo_datasets::absolute(&p)),
                other => other.unwrap_or_default(),
            },
            val_split: self.val_split.unwrap_or(0.0),
            augment: self.augment.unwrap_or_default(),
            normalize: self.normalize.unwrap_or_default(),
            skip_bad_images: self.skip_bad_images.unwrap_or(false),
            dataset: None,
        };
        config.check()?;
        Ok(config)
    }
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
        let bad = |flag, problem| Err(Error::BadValue { flag, problem });
        let positive = [
            ("--epochs", self.epochs),
            ("--batch-size", self.batch_size),
            ("--resize", self.resize),
        ];
        if let Some((flag, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return bad(flag, "must be at least 1".into());
        }
        let model = ModelConfig::from_name(&self.model)?;
        model
            .input_spec()
            .check(&self.model, &[1, 1, self.resize, self.resize])
            .map_err(|source| Error::BadResize {
                resize: self.resize,
                source,
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
    fn recipe_then_file_then_flags() {
        let file: Overrides =
            serde_json::from_str(r#"{"model": "resnet18", "epochs": 3}"#).unwrap();
        let flags = Overrides {
            epochs: Some(2),
            ..Overrides::default()
        };
        let c = file.then(flags).resolve("flex").unwrap();
        assert_eq!(
            (c.model.as_str(), c.epochs, c.batch_size, c.resize),
            ("resnet18", 2, 256, 96)
        );
        assert_eq!(c.lr, 0.05);
        let c = Overrides::default().resolve("flex").unwrap();
        assert_eq!(
            (c.model.as_str(), c.lr, c.batch_size, c.epochs),
            ("lenet", 0.9, 256, 10)
        );
    }

    #[test]
    fn bad_values_are_refused() {
        let bad = |o: Overrides| {
            let e = o.resolve("flex").unwrap_err();
            assert_eq!(e.exit_code(), 2, "{e}");
            e.to_string()
        };
        assert!(
            bad(Overrides {
                model: Some("lenet5".into()),
                ..Default::default()
            })
            .contains("choose one of: lenet,")
        );
        assert!(
            bad(Overrides {
                lr: Some(-1.0),
                ..Default::default()
            })
            .contains("--lr")
        );
        assert!(
            bad(Overrides {
                epochs: Some(0),
                ..Default::default()
            })
            .contains("--epochs")
        );
        assert!(serde_json::from_str::<Overrides>(r#"{"epoch": 3}"#).is_err());
        let o: Overrides =
            serde_json::from_str(r#"{"model": "resnet18", "batch_norm": "pytorch"}"#).unwrap();
        let c = o.resolve("flex").unwrap();
        let json = serde_json::to_string(&c.model_config().unwrap()).unwrap();
        assert!(json.contains(r#""batch_norm":"pytorch""#), "{json}");
        assert!(
            "torch"
                .parse::<BatchNormKind>()
                .unwrap_err()
                .contains("burn, scratch, pytorch")
        );
    }

    #[test]
    fn given_flags_are_named() {
        let o = Overrides {
            seed: Some(3),
            optimizer: Some(OptimizerKind::Adam),
            ..Overrides::default()
        };
        assert_eq!(o.given(), ["--optimizer", "--seed"]);
        assert!(Overrides::default().given().is_empty());
    }

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
