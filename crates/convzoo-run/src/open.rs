//! [`Run`]: a finished run opened for inference: its model with the trained weights, and its
//! images read as training read them.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use convzoo_datasets::{ImageSet, decode_image_bytes, read_image, to_planar};
use convzoo_models::Model;

use crate::error::{Error, Result};
use crate::spec::{DatasetInfo, RunSpec};
use crate::weights::load_weights;

/// A finished run: its directory, configuration, dataset record and model (inference mode).
#[derive(Clone, Debug)]
pub struct Run {
    /// The run directory.
    pub dir: PathBuf,
    /// Its configuration.
    pub spec: RunSpec,
    /// Its dataset record.
    pub info: DatasetInfo,
    /// The trained model, in inference mode.
    pub model: Model,
}

impl Run {
    /// Opens the run directory `dir` on `device`: `config.json` and the final `model.bpk`.
    pub fn open(dir: &Path, device: &Device) -> Result<Run> {
        let spec = RunSpec::read(dir)?;
        let weights = dir.join("model.bpk");
        if !weights.exists() {
            return Err(Error::NotFinished {
                weights,
                run: dir.into(),
            });
        }
        let model = load_weights(&weights, spec.model_config()?.init(device))?.valid();
        Ok(Run {
            dir: dir.into(),
            info: spec.dataset_info(),
            spec,
            model,
        })
    }

    /// An image file's pixels as the run's stored images are (channels, size): `[C, H, W]`.
    pub fn read_image(&self, path: &Path) -> Result<Vec<u8>> {
        let [c, h, w] = self.info.shape;
        Ok(read_image(path, c, Some([h, w]))?.0)
    }

    /// An image file's bytes (PNG, JPEG, BMP, WebP) as [`read_image`](Self::read_image) reads
    /// them; errors name `name`.
    pub fn decode_image(&self, bytes: &[u8], name: &Path) -> Result<Vec<u8>> {
        let [c, h, w] = self.info.shape;
        let img = decode_image_bytes(bytes, name)?;
        Ok(to_planar(img, c, Some([h, w]), name)?.0)
    }

    /// The model's input for one image's pixels (from [`read_image`](Self::read_image)):
    /// `[1, C, resize, resize]`, normalised as in training.
    pub fn input(&self, pixels: Vec<u8>, device: &Device) -> Tensor<4> {
        let set = ImageSet::new(pixels, vec![0], self.info.shape, self.info.classes.clone());
        self.spec
            .batcher()
            .batch_indices(&set, &[0], device, 0)
            .images
    }

    /// Every class with its probability for the logits `[1, classes]`, most probable first.
    pub fn rank(&self, logits: Tensor<2>) -> Result<Vec<(usize, String, f32)>> {
        let probs: Vec<f32> = softmax(logits, 1)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(Error::burn)?;
        let mut ranked: Vec<(usize, f32)> = probs.into_iter().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(ranked
            .into_iter()
            .map(|(i, p)| {
                let name = self
                    .info
                    .classes
                    .get(i)
                    .map_or(format!("class {i}"), |c| c.to_string());
                (i, name, p)
            })
            .collect())
    }
}
