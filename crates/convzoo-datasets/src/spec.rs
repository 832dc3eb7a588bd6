//! [`DataSpec`]: which dataset a run trains on (`--data`), and loading its training and test
//! sets in one call.

use std::path::{Path, PathBuf};

use crate::cifar::load_cifar10;
use crate::error::DataError;
use crate::folder::{BadFile, FolderOptions, load_folder};
use crate::image_set::ImageSet;
use crate::mnist::{FASHION_MNIST, MNIST, Split};

/// A dataset: Fashion-MNIST, MNIST, a class folder or CIFAR-10's binary files. Written and
/// read as `--data` spells it: `fashion-mnist`, `mnist`, `folder:PATH`, `cifar10:PATH`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DataSpec {
    /// Fashion-MNIST (shipped in the workspace; d2l's dataset).
    #[default]
    FashionMnist,
    /// MNIST, found as Fashion-MNIST is (`--data-dir`, `$CONVZOO_DATA`, the cache, a download).
    Mnist,
    /// `PATH/train/<class>/<image>` and `PATH/test/<class>/<image>` (or a validation split).
    Folder(PathBuf),
    /// CIFAR-10's binary version in `PATH` (or `PATH/cifar-10-batches-bin`).
    Cifar10(PathBuf),
}

/// How to load a [`DataSpec`].
#[derive(Clone, Debug, PartialEq)]
pub struct DataOptions {
    /// The directory of the (Fashion-)MNIST files, used alone (`None`: search).
    pub data_dir: Option<PathBuf>,
    /// Side length image folders are decoded at (other datasets keep their size).
    pub size: usize,
    /// Fraction of each class held out for testing, for image folders without `test/`.
    pub val_split: f64,
    /// Seed of the validation split and of an image folder's order.
    pub seed: u64,
    /// Skip image files that do not decode instead of failing.
    pub skip_bad: bool,
}

/// A dataset's training and test sets.
#[derive(Clone, Debug)]
pub struct Data {
    /// The training set.
    pub train: ImageSet,
    /// The test set.
    pub test: ImageSet,
    /// Image files skipped (only with [`DataOptions::skip_bad`]).
    pub skipped: Vec<BadFile>,
}

impl DataSpec {
    /// Whether this is an image folder (the only kind that has a validation split and bad files
    /// to skip).
    pub fn is_folder(&self) -> bool {
        matches!(self, DataSpec::Folder(_))
    }

    /// The dataset's name in messages: `Fashion-MNIST`, `MNIST`, `images/`, `CIFAR-10 in data/`.
    pub fn title(&self) -> String {
        match self {
            DataSpec::FashionMnist => "Fashion-MNIST".into(),
            DataSpec::Mnist => "MNIST".into(),
            DataSpec::Folder(p) => p.display().to_string(),
            DataSpec::Cifar10(p) => format!("CIFAR-10 in {}", p.display()),
        }
    }

    /// The same dataset with its directory made absolute against the current directory, so
    /// that a run's stored `--data` works from anywhere.
    pub fn absolute(self) -> DataSpec {
        match self {
            DataSpec::Folder(p) => DataSpec::Folder(absolute(&p)),
            DataSpec::Cifar10(p) => DataSpec::Cifar10(absolute(&p)),
            other => other,
        }
    }

    /// Loads the training and test sets; a download (the last fall-back of the IDX datasets) is
    /// reported to `on_download` with its URL first.
    pub fn load_with(
        &self,
        opts: &DataOptions,
        on_download: &mut dyn FnMut(&str),
    ) -> Result<Data, DataError> {
        let idx = |dataset: &crate::mnist::IdxDataset, on_download: &mut dyn FnMut(&str)| {
            let dir = opts.data_dir.as_deref();
            Ok::<_, DataError>(Data {
                train: dataset.load_with(Split::Train, dir, on_download)?,
                test: dataset.load_with(Split::Test, dir, on_download)?,
                skipped: vec![],
            })
        };
        match self {
            DataSpec::FashionMnist => idx(&FASHION_MNIST, on_download),
            DataSpec::Mnist => idx(&MNIST, on_download),
            DataSpec::Cifar10(dir) => Ok(Data {
                train: load_cifar10(dir, Split::Train)?,
                test: load_cifar10(dir, Split::Test)?,
                skipped: vec![],
            }),
            DataSpec::Folder(root) => {
                let folder = load_folder(
                    root,
                    &FolderOptions {
                        size: opts.size,
                        val_split: opts.val_split,
                        seed: opts.seed,
                        skip_bad: opts.skip_bad,
                    },
                )?;
                Ok(Data {
                    train: folder.train,
                    test: folder.test,
                    skipped: folder.skipped,
                })
            }
        }
    }

    /// [`load_with`](Self::load_with), downloading silently.
    pub fn load(&self, opts: &DataOptions) -> Result<Data, DataError> {
        self.load_with(opts, &mut |_| {})
    }
}

impl std::str::FromStr for DataSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let path = |p: &str, kind: &str| {
            if p.is_empty() {
                Err(format!("'{s}' names no directory: use {kind}:PATH"))
            } else {
                Ok(PathBuf::from(p))
            }
        };
        match s.split_once(':') {
            None if s == "fashion-mnist" => Ok(DataSpec::FashionMnist),
            None if s == "mnist" => Ok(DataSpec::Mnist),
            Some(("folder", p)) => Ok(DataSpec::Folder(path(p, "folder")?)),
            Some(("cifar10", p)) => Ok(DataSpec::Cifar10(path(p, "cifar10")?)),
            _ => Err(format!(
                "unknown dataset '{s}': use fashion-mnist, mnist, folder:PATH or cifar10:PATH"
            )),
        }
    }
}

impl std::fmt::Display for DataSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataSpec::FashionMnist => f.write_str("fashion-mnist"),
            DataSpec::Mnist => f.write_str("mnist"),
            DataSpec::Folder(p) => write!(f, "folder:{}", p.display()),
            DataSpec::Cifar10(p) => write!(f, "cifar10:{}", p.display()),
        }
    }
}

/// `path` made absolute against the current directory, so that a run's stored `--data` works
/// from anywhere.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print() {
        for s in ["fashion-mnist", "mnist", "folder:/data/pets", "cifar10:c10"] {
            assert_eq!(s.parse::<DataSpec>().unwrap().to_string(), s);
        }
        assert_eq!(
            "folder:a:b".parse::<DataSpec>().unwrap(),
            DataSpec::Folder("a:b".into())
        );
        for bad in ["cifar", "folder:", "imagenet:/x", ""] {
            let e = bad.parse::<DataSpec>().unwrap_err();
            assert!(
                e.contains("fashion-mnist") || e.contains("names no directory"),
                "{e}"
            );
        }
        let json = serde_json::to_string(&DataSpec::Cifar10("x".into())).unwrap();
        assert_eq!(json, "\"cifar10:x\"");
    }
}
