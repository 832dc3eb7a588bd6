//! The errors of opening a run: each names the file and what is wrong with it.

use std::path::PathBuf;

use convzoo_datasets::DataError;

/// An error while reading a run directory or using its model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The run's `config.json` cannot be read.
    #[error("{}: cannot read ({source}); is {} a convzoo run directory?", path.display(), run.display())]
    NotARun {
        /// The `config.json` path.
        path: PathBuf,
        /// The run directory.
        run: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The run's `config.json` is not valid.
    #[error("{}: invalid run configuration: {source}", path.display())]
    BadRunConfig {
        /// The `config.json` path.
        path: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A run without final weights.
    #[error(
        "{}: no final weights; the run has not finished (continue it with --resume {})",
        weights.display(),
        run.display()
    )]
    NotFinished {
        /// The missing weights file.
        weights: PathBuf,
        /// The run directory.
        run: PathBuf,
    },
    /// A weights file that is not Burn's format.
    #[error("{}: not a readable weights file: {reason}", path.display())]
    UnreadableWeights {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        reason: String,
    },
    /// Weights of another model.
    #[error("{}: the weights do not fit model '{model}': {reason}", path.display())]
    WeightsMismatch {
        /// The file.
        path: PathBuf,
        /// The model.
        model: String,
        /// What did not fit.
        reason: String,
    },
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The model's configuration or input.
    #[error(transparent)]
    Model(#[from] convzoo_models::Error),
    /// Reading data or an image, or writing a file.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Burn reported an error.
    #[error("{0}")]
    Burn(String),
}

impl Error {
    /// The process exit status for this error: 2 for a bad name, otherwise 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Model(e) => e.exit_code(),
            _ => 1,
        }
    }

    /// Wraps a Burn error.
    pub fn burn(e: impl std::fmt::Debug) -> Self {
        Error::Burn(format!("{e:?}"))
    }
}

/// A result with the run's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
