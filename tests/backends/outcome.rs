//! What one backend computes for a model (logits, first-step gradients, five SGD steps) and how
//! far two such outcomes are apart.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor};
use convzoo_blocks::for_each_tensor;
use convzoo_blocks::testing::{max_abs_diff, values};
use convzoo_models::Model;

/// Every float tensor of a model (parameters and running statistics) under its PyTorch key, in
/// visiting order.
pub fn tensors(model: &Model) -> Vec<(String, Vec<f32>)> {
    let mut out = Vec::new();
    for_each_tensor(model, |t| {
        out.push((model.torch_key(t.path), values(t.value())))
    });
    out
}

/// The gradient of every parameter that has one, under its PyTorch key, in visiting order.
fn gradients(model: &Model, grads: &burn::tensor::Gradients) -> Vec<(String, Vec<f32>)> {
    let mut out = Vec::new();
    for_each_tensor(model, |t| {
        if let Some(g) = t.grad(grads) {
            out.push((model.torch_key(t.path), values(g)));
        }
    });
    out
}

/// What a backend computed for one model.
pub struct Outcome {
    pub logits: Vec<f32>,
    pub grads: Vec<(String, Vec<f32>)>,
    pub losses: Vec<f32>,
    pub weights: Vec<(String, Vec<f32>)>,
}

/// Inference logits of `model` on `x`, then one SGD step per batch of `batches`, all on `device`;
/// on flex with convzoo's flex kernels or, `kernels` false, with Burn's operations.
pub fn run(
    model: &Model,
    x: &Tensor<4>,
    batches: &[(Tensor<4>, Tensor<1, Int>)],
    lr: f64,
    device: &Device,
    kernels: bool,
) -> Outcome {
    convzoo_blocks::flex::set_enabled(kernels);
    let logits = values(
        model
            .clone()
            .to_device(device)
            .valid()
            .forward(x.clone().to_device(device)),
    );
    let ad = device.clone().autodiff();
    let mut net = model.clone().to_device(&ad).train();
    let mut optim = SgdConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let mut losses = Vec::new();
    let mut first_grads = Vec::new();
    for (bx, by) in batches {
        let out = net.forward(bx.clone().to_device(&ad));
        let loss = loss_fn.forward(out, by.clone().to_device(&ad));
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = loss.backward();
        if first_grads.is_empty() {
            first_grads = gradients(&net, &grads);
        }
        let grads = GradientsParams::from_grads(grads, &net);
        net = optim.step(lr, net, grads);
    }
    convzoo_blocks::flex::set_enabled(true);
    Outcome {
        logits,
        grads: first_grads,
        losses,
        weights: tensors(&net),
    }
}

/// How far two outcomes are apart: max abs differences of logits, losses and weights, and the
/// gradients of the first batch relative to each parameter's largest gradient, but at least 5%
/// of the model's largest (a bias right before a batch norm has a true gradient of zero, and
/// what is computed for it is rounding noise). `unchecked` names gradients reported, not
/// counted.
pub struct Differences {
    pub logits: f32,
    pub grads: f32,
    pub worst_grad: String,
    pub losses: f32,
    pub weights: f32,
    pub worst_weight: String,
}

pub fn differences(
    base: &Outcome,
    other: &Outcome,
    unchecked: impl Fn(&str) -> bool,
) -> Differences {
    assert_eq!(base.grads.len(), other.grads.len(), "gradients");
    assert_eq!(base.weights.len(), other.weights.len(), "weights");
    let largest = |g: &[f32]| g.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let model_scale = base
        .grads
        .iter()
        .map(|(_, g)| largest(g))
        .fold(0.0, f32::max);
    let (mut grads, mut worst_grad) = (0.0f32, String::new());
    for ((path, a), (_, b)) in base.grads.iter().zip(&other.grads) {
        if unchecked(path) {
            eprintln!(
                "  gradient of {path} {:.1e} (relative, not checked)",
                max_abs_diff(a, b) / largest(a).max(f32::MIN_POSITIVE)
            );
            continue;
        }
        let scale = largest(a).max(0.05 * model_scale).max(f32::MIN_POSITIVE);
        let d = max_abs_diff(a, b) / scale;
        if d > grads {
            grads = d;
            worst_grad = format!(
                "{path}: {:.1e} of {:.1e}, model {model_scale:.1e}",
                max_abs_diff(a, b),
                largest(a)
            );
        }
    }
    let (mut weights, mut worst_weight) = (0.0f32, String::new());
    for ((path, a), (_, b)) in base.weights.iter().zip(&other.weights) {
        let d = max_abs_diff(a, b);
        if d > weights {
            (weights, worst_weight) = (d, path.clone());
        }
    }
    Differences {
        logits: max_abs_diff(&base.logits, &other.logits),
        grads,
        worst_grad,
        losses: max_abs_diff(&base.losses, &other.losses),
        weights,
        worst_weight,
    }
}
