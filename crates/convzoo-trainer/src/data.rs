//! A run's data: the `--data` dataset loaded once, limited, with its normalisation resolved,
//! and what the run records about it (classes, image shape) so that `eval`, `predict` and
//! `--resume` treat images as training did.

use convzoo_datasets::{BadFile, DataOptions, ImageBatcher, ImageSet};

use crate::config::TrainConfig;
use crate::error::{Error, Result, UsageError};
use crate::observe::{Event, Observer};

pub use convzoo_run::DatasetInfo;

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
        None => c.normalize.resolve(&train).map_err(|problem| {
            Error::Usage(UsageError::BadValue {
                flag: "--normalize",
                problem,
            })
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
/// training); `c.dataset` must be set.
pub fn batcher(c: &TrainConfig, training: bool) -> ImageBatcher {
    let mut batcher = c.spec().batcher();
    if training {
        batcher.augment = c.augment;
    }
    batcher
}
