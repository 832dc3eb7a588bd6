//! One training step: forward, cross-entropy, backward and optimiser update, on one device
//! ([`train_step`]) or on several ([`parallel::step`], which the training loop takes).

use burn::nn::loss::CrossEntropyLoss;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Int, Tensor};
use convzoo_models::Model;

pub mod parallel;

/// What one step measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    /// The mean cross-entropy of the batch (before the update).
    pub loss: f64,
    /// Correct predictions in the batch (before the update).
    pub correct: u64,
}

/// Number of correct predictions in `logits` for `labels`.
pub fn count_correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> u64 {
    let predicted = logits.argmax(1).squeeze_dim::<1>(1);
    predicted.equal(labels).int().sum().into_scalar::<i64>() as u64
}

/// The forward half of a step: the loss tensor (to take gradients of) and its statistics.
pub fn forward_loss(
    model: &Model,
    loss_fn: &CrossEntropyLoss,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
) -> (Tensor<1>, StepStats) {
    let logits = model.forward(images);
    let loss = loss_fn.forward(logits.clone(), labels.clone());
    let value = loss.clone().into_scalar::<f32>() as f64;
    let correct = count_correct(logits, labels);
    (
        loss,
        StepStats {
            loss: value,
            correct,
        },
    )
}

/// One training step of `model` on a batch with learning rate `lr`: forward, cross-entropy,
/// backward, optimiser update. Returns the updated model and the batch's loss and correct
/// count (measured before the update).
pub fn train_step(
    model: Model,
    optim: &mut ModuleOptimizer,
    loss_fn: &CrossEntropyLoss,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    lr: f64,
) -> (Model, StepStats) {
    let (loss, stats) = forward_loss(&model, loss_fn, images, labels);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (optim.step(lr, model, grads), stats)
}
