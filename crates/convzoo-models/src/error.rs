//! The one error type of this crate.

use std::path::PathBuf;

use crate::input::{InputSpec, SizeRule};

/// What can go wrong with a model: an unknown name, a configuration that cannot be built, an
/// input it cannot take, weights that do not fit it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Error {
    /// A name that is not in the registry.
    #[error("unknown model '{name}'; choose one of: {}", crate::model_names())]
    UnknownModel {
        /// The name asked for.
        name: String,
    },
    /// An input batch whose shape the model cannot take.
    #[error(
        "model '{model}' expects input {expected}, but was given {given:?}{}",
        resize_hint(expected)
    )]
    Input {
        /// The model's registry name.
        model: String,
        /// What it accepts.
        expected: InputSpec,
        /// The shape that was given.
        given: Vec<usize>,
    },
    /// An architecture configuration that cannot be built (an AnyNet stage of depth 0, ...).
    #[error("bad {model} configuration: {reason}")]
    Architecture {
        /// The architecture.
        model: String,
        /// What is wrong, naming the stage and the value.
        reason: String,
    },
    /// Weights that cannot be loaded or saved.
    #[error("{}: {reason}", path.display())]
    Weights {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the first mismatching keys.
        reason: String,
    },
}

impl Error {
    /// The exit status a command line should end with: 2 for an unknown name (bad usage), 1
    /// for an input or weights that do not fit.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::UnknownModel { .. } | Self::Architecture { .. } => 2,
            Self::Input { .. } | Self::Weights { .. } => 1,
        }
    }
}

fn resize_hint(expected: &InputSpec) -> String {
    match expected.size {
        SizeRule::Exact(s) => format!(" (resize the images to {s}x{s})"),
        SizeRule::AtLeast(_) => String::new(),
    }
}
