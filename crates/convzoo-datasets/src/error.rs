//! The errors of loading data: each names the file and what is wrong with it.

use std::path::PathBuf;

/// What is wrong with the bytes of an IDX file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdxError {
    /// The first bytes are not `00 00 08 <ndims>`.
    #[error("not an IDX file of bytes: magic number {found:02x?}, expected [00, 00, 08, ndims]")]
    BadMagic {
        /// The first four bytes (fewer if the file is shorter).
        found: Vec<u8>,
    },
    /// The header declares zero dimensions.
    #[error("IDX header declares 0 dimensions")]
    NoDimensions,
    /// The file ends inside the header.
    #[error("truncated header: {len} bytes, but a {ndims}-dimensional IDX header needs {needed}")]
    TruncatedHeader {
        /// File length.
        len: usize,
        /// Dimensions declared by the magic number.
        ndims: usize,
        /// Header length.
        needed: usize,
    },
    /// The dimensions multiply to more than memory can hold.
    #[error("IDX dimensions {dims:?} are too large")]
    TooLarge {
        /// The declared dimensions.
        dims: Vec<usize>,
    },
    /// The file ends before all the data the header promises.
    #[error("truncated body: dimensions {dims:?} need {expected} bytes of data, found {found}")]
    TruncatedBody {
        /// The declared dimensions.
        dims: Vec<usize>,
        /// Bytes the dimensions need.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The file goes on after the data.
    #[error("{extra} unexpected bytes after the data of dimensions {dims:?}")]
    TrailingBytes {
        /// The declared dimensions.
        dims: Vec<usize>,
        /// Bytes beyond the data.
        extra: usize,
    },
}

/// An error while finding, reading or checking data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file could not be written (see [`write_atomic`](crate::write_atomic)).
    #[error("{}: cannot write: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error, or what the writer reported.
        reason: String,
    },
    /// A file is missing from a directory that was named explicitly.
    #[error("{}: missing ({what})", path.display())]
    Missing {
        /// The file that should be there.
        path: PathBuf,
        /// What the file holds.
        what: String,
    },
    /// A gzip stream is corrupt.
    #[error("{}: corrupt gzip data: {source}", path.display())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// The bytes are not a valid IDX file.
    #[error("{}: {source}", path.display())]
    Idx {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: IdxError,
    },
    /// An images file is not `[N, H, W]` or a labels file not `[N]`.
    #[error("{}: expected {expected}, found dimensions {dims:?}", path.display())]
    WrongRank {
        /// The file.
        path: PathBuf,
        /// What was expected.
        expected: &'static str,
        /// The dimensions found.
        dims: Vec<usize>,
    },
    /// Image and label files disagree on the number of examples.
    #[error("{} holds {images} images but {} holds {labels} labels", images_path.display(), labels_path.display())]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// Its number of images.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// Its number of labels.
        labels: usize,
    },
    /// A label is not one of the classes.
    #[error("{}: label {label} at index {index} is outside the {classes} classes", path.display())]
    LabelOutOfRange {
        /// The labels file.
        path: PathBuf,
        /// Position of the bad label.
        index: usize,
        /// The label.
        label: u8,
        /// Number of classes.
        classes: usize,
    },
    /// A file's SHA-256 is not the expected one.
    #[error(
        "{}: checksum mismatch: SHA-256 {found}, expected {expected} (from {origin}); the file is \
         corrupt or not the right file: replace it with a good copy",
        path.display()
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The SHA-256 found.
        found: String,
        /// The SHA-256 expected.
        expected: String,
        /// Where the expected value comes from.
        origin: String,
    },
    /// No location holds the dataset.
    #[error("{dataset} not found; looked in: {}; {hint}", looked.join("; "))]
    NotFound {
        /// The dataset's name.
        dataset: String,
        /// Each place looked, with why it did not serve.
        looked: Vec<String>,
        /// How to fix it.
        hint: String,
    },
    /// A download failed.
    #[error("{url}: download failed: {reason}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// An image file could not be decoded.
    #[error("{}: unreadable image: {reason}", path.display())]
    BadImage {
        /// The image file.
        path: PathBuf,
        /// The decoder's message.
        reason: String,
    },
    /// A file of fixed-size records (CIFAR-10) has a length that is not a whole number of them.
    #[error("{}: {len} bytes is not a whole number of {record}-byte records", path.display())]
    BadRecords {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
        /// Bytes of one record.
        record: usize,
    },
    /// The test folder's classes are not the training folder's.
    #[error(
        "{} and {} hold different classes (only in train: {}; only in test: {}): give both the \
         same class folders",
        train.display(),
        test.display(),
        list(only_train),
        list(only_test)
    )]
    ClassMismatch {
        /// The training folder.
        train: PathBuf,
        /// The test folder.
        test: PathBuf,
        /// Classes only in the training folder.
        only_train: Vec<String>,
        /// Classes only in the test folder.
        only_test: Vec<String>,
    },
    /// The decoded images would not fit in memory.
    #[error(
        "{}: {images} images at this size take {} MiB decoded, more than 80% of the {} MiB \
         available: pass a smaller --resize, or use fewer images",
        path.display(),
        needed >> 20,
        available >> 20
    )]
    TooLarge {
        /// The dataset folder.
        path: PathBuf,
        /// Number of images.
        images: usize,
        /// Bytes the decoded images need.
        needed: u64,
        /// Bytes of memory available.
        available: u64,
    },
    /// An image folder is empty or malformed.
    #[error("{}: {reason}", path.display())]
    BadFolder {
        /// The folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// `a, b` or `none`.
fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
