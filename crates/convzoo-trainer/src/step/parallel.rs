//! A training step on one device or on several at once (data parallelism).
//!
//! With several devices the batch is cut into one slice per device (sizes differing by at
//! most one image), the model is forked to each device, and each device's thread runs the
//! forward and backward pass of its slice. Each slice's mean loss is weighted by its share of
//! the batch before the backward pass, so the gradients, moved to the main device and summed
//! there, are those of the whole batch's mean loss: a model without batch norm takes the same
//! step as on one device. The update is applied once, on the main device.
//!
//! Batch norm normalises each slice with its own statistics (as PyTorch's
//! `DistributedDataParallel` does); its running statistics become the mean of the devices'
//! updates. Dropout draws its masks by sample index ([`with_dropout_seed`]), so a slice gets
//! the masks its samples would get in the whole batch.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLoss;
use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::{Int, Tensor};
use convzoo_blocks::{settle_running_stats, with_dropout_seed};
use convzoo_datasets::ImageBatch;
use convzoo_models::Model;

use super::{StepStats, forward_loss};
use crate::devices::Devices;

/// The slices of a batch of `n` images over `devices` devices: `(first, len)` each, the sizes
/// differing by at most one, none empty (fewer slices than devices when `n` is smaller).
pub fn slices(n: usize, devices: usize) -> Vec<(usize, usize)> {
    let parts = devices.min(n).max(1);
    let (base, extra) = (n / parts, n % parts);
    let mut first = 0;
    (0..parts)
        .map(|k| {
            let len = base + usize::from(k < extra);
            let slice = (first, len);
            first += len;
            slice
        })
        .collect()
}

/// One slice's forward and backward pass on the model `model` forked to its device: the
/// gradients of its loss weighted by `weight`, and its statistics.
fn slice_gradients(
    model: &Model,
    loss_fn: &CrossEntropyLoss,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    weight: f64,
    dropout_seed: u64,
    first: usize,
) -> (GradientsParams, StepStats) {
    with_dropout_seed(dropout_seed, first, || {
        let (loss, stats) = forward_loss(model, loss_fn, images, labels);
        let loss = if weight == 1.0 {
            loss
        } else {
            loss.mul_scalar(weight)
        };
        (GradientsParams::from_grads(loss.backward(), model), stats)
    })
}

/// One training step of `model` on `batch` (on the main device of `devices`)
/// with learning rate `lr`: on one device, or sliced across several as the module describes.
/// `dropout_seed` seeds the dropout masks. Returns the updated model and the whole batch's
/// mean loss and correct count (measured before the update).
pub fn step(
    devices: &Devices,
    model: Model,
    optim: &mut ModuleOptimizer,
    loss_fn: &CrossEntropyLoss,
    batch: ImageBatch,
    lr: f64,
    dropout_seed: u64,
) -> (Model, StepStats) {
    let ImageBatch { images, labels } = batch;
    let n = images.dims()[0];
    let slices = slices(n, devices.len());
    if slices.len() == 1 {
        let (grads, stats) = slice_gradients(&model, loss_fn, images, labels, 1.0, dropout_seed, 0);
        let model = optim.step(lr, model, grads);
        settle_running_stats(&model);
        return (model, stats);
    }
    let results: Vec<(GradientsParams, StepStats)> = std::thread::scope(|scope| {
        let workers: Vec<_> = slices
            .iter()
            .zip(devices.all())
            .map(|(&(first, len), device)| {
                let images = images.clone().narrow(0, first, len).to_device(device);
                let labels = labels.clone().narrow(0, first, len).to_device(device);
                let forked = model.clone().fork(device);
                let weight = len as f64 / n as f64;
                scope.spawn(move || {
                    let (grads, stats) = slice_gradients(
                        &forked,
                        loss_fn,
                        images,
                        labels,
                        weight,
                        dropout_seed,
                        first,
                    );
                    (grads.to_device(devices.main(), &forked), stats)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| match w.join() {
                Ok(result) => result,
                // A device's failure is the step's: let it reach the caller as on one device.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    let mut sum = GradientsAccumulator::<Model>::new();
    let mut stats = StepStats {
        loss: 0.0,
        correct: 0,
    };
    for ((grads, s), &(_, len)) in results.into_iter().zip(&slices) {
        sum.accumulate(&model, grads);
        stats.loss += s.loss * len as f64 / n as f64;
        stats.correct += s.correct;
    }
    let model = optim.step(lr, model, sum.grads());
    // The forks' running statistics are the model's own (shared): settling averages the
    // devices' updates into them.
    settle_running_stats(&model);
    (model, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_the_batch_evenly() {
        assert_eq!(slices(10, 1), [(0, 10)]);
        assert_eq!(slices(10, 3), [(0, 4), (4, 3), (7, 3)]);
        assert_eq!(slices(2, 4), [(0, 1), (1, 1)]);
        assert_eq!(slices(1, 2), [(0, 1)]);
    }
}
