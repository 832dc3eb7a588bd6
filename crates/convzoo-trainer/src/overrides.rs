//! The flags and `--config` file that override a model's d2l recipe, resolved into a
//! [`TrainConfig`].

use std::path::{Path, PathBuf};

use clap::Args;
use convzoo_blocks::BatchNormKind;
use convzoo_datasets::{Augment, DataSpec, NormalizeSpec};
use convzoo_models::{AnyNetStages, ModelConfig, find};
use serde::Deserialize;

use crate::config::{DEFAULT_LOG_EVERY, LrSchedule, OptimizerKind, TrainConfig};
use crate::error::{Error, Result, UsageError};

/// Values that override the recipe: from a `--config` JSON file and from flags.
#[derive(Clone, Debug, Default, Args, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Overrides {
    /// Model to train (see `convzoo summary --model all`) [default: lenet]
    #[arg(long)]
    pub model: Option<String>,
    /// An AnyNet's stem width and stages, from a JSON file: {"stem_channels": 32, "stages":
    /// [{"depth": 4, "width": 32, "group_width": 16, "bot_mul": 1.0}, ...]} (d2l section 8.8);
    /// the model is then `anynet` unless --model names another AnyNet
    #[arg(long, value_name = "FILE")]
    pub anynet: Option<PathBuf>,
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
    /// Burn backend compiled into this binary: flex, ndarray, wgpu or wgpu:ADAPTER, vulkan,
    /// metal, cuda or cuda:N; ADAPTER is discrete, integrated or virtual (each with an optional
    /// :N) or cpu [default: flex]
    #[arg(long)]
    pub backend: Option<String>,
    /// Train data-parallel on these devices of one backend, comma-separated (e.g.
    /// cuda:0,cuda:1 or wgpu:discrete:0,wgpu:discrete:1; flex,flex shares one CPU): each step's
    /// batch is split across them, the gradients are averaged on the first, which applies the
    /// update; batch norm normalises with each device's own batch statistics, as PyTorch's DDP
    /// [default: --backend alone]
    #[arg(long, value_name = "LIST", conflicts_with = "backend")]
    pub devices: Option<String>,
    /// Directory with the (Fashion-)MNIST files (used alone) [default: search]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Dataset: fashion-mnist, mnist, folder:PATH (PATH/train/CLASS/IMAGE, PATH/test/...),
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
        let text = std::fs::read_to_string(path).map_err(|source| {
            Error::Usage(UsageError::ConfigRead {
                path: path.into(),
                source,
            })
        })?;
        serde_json::from_str(&text).map_err(|source| {
            Error::Usage(UsageError::ConfigParse {
                path: path.into(),
                source,
            })
        })
    }

    /// The flags among these overrides that are set, as `--name`, in declaration order.
    pub fn given(&self) -> Vec<&'static str> {
        let Overrides {
            model,
            anynet,
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
            devices,
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
            ("--anynet", anynet.is_some()),
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
            ("--devices", devices.is_some()),
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
            anynet: other.anynet.or(self.anynet),
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
            devices: other.devices.or(self.devices),
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
        let anynet = match &self.anynet {
            Some(path) => Some(read_anynet(path)?),
            None => None,
        };
        let default_model = if anynet.is_some() { "anynet" } else { "lenet" };
        let model = self.model.unwrap_or_else(|| default_model.into());
        let info = find(&model)?;
        if let Some(stages) = &anynet {
            // A model that is not an AnyNet cannot take stages.
            ModelConfig::from_name(&model)?.with_anynet(stages)?;
        }
        let r = info.recipe;
        let devices = match &self.devices {
            Some(list) => crate::devices::parse_list(list)?,
            None => Vec::new(),
        };
        let backend = match (devices.first(), self.backend) {
            (Some(_), Some(_)) => {
                return Err(Error::Usage(UsageError::BadValue {
                    flag: "--devices",
                    problem: "names the backend too: give --devices or --backend, not both".into(),
                }));
            }
            (Some(first), None) => first.clone(),
            (None, backend) => backend.unwrap_or_else(|| default_backend.into()),
        };
        // One device is the plain `backend`.
        let devices = if devices.len() > 1 {
            devices
        } else {
            Vec::new()
        };
        let config = TrainConfig {
            model,
            anynet,
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
            backend,
            devices,
            data_dir: self.data_dir,
            checkpoint_every: self.checkpoint_every.unwrap_or(0),
            log_every: self.log_every.unwrap_or(DEFAULT_LOG_EVERY),
            batch_norm: self.batch_norm,
            data: self.data.unwrap_or_default().absolute(),
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

/// The AnyNet stages in the file `path`, checked.
fn read_anynet(path: &Path) -> Result<AnyNetStages> {
    let bad = |reason: String| {
        Error::Usage(UsageError::AnyNetFile {
            path: path.into(),
            reason,
        })
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    AnyNetStages::from_json(&text).map_err(|e| bad(e.to_string()))
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
}
