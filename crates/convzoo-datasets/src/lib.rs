//! Data for convzoo: Fashion-MNIST (shipped with the workspace, loaded offline), MNIST,
//! CIFAR-10's binary files, class folders of PNG/JPEG/BMP/WebP images ([`DataSpec`] names one)
//! and a synthetic set, as in-memory [`ImageSet`]s (Burn
//! [`Dataset`](burn::data::dataset::Dataset)s), with d2l's transforms and a batcher that resizes
//! on the training device.
//!
//! Where the files come from, in order: an explicit directory (used alone), `$CONVZOO_DATA`, the
//! workspace's `datasets/`, Debian's `/usr/share/datasets/` (package `dataset-fashion-mnist`),
//! the user cache (`~/.cache/convzoo`), then a download from the upstream URL into that cache.
//! Every file is checked (SHA-256) and parsed strictly;
//! errors name the file and the problem.
//!
//! # Example
//! ```
//! use burn::tensor::Device;
//! use convzoo_datasets::{FASHION_MNIST, ImageBatcher, Split};
//!
//! let test = FASHION_MNIST.load(Split::Test, None)?;
//! assert_eq!((test.len(), test.shape()), (10_000, [1, 28, 28]));
//! assert_eq!(test.classes()[test.label(0)], "Ankle boot");
//!
//! // A batch of 4 images resized to 96x96 on the device, as d2l's ResNet recipe does.
//! let batch = ImageBatcher::new(Some(96)).batch_indices(&test, &[0, 1, 2, 3], &Device::flex(), 0);
//! assert_eq!(batch.images.dims(), [4, 1, 96, 96]);
//! # Ok::<(), convzoo_datasets::DataError>(())
//! ```
#![warn(missing_docs)]

mod atomic;
mod batcher;
mod checksum;
mod cifar;
mod download;
mod error;
mod folder;
mod idx;
mod image_set;
mod locate;
mod mnist;
mod rng;
mod spec;
mod synthetic;
mod text;
mod transform;

pub use atomic::{write_atomic, write_atomic_with};
pub use batcher::{ImageBatch, ImageBatcher, batch_ranges};
pub use checksum::{listed_sha256, sha256_hex};
pub use cifar::{
    CIFAR10_CLASSES, CIFAR10_RECORD, CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, cifar10_dir,
    load_cifar10,
};
pub use download::{URL_ENV, download, download_from};
pub use error::{DataError, IdxError};
pub use folder::{
    BadFile, FolderData, FolderOptions, IMAGE_FORMATS, decode_image, decode_image_bytes,
    load_folder, read_image, to_planar,
};
pub use idx::{Idx, decompress, is_gzip, parse_idx};
pub use image_set::{ImageItem, ImageSet};
pub use locate::{DATA_ENV, cache_dir, candidates, locate, locate_with, workspace_datasets};
pub use mnist::{FASHION_MNIST, IDX_FILES, IdxDataset, MNIST, Split};
pub use rng::{SplitMix64, epoch_order};
pub use spec::{Data, DataOptions, DataSpec, absolute};
pub use synthetic::synthetic;
pub use transform::{Augment, Normalize, NormalizeSpec, resize_bilinear};
