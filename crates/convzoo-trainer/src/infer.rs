//! Using a finished run: test accuracy with per-class figures, and top-5 predictions for image
//! files.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::activation::softmax;
use convzoo_datasets::ImageSet;
use convzoo_models::Model;

use crate::backend;
use crate::checkpoint::load_weights;
use crate::config::TrainConfig;
use crate::confusion::Confusion;
use crate::data::{self, DatasetInfo};
use crate::error::{Error, Result};
use crate::observe::Observer;

/// A run's configuration and its trained model (in inference mode).
pub fn open_run(run: &Path, backend_name: Option<&str>) -> Result<(TrainConfig, Model)> {
    let mut config = TrainConfig::read_from_run(run)?;
    if let Some(b) = backend_name {
        config.backend = b.to_string();
    }
    let device = backend::device(&config.backend)?;
    let model = config.model_config()?.init(&device);
    let weights = run.join("model.bpk");
    if !weights.exists() {
        return Err(Error::NotFinished {
            weights,
            run: run.into(),
        });
    }
    Ok((config, load_weights(&weights, model)?.valid()))
}

/// What `eval` measured.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// The run's configuration.
    pub config: TrainConfig,
    /// Counts of (true, predicted) class over the test images.
    pub confusion: Confusion,
}

/// The run's dataset description (Fashion-MNIST's for runs that predate it).
pub fn dataset_info(config: &TrainConfig) -> DatasetInfo {
    config
        .dataset
        .clone()
        .unwrap_or_else(DatasetInfo::fashion_mnist)
}

/// Evaluates the run in `run` on (the first `limit` images of) its test set, with the run's own
/// transform; a download of the data is reported to `observer`.
pub fn evaluate(
    run: &Path,
    limit: usize,
    data_dir: Option<PathBuf>,
    backend_name: Option<&str>,
    observer: &mut impl Observer,
) -> Result<Evaluation> {
    let (mut config, model) = open_run(run, backend_name)?;
    if data_dir.is_some() {
        config.data_dir = data_dir;
    }
    config.dataset = Some(dataset_info(&config));
    let data = data::load(&config, limit, observer)?;
    let device = backend::device(&config.backend)?;
    let batcher = data::batcher(&config, &data.info, false);
    let confusion = Confusion::of(&model, &data.test, &batcher, config.batch_size, &device)?;
    Ok(Evaluation { config, confusion })
}

/// One ranked class: its index, its name and its probability.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Class index.
    pub class: usize,
    /// Class name.
    pub name: String,
    /// Softmax probability.
    pub probability: f32,
}

/// The `k` most probable classes for each image, most probable first: each image is read as
/// the run's training images were (channels, size, normalisation).
pub fn predict(run: &Path, images: &[PathBuf], k: usize) -> Result<Vec<Vec<Prediction>>> {
    let (config, model) = open_run(run, None)?;
    let device = backend::device(&config.backend)?;
    let info = dataset_info(&config);
    let batcher = data::batcher(&config, &info, false);
    let mut out = Vec::new();
    for path in images {
        let bytes = data::read_like_training(path, &info)?;
        let set = ImageSet::new(bytes, vec![0], info.shape, info.classes.clone());
        let x = batcher.batch_indices(&set, &[0], &device, 0).images;
        let probs: Vec<f32> = softmax(model.forward(x), 1)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(Error::burn)?;
        let mut ranked: Vec<(usize, f32)> = probs.into_iter().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        out.push(
            ranked
                .into_iter()
                .take(k)
                .map(|(i, p)| Prediction {
                    class: i,
                    name: info
                        .classes
                        .get(i)
                        .map_or(format!("class {i}"), |c| c.to_string()),
                    probability: p,
                })
                .collect(),
        );
    }
    Ok(out)
}
