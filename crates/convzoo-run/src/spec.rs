//! [`RunSpec`]: what inference needs from a run's `config.json` (the trainer writes the whole
//! configuration; this reads the part that rebuilds the model and its input), and
//! [`DatasetInfo`], the run's record of its data.

use std::path::Path;

use convzoo_blocks::BatchNormKind;
use convzoo_datasets::{DataSpec, FASHION_MNIST, ImageBatcher, Normalize};
use convzoo_models::{AnyNetStages, ModelConfig};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a run found in its data, stored in `config.json` when it starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetInfo {
    /// Class names, by label.
    pub classes: Vec<String>,
    /// `[channels, height, width]` of the stored images (before the run's resize).
    pub shape: [usize; 3],
    /// The normalisation applied after scaling to `[0, 1]`, if any.
    pub normalize: Option<Normalize>,
    /// Image files skipped by `--skip-bad-images` (listed in `skipped.txt`).
    #[serde(default)]
    pub skipped: usize,
}

impl DatasetInfo {
    /// Fashion-MNIST's, for runs written before the dataset was recorded.
    pub fn fashion_mnist() -> Self {
        DatasetInfo {
            classes: FASHION_MNIST
                .classes
                .iter()
                .map(|c| c.to_string())
                .collect(),
            shape: [1, 28, 28],
            normalize: None,
            skipped: 0,
        }
    }
}

/// The part of a run's `config.json` that inference needs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RunSpec {
    /// Registry model name.
    pub model: String,
    /// An AnyNet's stem width and stages, replacing the model's own (`None`: the model's).
    #[serde(default)]
    pub anynet: Option<AnyNetStages>,
    /// Batch-norm implementation (`None`: the model's own).
    #[serde(default)]
    pub batch_norm: Option<BatchNormKind>,
    /// Side length the images are resized to.
    pub resize: usize,
    /// Minibatch size of training (evaluation batches are as large).
    pub batch_size: usize,
    /// The backend the run trained on.
    pub backend: String,
    /// The dataset.
    #[serde(default)]
    pub data: DataSpec,
    /// What the run found in its data (absent in runs older than the record: Fashion-MNIST).
    #[serde(default)]
    pub dataset: Option<DatasetInfo>,
}

impl RunSpec {
    /// Reads the `config.json` of the run directory `run`.
    pub fn read(run: &Path) -> Result<Self> {
        let path = run.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|source| Error::NotARun {
            path: path.clone(),
            run: run.into(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| Error::BadRunConfig { path, source })
    }

    /// The run's dataset record (Fashion-MNIST's for runs that predate it).
    pub fn dataset_info(&self) -> DatasetInfo {
        self.dataset
            .clone()
            .unwrap_or_else(DatasetInfo::fashion_mnist)
    }

    /// The model's configuration: the registry's, with the run's AnyNet stages and batch norm,
    /// and its data's channels and classes.
    pub fn model_config(&self) -> Result<ModelConfig> {
        let mut config = ModelConfig::from_name(&self.model)?;
        if let Some(stages) = &self.anynet {
            config = config.with_anynet(stages)?;
        }
        if let Some(kind) = self.batch_norm {
            config = config.with_batch_norm(kind);
        }
        if let Some(d) = &self.dataset {
            config = config
                .with_in_channels(d.shape[0])
                .with_num_classes(d.classes.len());
        }
        Ok(config)
    }

    /// The batcher that turns the run's stored images into the model's input, as evaluation
    /// does (resize and normalisation, no augmentation).
    pub fn batcher(&self) -> ImageBatcher {
        ImageBatcher {
            resize: Some(self.resize),
            normalize: self.dataset_info().normalize,
            augment: Default::default(),
        }
    }
}
