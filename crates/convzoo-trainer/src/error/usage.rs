//! Errors of usage: an unknown name, a bad flag value, conflicting flags, a bad configuration
//! file. The `convzoo` binary exits with status 2 on each.

use std::path::PathBuf;

use crate::backend;

/// A mistake in how the program was called; [`super::Error::Usage`] wraps it.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// A backend name the project does not know.
    #[error("unknown backend '{name}'; choose one of: {}", backend::known_names())]
    UnknownBackend {
        /// The name given.
        name: String,
    },
    /// A backend the project knows but this binary was built without.
    #[error(
        "backend '{name}' is not compiled into this binary (compiled: {}); rebuild it with the \
         cargo feature `{feature}`",
        backend::compiled().join(", ")
    )]
    BackendNotCompiled {
        /// The backend.
        name: String,
        /// The cargo feature that compiles it in.
        feature: &'static str,
    },
    /// A device selector on a backend that takes none.
    #[error("backend '{name}' takes no device selector (got '{name}:{selector}')")]
    NoSelector {
        /// The backend.
        name: String,
        /// The selector given.
        selector: String,
    },
    /// A wgpu adapter selector that does not parse.
    #[error(
        "bad adapter '{selector}'; choose auto, discrete[:N], integrated[:N], virtual[:N] or cpu \
         (e.g. --backend wgpu:cpu)"
    )]
    BadAdapter {
        /// The selector given.
        selector: String,
    },
    /// A wgpu adapter index that is not a number.
    #[error("bad adapter index '{index}' in '{selector}'")]
    BadAdapterIndex {
        /// The index given.
        index: String,
        /// The whole selector.
        selector: String,
    },
    /// A CUDA device that is not a GPU index.
    #[error("bad CUDA device '{selector}': give a GPU index, e.g. --backend cuda:0")]
    BadCudaDevice {
        /// The selector given.
        selector: String,
    },
    /// A `--devices` list with a missing or blank entry.
    #[error("--devices '{list}': {problem} (e.g. --devices cuda:0,cuda:1 or --devices flex,flex)")]
    BadDeviceList {
        /// The list given.
        list: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A `--devices` list that mixes backends.
    #[error(
        "--devices mixes backends '{first}' and '{other}': one step's devices must share a          backend (e.g. --devices wgpu:discrete:0,wgpu:discrete:1)"
    )]
    MixedDevices {
        /// The first device's spec.
        first: String,
        /// The first device of another backend.
        other: String,
    },
    /// A flag value out of its range.
    #[error("{flag} {problem}")]
    BadValue {
        /// The flag, e.g. `--lr`.
        flag: &'static str,
        /// What is wrong, e.g. `must be a positive number, got 0`.
        problem: String,
    },
    /// A `--resize` the model cannot take.
    #[error("--resize {resize}: {source}")]
    BadResize {
        /// The side given.
        resize: usize,
        /// The model's refusal.
        source: convzoo_models::Error,
    },
    /// A flag given with `--resume`, which takes the run's saved configuration.
    #[error(
        "--resume continues a run with its saved configuration; {flag} cannot be given with it"
    )]
    FlagWithResume {
        /// The flag, e.g. `--seed`.
        flag: &'static str,
    },
    /// A flag that needs another one.
    #[error("{flag} {needs}")]
    MissingFlag {
        /// The flag given.
        flag: &'static str,
        /// What it needs, e.g. `runs one model: give --model NAME`.
        needs: &'static str,
    },
    /// A `--config` file that cannot be read.
    #[error("{}: cannot read config: {source}", path.display())]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An `--anynet` file that cannot be read or is not a valid AnyNet.
    #[error("{}: {reason}", path.display())]
    AnyNetFile {
        /// The file.
        path: PathBuf,
        /// What is wrong (the OS error, or the stage and value).
        reason: String,
    },
    /// A `--config` file that is not valid settings.
    #[error("{}: invalid config: {source}", path.display())]
    ConfigParse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A peer benchmark's script that is not named, or not there.
    #[error(
        "{}: pass {flag} FILE or set {var} (the script is {in_repository} in the convzoo repository)",
        match found { Some(p) => format!("no such script {}", p.display()), None => "no benchmark script named".into() }
    )]
    PeerScript {
        /// The flag that names it.
        flag: &'static str,
        /// The environment variable that names it.
        var: &'static str,
        /// Where the repository keeps it.
        in_repository: &'static str,
        /// The path given, if any.
        found: Option<PathBuf>,
    },
}
