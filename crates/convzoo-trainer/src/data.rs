//! A run's data: the `--data` dataset loaded once, limited, with its normalisation resolved,
//! and what the run records about it (classes, image shape) so that `eval`, `predict` and
//! `--resume` treat images as training did.

use convzoo_datasets::{
    BadFile, DataOptions, FASHION_MNIST, ImageBatcher, ImageSet, Normalize, read_image,
};
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::observe::{Event, Observer};

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

/// A run's training and test sets with their description.
#[derive(Clone, Debug)]
pub struct RunData {
    /// Training images (limited by `--limit-train`).
    pub train: ImageSet,
    /// Test images (limited by `--limit-test`).
    pub test: ImageSet,
    /// What the run records.
    pub info: DatasetInfo,
    /// The files skipped.
    pub skipped: Vec<BadFile>,
}

/// Loads the data of `c` (the run's limits applied; `limit_test` replaces `c.limit_test`), and
/// resolves the normalisation (`--normalize dataset` computes it on the training images).
pub fn load(c: &TrainConfig, limit_test: usize, observer: &mut impl Observer) -> Result<RunData> {
    let opts = DataOptions {
        data_dir: c.data_dir.clone(),
        size: c.resize,
        val_split: c.val_split,
        seed: c.seed,
        skip_bad: c.skip_bad_images,
    };
    let data = c.data.load_with(&opts, &mut |url| {
        observer.event(&Event::Downloading { url: url.into() })
    })?;
    let limit = |set: ImageSet, n: usize| if n > 0 { set.truncate(n) } else { set };
    let train = limit(data.train, c.limit_train);
    let test = limit(data.test, limit_test);
    let normalize = match &c.dataset {
        // A resumed or finished run uses the values it started with.
        Some(info) => info.normalize.clone(),
        None => c
            .normalize
            .resolve(&train)
            .map_err(|problem| Error::BadValue {
                flag: "--normalize",
                problem,
            })?,
    };
    let info = DatasetInfo {
        classes: train.classes().to_vec(),
        shape: train.shape(),
        normalize,
        skipped: data.skipped.len(),
    };
    if let Some(stored) = &c.dataset
        && (stored.classes != info.classes || stored.shape != info.shape)
    {
        return Err(Error::DataChanged {
            data: c.data.to_string(),
            stored: describe(stored),
            found: describe(&info),
        });
    }
    Ok(RunData {
        train,
        test,
        info,
        skipped: data.skipped,
    })
}

fn describe(info: &DatasetInfo) -> String {
    let [c, h, w] = info.shape;
    format!(
        "{} classes ({}), {c}x{h}x{w} images",
        info.classes.len(),
        info.classes.join(", ")
    )
}

/// The batcher that turns the run's images into the model's input (`augment` only in
/// training).
pub fn batcher(c: &TrainConfig, info: &DatasetInfo, training: bool) -> ImageBatcher {
    ImageBatcher {
        resize: Some(c.resize),
        normalize: info.normalize.clone(),
        augment: if training {
            c.augment
        } else {
            Default::default()
        },
    }
}

/// One image file as the run's stored images are: the run's channels and stored size, bytes
/// `[C, H, W]`.
pub fn read_like_training(path: &std::path::Path, info: &DatasetInfo) -> Result<Vec<u8>> {
    let [c, h, w] = info.shape;
    Ok(read_image(path, c, Some([h, w]))?.0)
}
