//! Fashion-MNIST and MNIST: four IDX files each, loaded into [`ImageSet`]s and checked.

use std::path::{Path, PathBuf};

use crate::checksum::{listed_sha256, verify};
use crate::error::DataError;
use crate::idx::{decompress, parse_idx_at, read_file};
use crate::image_set::ImageSet;
use crate::locate::locate_with;

/// Which part of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// The training set (60,000 images for (Fashion-)MNIST).
    Train,
    /// The test set (10,000 images).
    Test,
}

/// An IDX dataset: its files, classes and known content checksums.
#[derive(Clone, Copy, Debug)]
pub struct IdxDataset {
    /// Directory name and display name (`fashion-mnist`).
    pub name: &'static str,
    /// Class names, by label.
    pub classes: &'static [&'static str],
    /// Upstream download location of the four `.gz` files.
    pub url: &'static str,
    /// SHA-256 of the decompressed content of `[train images, train labels, test images, test
    /// labels]`, if known: checks copies found anywhere, however they were compressed.
    pub content_sha256: Option<[&'static str; 4]>,
}

/// The four file names, without `.gz`, in the order of `content_sha256`.
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 28x28 greyscale clothes in 10 classes.
pub const FASHION_MNIST: IdxDataset = IdxDataset {
    name: "fashion-mnist",
    classes: &[
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
    url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    content_sha256: Some([
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ]),
};

/// MNIST (LeCun et al.): 28x28 greyscale handwritten digits. Not shipped: point `--data-dir` or
/// `$CONVZOO_DATA` at its four files (checked against a `SHA256SUMS` beside them, if present).
pub const MNIST: IdxDataset = IdxDataset {
    name: "mnist",
    classes: &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    url: "https://storage.googleapis.com/cvdf-datasets/mnist/",
    content_sha256: None,
};

impl IdxDataset {
    /// Finds the dataset (see [`locate`](crate::locate)) and loads `split`. Downloads silently; see
    /// [`load_with`](Self::load_with).
    pub fn load(&self, split: Split, data_dir: Option<&Path>) -> Result<ImageSet, DataError> {
        self.load_with(split, data_dir, &mut |_| {})
    }

    /// [`load`](Self::load), calling `on_download` with each URL before the download fall-back
    /// fetches it (so that the caller can say why it waits).
    pub fn load_with(
        &self,
        split: Split,
        data_dir: Option<&Path>,
        on_download: &mut dyn FnMut(&str),
    ) -> Result<ImageSet, DataError> {
        let dir = locate_with(self, data_dir, on_download)?;
        self.load_from(&dir, split)
    }

    /// Loads `split` from the directory `dir`, which must hold its two files.
    pub fn load_from(&self, dir: &Path, split: Split) -> Result<ImageSet, DataError> {
        let (images_at, labels_at) = match split {
            Split::Train => (0, 1),
            Split::Test => (2, 3),
        };
        let (images_path, images) = self.read(dir, images_at)?;
        let (labels_path, labels) = self.read(dir, labels_at)?;
        let images = parse_idx_at(&images_path, &images)?;
        let labels = parse_idx_at(&labels_path, &labels)?;
        let [n, h, w] = images.dims[..] else {
            return Err(DataError::WrongRank {
                path: images_path,
                expected: "images of dimensions [N, H, W]",
                dims: images.dims,
            });
        };
        if labels.dims.len() != 1 {
            return Err(DataError::WrongRank {
                path: labels_path,
                expected: "labels of dimensions [N]",
                dims: labels.dims,
            });
        }
        if labels.dims[0] != n {
            return Err(DataError::CountMismatch {
                images_path,
                images: n,
                labels_path,
                labels: labels.dims[0],
            });
        }
        if let Some((index, &label)) = labels
            .data
            .iter()
            .enumerate()
            .find(|&(_, &l)| l as usize >= self.classes.len())
        {
            return Err(DataError::LabelOutOfRange {
                path: labels_path,
                index,
                label,
                classes: self.classes.len(),
            });
        }
        let classes = self.classes.iter().map(|c| c.to_string()).collect();
        let labels = labels.data.iter().map(|&l| l as usize).collect();
        Ok(ImageSet::new(images.data, labels, [1, h, w], classes))
    }

    /// The path of file `which` in `dir`: `NAME.gz` if present, else `NAME`.
    pub fn file_path(&self, dir: &Path, which: usize) -> Option<PathBuf> {
        let base = IDX_FILES[which];
        [format!("{base}.gz"), base.to_string()]
            .into_iter()
            .map(|name| dir.join(name))
            .find(|p| p.is_file())
    }

    /// Reads, checks and decompresses file `which` of `dir`.
    fn read(&self, dir: &Path, which: usize) -> Result<(PathBuf, Vec<u8>), DataError> {
        let path = self
            .file_path(dir, which)
            .ok_or_else(|| DataError::Missing {
                path: dir.join(format!("{}.gz", IDX_FILES[which])),
                what: format!("{} {}", self.name, IDX_FILES[which]),
            })?;
        let raw = read_file(&path)?;
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let listed = listed_sha256(dir, &name);
        if let Some(expected) = &listed {
            verify(
                &path,
                &raw,
                expected,
                &dir.join("SHA256SUMS").display().to_string(),
            )?;
        }
        let content = decompress(&path, raw)?;
        if let (None, Some(sums)) = (listed, self.content_sha256) {
            let origin = format!("the known {} content checksum", self.name);
            verify(&path, &content, sums[which], &origin)?;
        }
        Ok((path, content))
    }
}
