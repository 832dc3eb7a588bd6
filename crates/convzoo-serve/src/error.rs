//! The errors of the server: each is a one-line message with its HTTP status.

use std::path::PathBuf;

/// What went wrong with a request, or with starting the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No run was named, or none of the named directories is a run.
    #[error("no runs to serve: pass --run DIR (repeatable) or --runs DIR (a folder of runs)")]
    NoRuns,
    /// A `--runs` folder that cannot be listed.
    #[error("{}: cannot list runs: {source}", path.display())]
    ListRuns {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// `host:port`.
        addr: String,
        /// Why.
        reason: String,
    },
    /// A run directory (at start) or its model (at a request) cannot be used.
    #[error(transparent)]
    Run(#[from] convzoo_run::Error),
    /// The requested path does not exist.
    #[error("no such page or API: {0}")]
    NotFound(String),
    /// The path exists, with another method.
    #[error("{path} takes {allowed}, not {method}")]
    Method {
        /// The path.
        path: String,
        /// The method used.
        method: String,
        /// The method to use.
        allowed: &'static str,
    },
    /// `run=` names no listed run.
    #[error("unknown run '{0}': GET /api/runs lists the runs and their ids")]
    UnknownRun(String),
    /// The run is still training (no final weights yet).
    #[error("run '{0}' is still training: it has no final weights yet")]
    Training(String),
    /// The request has no body.
    #[error("empty body: POST the image file's bytes (PNG, JPEG, BMP or WebP)")]
    EmptyBody,
    /// The body is over the limit.
    #[error("the body is {len} bytes, over the {limit}-byte limit (--max-body-mib)")]
    TooLarge {
        /// Bytes sent (or declared).
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The body could not be read to its end.
    #[error("incomplete body: {0}")]
    Incomplete(String),
    /// The body is not in an image format the server reads.
    #[error("{0}")]
    NotAnImage(String),
    /// The body is an image that does not decode (truncated, corrupt).
    #[error("{0}")]
    BadImage(String),
}

impl Error {
    /// The HTTP status of the error.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotFound(_) | Error::UnknownRun(_) => 404,
            Error::Method { .. } => 405,
            Error::Training(_) => 409,
            Error::TooLarge { .. } => 413,
            Error::EmptyBody | Error::Incomplete(_) | Error::BadImage(_) => 400,
            Error::NotAnImage(_) => 415,
            _ => 500,
        }
    }
}

/// A result with the server's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
