//! What a training run reports while it works: the library never prints, it hands [`Event`]s
//! to an [`Observer`] (the `convzoo` binary prints them; tests collect them).

use std::path::PathBuf;

use crate::metrics::EpochMetrics;

/// One thing that happened in a run.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A new run's directory was created.
    RunDir(PathBuf),
    /// A run is being continued.
    Resuming(PathBuf),
    /// A dataset file is being downloaded (the data was found nowhere else).
    Downloading {
        /// Its URL.
        url: String,
    },
    /// The data was loaded and the backend built.
    Loaded {
        /// Registry model name.
        model: String,
        /// The dataset's name.
        data: String,
        /// Image files skipped (`--skip-bad-images`), listed in the run's `skipped.txt`.
        skipped: usize,
        /// Training images.
        train: usize,
        /// Test images.
        test: usize,
        /// Seconds the loading took.
        seconds: f64,
        /// What the backend runs on.
        backend: String,
    },
    /// A checkpoint was loaded; training continues from it.
    Resumed {
        /// The epoch, from 1.
        epoch: usize,
        /// The next step in the epoch, from 0.
        step: usize,
        /// The checkpoint directory.
        checkpoint: PathBuf,
    },
    /// A training step finished (for a live status line).
    Step {
        /// The epoch, from 1.
        epoch: usize,
        /// Epochs in the run.
        epochs: usize,
        /// The step, from 1.
        step: usize,
        /// Steps per epoch.
        steps: usize,
        /// Mean loss of the epoch so far.
        loss: f64,
        /// Training accuracy of the epoch so far.
        acc: f64,
        /// Training throughput of the epoch so far.
        images_per_sec: f64,
        /// Seconds of training in this epoch so far (before a resume included).
        epoch_seconds: f64,
    },
    /// An epoch finished.
    Epoch {
        /// Its metrics.
        metrics: EpochMetrics,
        /// Epochs in the run.
        epochs: usize,
    },
    /// Something went wrong that does not stop the run.
    Warning(String),
    /// The run finished.
    Done {
        /// The last epoch's metrics.
        last: EpochMetrics,
        /// The run directory.
        run: PathBuf,
    },
}

/// Receives the [`Event`]s of a run.
pub trait Observer {
    /// Called for each event, in order.
    fn event(&mut self, event: &Event);

    /// Asked after every training step: `true` stops the run there, with a checkpoint of that
    /// step (the `convzoo` binary answers from its SIGINT/SIGTERM handler).
    fn should_stop(&self) -> bool {
        false
    }
}

/// An observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn event(&mut self, _: &Event) {}
}

impl<F: FnMut(&Event)> Observer for F {
    fn event(&mut self, event: &Event) {
        self(event)
    }
}
