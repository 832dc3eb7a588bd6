//! Using a finished run: test accuracy and top-5 predictions for image files.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Tensor, TensorData};
use convzoo_datasets::{ImageBatcher, Split, read_image};
use convzoo_models::Model;

use crate::backend;
use crate::checkpoint::load_weights;
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::observe::Observer;
use crate::train::{accuracy, load_split};

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

/// Test accuracy of the run in `run` on (the first `limit` images of) the test set; a
/// download of the data is reported to `observer`.
pub fn evaluate(
    run: &Path,
    limit: usize,
    data_dir: Option<PathBuf>,
    backend_name: Option<&str>,
    observer: &mut impl Observer,
) -> Result<(TrainConfig, usize, f64)> {
    let (mut config, model) = open_run(run, backend_name)?;
    if data_dir.is_some() {
        config.data_dir = data_dir;
    }
    let test = load_split(&config, Split::Test, limit, observer)?;
    let device = backend::device(&config.backend)?;
    let acc = accuracy(
        &model,
        &test,
        &ImageBatcher::new(Some(config.resize)),
        config.batch_size,
        &device,
    );
    Ok((config, test.len(), acc))
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

/// The `k` most probable classes for each image, most probable first.
pub fn predict(run: &Path, images: &[PathBuf], k: usize) -> Result<Vec<Vec<Prediction>>> {
    let (config, model) = open_run(run, None)?;
    let device = backend::device(&config.backend)?;
    let classes = convzoo_datasets::FASHION_MNIST.classes;
    let mut out = Vec::new();
    for path in images {
        // Fashion-MNIST's form: greyscale 28x28, then the run's resize.
        let (bytes, shape) = read_image(path, 1, Some([28, 28]))?;
        let floats: Vec<f32> = bytes.iter().map(|&b| b as f32 / 255.0).collect();
        let x = Tensor::<4>::from_data(
            TensorData::new(floats, [1, shape[0], shape[1], shape[2]]),
            &device,
        );
        let x = convzoo_datasets::resize_bilinear(x, [config.resize, config.resize]);
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
                    name: classes
                        .get(i)
                        .map_or(format!("class {i}"), |c| c.to_string()),
                    probability: p,
                })
                .collect(),
        );
    }
    Ok(out)
}
