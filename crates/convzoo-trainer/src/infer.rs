//! Using a finished run: test accuracy with per-class figures, and top-5 predictions for image
//! files.

use std::path::{Path, PathBuf};

use convzoo_datasets::DataSpec;
use convzoo_models::Model;
use convzoo_run::Run;

use crate::backend;
use crate::config::TrainConfig;
use crate::confusion::Confusion;
use crate::data;
use crate::error::Result;
use crate::observe::Observer;

/// A run's configuration and its trained model (in inference mode), on the run's backend or
/// `backend_name`.
pub fn open_run(run: &Path, backend_name: Option<&str>) -> Result<(TrainConfig, Model)> {
    let mut config = TrainConfig::read_from_run(run)?;
    if let Some(b) = backend_name {
        config.backend = b.to_string();
    }
    let device = backend::device(&config.backend)?;
    Ok((config, Run::open(run, &device)?.model))
}

/// What `eval` measured.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// The run's configuration.
    pub config: TrainConfig,
    /// Counts of (true, predicted) class over the test images.
    pub confusion: Confusion,
}

/// Evaluates the run in `run` on (the first `limit` images of) its test set, or on the test set
/// of `data` (which must have the run's classes and image shape), with the run's own transform;
/// a download of the data is reported to `observer`.
pub fn evaluate(
    run: &Path,
    limit: usize,
    (data, data_dir): (Option<DataSpec>, Option<PathBuf>),
    backend_name: Option<&str>,
    observer: &mut impl Observer,
) -> Result<Evaluation> {
    let (mut config, model) = open_run(run, backend_name)?;
    if data_dir.is_some() {
        config.data_dir = data_dir;
    }
    if let Some(data) = data {
        config.data = data.absolute();
    }
    config.dataset = Some(config.spec().dataset_info());
    let data = data::load(&config, limit, observer)?;
    let device = backend::device(&config.backend)?;
    let batcher = data::batcher(&config, false);
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
    let config = TrainConfig::read_from_run(run)?;
    let device = backend::device(&config.backend)?;
    let run = Run::open(run, &device)?;
    let mut out = Vec::new();
    for path in images {
        let x = run.input(run.read_image(path)?, &device);
        let ranked = run.rank(run.model.forward(x))?;
        out.push(
            ranked
                .into_iter()
                .take(k)
                .map(|(class, name, probability)| Prediction {
                    class,
                    name,
                    probability,
                })
                .collect(),
        );
    }
    Ok(out)
}
