//! The training loop's records: a step added to the epoch's sums and reported, and a finished
//! epoch written out.

use std::path::Path;

use crate::checkpoint::LoopState;
use crate::config::TrainConfig;
use crate::error::Result;
use crate::metrics::EpochMetrics;
use crate::observe::{Event, Observer};
use crate::plot::write_curves;
use crate::step::StepStats;
use crate::tensorboard::EventWriter;

/// Adds step `state.next_step` (of `len` images, `steps` in the epoch, `secs` into it) to the
/// epoch's sums, and reports it to TensorBoard (every `--log-every` steps) and the observer.
#[allow(clippy::too_many_arguments)]
pub(super) fn count_step(
    c: &TrainConfig,
    state: &mut LoopState,
    stats: StepStats,
    len: usize,
    steps: usize,
    secs: f64,
    events: &mut EventWriter,
    observer: &mut impl Observer,
) -> Result<()> {
    state.correct += stats.correct;
    state.loss_sum += stats.loss * len as f64;
    state.seen += len as u64;
    state.next_step += 1;
    state.global_step += 1;
    if c.log_every > 0 && state.global_step.is_multiple_of(c.log_every) {
        events.scalar("train/loss", state.global_step as u64, stats.loss)?;
    }
    observer.event(&Event::Step {
        epoch: state.epoch + 1,
        epochs: c.epochs,
        step: state.next_step,
        steps,
        loss: state.loss_sum / state.seen as f64,
        acc: state.correct as f64 / state.seen as f64,
        images_per_sec: state.seen as f64 / secs.max(1e-9),
        epoch_seconds: secs,
    });
    Ok(())
}

/// Records a finished epoch: TensorBoard scalars, the observer's event, the metrics files and
/// curves; then starts the next epoch's sums.
pub(super) fn end_epoch(
    c: &TrainConfig,
    run: &Path,
    state: &mut LoopState,
    record: EpochMetrics,
    steps: usize,
    events: &mut EventWriter,
    observer: &mut impl Observer,
) -> Result<()> {
    let at = record.epoch as u64;
    for (tag, value) in [
        ("epoch/train_loss", record.train_loss),
        ("epoch/train_acc", record.train_acc),
        ("epoch/test_acc", record.test_acc),
        ("epoch/lr", c.lr_at(state.epoch, 0, steps)),
        ("epoch/images_per_sec", record.train_images_per_sec),
    ] {
        events.scalar(tag, at, value)?;
    }
    observer.event(&Event::Epoch {
        metrics: record.clone(),
        epochs: c.epochs,
    });
    state.metrics.epochs.push(record);
    state.epoch += 1;
    (
        state.next_step,
        state.loss_sum,
        state.correct,
        state.seen,
        state.train_seconds,
        state.data_seconds,
    ) = (0, 0.0, 0, 0, 0.0, 0.0);
    state.metrics.write(run)?;
    if let Err(e) = write_curves(run, &state.metrics) {
        observer.event(&Event::Warning(format!("curves not drawn: {e}")));
    }
    Ok(())
}
