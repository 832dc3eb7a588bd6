//! The one error type of the trainer: each variant names the file, flag or model it is about
//! and knows the exit status the `convzoo` binary gives it ([`Error::exit_code`]).

use std::path::PathBuf;

use convzoo_datasets::DataError;
use safetensors::tensor::Dtype;

use crate::backend;

mod usage;
pub use usage::UsageError;

/// Results of the trainer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of training, evaluating, benchmarking or converting models.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A mistake in how the program was called (exit status 2).
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// A model's error: an unknown name (usage), an input it cannot take, weights that do not
    /// fit; its exit status is the model crate's.
    #[error(transparent)]
    Model(#[from] convzoo_models::Error),

    // ---- everything else (exit status 1) ----
    /// Data that cannot be found, read or written.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Reading a run directory or its weights.
    #[error(transparent)]
    Run(#[from] convzoo_run::Error),
    /// A run's images do not fit the model (its config's resize).
    #[error("{source}; set --resize")]
    InputNeedsResize {
        /// The model's refusal.
        source: convzoo_models::Error,
    },
    /// A file or directory operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A directory that cannot be created.
    #[error("{}: cannot create: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An `--out` directory that already holds files.
    #[error(
        "{} already holds files; continue that run with `--resume {}` or choose another --out",
        dir.display(),
        dir.display()
    )]
    RunDirInUse {
        /// The directory.
        dir: PathBuf,
    },
    /// A run directory without a checkpoint to resume from.
    #[error("{}: no checkpoint to resume from ({source}); is this a convzoo run directory?", path.display())]
    NoCheckpoint {
        /// The `checkpoint.json` path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A checkpoint file that does not parse (`what`: `pointer` or `state`).
    #[error("{}: corrupt checkpoint {what}: {source}", path.display())]
    CorruptCheckpoint {
        /// The file.
        path: PathBuf,
        /// Which file it is.
        what: &'static str,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A checkpoint of another format version.
    #[error("{}: checkpoint format {found} is not {expected}", path.display())]
    CheckpointFormat {
        /// The state file.
        path: PathBuf,
        /// Its format.
        found: u32,
        /// The format this build reads.
        expected: u32,
    },
    /// A checkpoint or run of another model (`what`: `checkpoint` or `run`).
    #[error("{}: the {what} is of model '{found}', not '{expected}'", path.display())]
    ModelMismatch {
        /// The checkpoint or run directory.
        path: PathBuf,
        /// What it is.
        what: &'static str,
        /// Its model.
        found: String,
        /// The model asked for.
        expected: String,
    },
    /// An optimiser state Burn cannot read.
    #[error("{}: unreadable optimiser state: {reason}", path.display())]
    UnreadableOptimizer {
        /// The file.
        path: PathBuf,
        /// Burn's message.
        reason: String,
    },
    /// The training loss diverged.
    #[error(
        "training diverged: the loss became {loss:.4e} at epoch {epoch}, step {step} (lr {lr}; \
         the limit is {limit:.0}, 100 x the loss of a uniform guess); {}; try a smaller --lr",
        kept_text(.kept)
    )]
    Diverged {
        /// The loss.
        loss: f64,
        /// The epoch, from 1.
        epoch: usize,
        /// The step in the epoch, from 1.
        step: usize,
        /// The learning rate of the step.
        lr: f64,
        /// The divergence limit.
        limit: f64,
        /// The last checkpoint, if one was written.
        kept: Option<PathBuf>,
    },
    /// The run was stopped by a signal (Ctrl-C or SIGTERM) after writing a checkpoint.
    #[error(
        "stopped at epoch {epoch}, step {step}: checkpoint {}; continue with `train --resume {}`",
        checkpoint.display(),
        run.display()
    )]
    Interrupted {
        /// The run directory.
        run: PathBuf,
        /// The checkpoint written.
        checkpoint: PathBuf,
        /// The epoch, from 1.
        epoch: usize,
        /// Steps done in the epoch.
        step: usize,
    },
    /// The data of `--data` is not what the run was trained on.
    #[error("--data {data} now holds {found}, but the run was trained on {stored}")]
    DataChanged {
        /// The dataset.
        data: String,
        /// What the run recorded.
        stored: String,
        /// What is there now.
        found: String,
    },
    /// A weight tensor larger than the device can bind in one buffer.
    #[error(
        "model '{model}' has a {:.0} MiB tensor ({tensor}), more than the {:.0} MiB this {device} \
         can bind in one buffer; use a GPU with a larger limit or --backend flex",
        mib(.bytes),
        mib(.limit)
    )]
    TensorTooLarge {
        /// The model.
        model: String,
        /// The tensor's path in the model.
        tensor: String,
        /// Its size.
        bytes: u64,
        /// The device's limit.
        limit: u64,
        /// The device's label.
        device: String,
    },
    /// No adapter of the kind asked for.
    #[error(
        "no {name} adapter '{adapter}': {reason}; try --backend {name} (any adapter), or {}",
        backend::DRIVER_HINT
    )]
    NoAdapter {
        /// The backend.
        name: String,
        /// The adapter asked for.
        adapter: String,
        /// wgpu's message.
        reason: String,
    },
    /// No adapter at all.
    #[error(
        "no {name} adapter found (tried discrete, integrated, virtual and cpu; last: {last}); {}",
        backend::DRIVER_HINT
    )]
    NoAdapterFound {
        /// The backend.
        name: String,
        /// wgpu's last message.
        last: String,
    },
    /// A safetensors file that cannot be read (not safetensors, no tensor of that name) or
    /// written.
    #[error("{}: {problem}", path.display())]
    TensorFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// An `input` tensor of the wrong type or rank.
    #[error("{}: 'input' must be f32 [N, C, H, W], found {dtype:?} {shape:?}", path.display())]
    BadInputTensor {
        /// The file.
        path: PathBuf,
        /// Its element type.
        dtype: Dtype,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// A model that cannot be written as ONNX.
    #[error(transparent)]
    Onnx(#[from] convzoo_onnx::Error),
    /// The plots could not be drawn.
    #[error("{0}")]
    Plot(String),
    /// A program that cannot be started.
    #[error("{program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A benchmark process that failed (`reason`: its last line on stderr).
    #[error("{what}: {reason}")]
    BenchFailed {
        /// The benchmark, e.g. `lenet (pytorch)`.
        what: String,
        /// Why.
        reason: String,
    },
    /// A benchmark process whose result does not parse.
    #[error("{what}: unreadable result ({source}): {line}")]
    BenchOutput {
        /// The benchmark.
        what: String,
        /// The JSON error.
        source: serde_json::Error,
        /// The line it printed.
        line: String,
    },
    /// A design-space search stopped by a signal, its network's run checkpointed.
    #[error(
        "stopped during network {network} (its run is checkpointed); run the same command again          to continue the search in {}",
        dir.display()
    )]
    SearchStopped {
        /// The search directory.
        dir: PathBuf,
        /// The network that was training (`A-003`).
        network: String,
    },
    /// An error Burn reports without a type of its own (serialising records, device sync).
    #[error("{0}")]
    Burn(String),
}

fn mib(bytes: &u64) -> f64 {
    *bytes as f64 / (1024.0 * 1024.0)
}

fn kept_text(kept: &Option<PathBuf>) -> String {
    match kept {
        Some(dir) => format!("the last good checkpoint is kept in {}", dir.display()),
        None => "no checkpoint had been written yet".into(),
    }
}

impl Error {
    /// The exit status for this error: 2 for bad usage (an unknown model or backend, a bad flag
    /// value, conflicting flags, a bad config file), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Model(e) => e.exit_code(),
            Error::Run(e) => e.exit_code(),
            Error::Usage(_) => 2,
            Error::Interrupted { .. } | Error::SearchStopped { .. } => 130,
            _ => 1,
        }
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    /// An [`Error::Burn`] from a Burn error without a type of its own.
    pub fn burn(e: impl std::fmt::Debug) -> Error {
        Error::Burn(format!("{e:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_with_2_others_with_1() {
        let unknown = Error::from(convzoo_models::find("lenet5").unwrap_err());
        assert_eq!(unknown.exit_code(), 2);
        assert!(unknown.to_string().starts_with("unknown model 'lenet5'"));
        let resume = Error::from(UsageError::FlagWithResume { flag: "--seed" });
        assert_eq!(resume.exit_code(), 2);
        assert_eq!(
            resume.to_string(),
            "--resume continues a run with its saved configuration; --seed cannot be given with it"
        );
        let missing = Error::RunDirInUse { dir: "r".into() };
        assert_eq!(missing.exit_code(), 1);
        let diverged = Error::Diverged {
            loss: f64::NAN,
            epoch: 1,
            step: 2,
            lr: 0.5,
            limit: 230.0,
            kept: None,
        };
        assert_eq!(diverged.exit_code(), 1);
        assert!(
            diverged
                .to_string()
                .contains("at epoch 1, step 2 (lr 0.5; the limit is 230, 100 x"),
            "{diverged}"
        );
    }
}
