//! The same model code gives the same numbers on every backend compiled in.
//!
//! For every registry model, weights and inputs are made once on flex (the reference, with
//! convzoo's flex kernels) and copied to each other backend: inference logits must agree within
//! 1e-4 (max abs); the gradients of the first training batch, parameter by parameter, within 1e-3
//! of the largest gradient value of that parameter (or 5% of the model's largest, if more; 1e-2
//! for the 224x224 models on other backends, whose long reductions round differently); and
//! five SGD steps on the same batches
//! (dropout off because the backends' random streams differ) must give losses and final weights,
//! running statistics included, within 1e-3. Where a model is more sensitive than that, each
//! limit is ten times what flex itself does when every training input changes by one part in
//! 10^7 (measured in the test, per model): deep batch-norm models on four images (ResNet-34,
//! GoogLeNet with batch norm) move their first-step gradients by a few 1e-3 and their five-step
//! weights by 1e-3 to 0.3 from that change alone, so a tighter limit could not tell a backend
//! error from their own chaos. A model over a limit is drawn again (other weights and inputs)
//! and fails only if it is over on that draw too: a ReLU input within rounding of zero takes the
//! other branch on another backend, a discrete difference that depends on the draw, not on the
//! backend's arithmetic (see `every_model_agrees_across_backends`). Weights and inputs depend
//! only on the model and the draw, not on which backends are compared. The list always holds
//! `flex-burn-ops`: flex with the kernels switched off (`convzoo_blocks::flex::set_enabled`), so
//! that even the default flex-only build checks the kernels against Burn's own operations on
//! every model.
//!
//! Batches are 8 images at 28x28, 4 at 64x64 (the global-pooling models, smallest size where
//! every batch norm still averages over 16 or more values) and 1 at 224x224 (AlexNet and the
//! VGGs: a VGG-11 step is slow on ndarray). The learning rate keeps five steps on random
//! labels well-conditioned, so that 1e-3 measures the backends and not chaos: the recipe's, at
//! most 0.1, for the LeNets; 0.01 at 224x224 (five VGG-11 steps at its recipe's 0.05 turn a
//! change of one part in 10^7 in the first input into a loss change of 9.5e-4 on flex alone,
//! 1.8e-4 at 0.01); 1e-4 for the global-pooling models: batch norm over 16 values makes them
//! chaotic, and the same 1e-7 change moves ResNet-18's five-step loss by 3.2e-2 at lr 0.001 with
//! Burn's operations and by 8.2e-4 at 3e-4 with the kernels, against 1.2e-6 and 3.1e-6 at 1e-4
//! (the `vgg_sensitivity` experiment, see BENCHMARKS.md). The first-step gradients are not
//! exposed to that amplification and check every backward pass at full scale. On backends other
//! than flex, a model with a cheaper registry model of the same architecture is checked through
//! that one (VGG-16 through VGG-11, ResNet-34 through ResNet-18): a VGG step is slow on
//! ndarray.
//!
//! By default only flex is compiled in. The comparison across backends runs with their features:
//! `cargo test --release -p convzoo-tests --features ndarray,wgpu --test backends`
//! (`cargo xtask test-backends` does that; wgpu takes the first adapter it finds, Mesa's
//! lavapipe on a machine without a GPU). `CONVZOO_BACKENDS=flex,wgpu:cpu` and
//! `CONVZOO_MODELS=lenet,resnet18` narrow the lists; a model left with no backend to compare is
//! not run at all (CI's second build runs it with `CONVZOO_BACKENDS=ndarray` on every model, then
//! `wgpu` on a subset, see `.ci/run`: the default build's run of this test has already compared
//! flex with `flex-burn-ops`).

use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use convzoo_models::{Model, ModelConfig, REGISTRY, SizeRule};
use convzoo_trainer::backend;
use outcome::{Differences, Outcome, differences, run, tensors};
use std::time::Instant;

#[path = "backends/outcome.rs"]
mod outcome;

const STEPS: usize = 5;
const FORWARD_TOL: f32 = 1e-4;
const TRAIN_TOL: f32 = 1e-3;

/// Flex with convzoo's flex kernels switched off: Burn's own operations.
const BURN_OPS: &str = "flex-burn-ops";

/// The backends to compare: those compiled in (flex as [`BURN_OPS`]), or the subset named by
/// `CONVZOO_BACKENDS`.
fn backends() -> Vec<(String, Device)> {
    let names: Vec<String> = match std::env::var("CONVZOO_BACKENDS") {
        Ok(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        Err(_) => backend::compiled()
            .iter()
            .map(|s| if *s == "flex" { BURN_OPS } else { s }.to_string())
            .collect(),
    };
    names
        .into_iter()
        .map(|name| {
            let spec = if name == BURN_OPS { "flex" } else { &name };
            let device = backend::device(spec).unwrap_or_else(|e| panic!("{e}"));
            eprintln!("backend {name}: {}", backend::label(spec));
            (name, device)
        })
        .collect()
}

/// Input side and batch size for a model (see the module docs).
fn input(config: &ModelConfig) -> (usize, usize) {
    match config.input_spec().size {
        SizeRule::Exact(s) if s <= 32 => (s, 8),
        SizeRule::Exact(s) => (s, 1),
        SizeRule::AtLeast(min) => (min.max(64), 4),
    }
}

/// For backends other than flex, which are slow on the CPU: the cheapest registry model of the
/// same architecture, if there is a cheaper one (VGG-16 is checked through VGG-11 there, ResNet-34
/// through ResNet-18). Cost is the parameter count, known without initialising anything.
fn cheaper_of_same_architecture(name: &str) -> Option<&'static str> {
    let device = Device::flex();
    let arch = |n: &str| {
        let config = ModelConfig::from_name(n).unwrap();
        let params = convzoo_blocks::count_parameters(&config.init(&device));
        (std::mem::discriminant(config.arch()), params)
    };
    let (kind, params) = arch(name);
    REGISTRY
        .iter()
        .map(|m| (m.name, arch(m.name)))
        .filter(|(n, (k, p))| *n != name && *k == kind && *p < params)
        .min_by_key(|(_, (_, p))| *p)
        .map(|(n, _)| n)
}

/// Why `model` (registry name `name`) is not run on `backend`, if it is not: a device that cannot
/// hold its largest weight in one buffer (VGG-11's 392 MiB first linear layer on lavapipe's 128
/// MiB), or a backend other than flex where a cheaper model of the same architecture stands in.
fn skip_reason(model: &Model, name: &str, backend: &str) -> Option<String> {
    if let Err(reason) = convzoo_trainer::train::fits_device(model, backend) {
        return Some(reason.to_string());
    }
    if backend.starts_with("flex") {
        return None;
    }
    let cheaper = cheaper_of_same_architecture(name)?;
    Some(format!(
        "its architecture is checked there through {cheaper}"
    ))
}

/// The registry models to check: all, or those named by `CONVZOO_MODELS`.
fn wanted(name: &str) -> bool {
    match std::env::var("CONVZOO_MODELS") {
        Ok(list) => list.split(',').any(|m| m.trim() == name),
        Err(_) => true,
    }
}

/// One draw of a model's weights and data, and flex's outcome on it: the reference.
struct Case {
    model: Model,
    x: Tensor<4>,
    batches: Vec<(Tensor<4>, Tensor<1, Int>)>,
    base: Outcome,
    /// How far flex itself moves when every training input changes by one part in 10^7.
    noise: Differences,
}

/// Draws `config`'s weights, the inference input and the training batches from generator seed
/// `seed` on flex, and runs flex (with the kernels) on them, twice: as drawn and nudged.
fn case(config: &ModelConfig, seed: u64, lr: f64) -> Case {
    let reference = Device::flex();
    let (s, batch) = input(config);
    let c = config.in_channels();
    reference.seed(seed);
    let model = config.init(&reference);
    let x = Tensor::<4>::random(
        [batch, c, s, s],
        Distribution::Uniform(0.0, 1.0),
        &reference,
    );
    let batches: Vec<_> = (0..STEPS)
        .map(|i| {
            let bx = Tensor::<4>::random(
                [batch, c, s, s],
                Distribution::Uniform(0.0, 1.0),
                &reference,
            );
            let labels: Vec<i64> = (0..batch).map(|j| ((3 * i + 7 * j) % 10) as i64).collect();
            let by = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), &reference);
            (bx, by)
        })
        .collect();
    // Burn draws a parameter's initial values when it is first read, so read them all now:
    // whatever draws from the generator later (`cheaper_of_same_architecture` initialises
    // models) must not change this model's weights.
    tensors(&model);
    let base = run(&model, &x, &batches, lr, &reference, true);
    let name = config.name();
    assert!(
        base.losses.iter().all(|l| l.is_finite()),
        "{name}: {:?}",
        base.losses
    );
    // A NaN in the reference would make every difference, and so every limit, infinite.
    for (what, named) in [("gradient", &base.grads), ("weight", &base.weights)] {
        if let Some((key, _)) = named.iter().find(|(_, v)| v.iter().any(|x| !x.is_finite())) {
            panic!("{name}: {what} {key} is not finite on flex");
        }
    }
    let nudged: Vec<_> = batches
        .iter()
        .map(|(bx, by)| (bx.clone().mul_scalar(1.0 + 1e-7), by.clone()))
        .collect();
    let noise = differences(
        &base,
        &run(&model, &x, &nudged, lr, &reference, true),
        |_| false,
    );
    eprintln!(
        "{name:<17} seed {seed}: sensitivity to 1e-7: gradients {:.1e}  losses {:.1e}  weights {:.1e}",
        noise.grads, noise.losses, noise.weights
    );
    Case {
        model,
        x,
        batches,
        base,
        noise,
    }
}

/// Runs `case` on backend `name` and compares it with flex's outcome: `Err` says what is over
/// its limit.
fn compare(
    case: &Case,
    config: &ModelConfig,
    lr: f64,
    name: &str,
    device: &Device,
) -> Result<(), String> {
    let t = Instant::now();
    let (s, _) = input(config);
    let model_name = config.name();
    let other = run(
        &case.model,
        &case.x,
        &case.batches,
        lr,
        device,
        name != BURN_OPS,
    );
    let d = differences(&case.base, &other, |path| {
        // Known: Burn's ndarray and wgpu (lavapipe) compute the weight gradient of VGG's
        // first convolution, a reduction over 224 x 224 = 50,176 pixels per value, with
        // errors of 4.7e-3 (ndarray, VGG-11) and 0.23-0.65 (wgpu, VGG-11 small) of its
        // largest value; both flex paths agree to 1.5e-6. Reported, not enforced: the
        // five-step weights check still covers it.
        !name.starts_with("flex") && s >= 224 && path == "net.0.0.weight"
    });
    eprintln!(
        "{model_name:<17} flex vs {name:<13} logits {:.1e}  gradients {:.1e} ({})  losses {:.1e}  \
         weights {:.1e} ({})  {:.1} s",
        d.logits,
        d.grads,
        d.worst_grad,
        d.losses,
        d.weights,
        d.worst_weight,
        t.elapsed().as_secs_f64()
    );
    if name == "flex" {
        // The same backend and inputs twice: bit for bit.
        assert_eq!(d.logits, 0.0, "{model_name}: flex twice");
        assert_eq!(d.losses, 0.0, "{model_name}: flex twice");
    }
    // At 224x224 the other backends' long f32 reductions differ more: VGG-11 on ndarray
    // reaches 2.6e-3 (a bias gradient of its fourth block).
    let grad_tol = if !name.starts_with("flex") && s >= 224 {
        10.0 * TRAIN_TOL
    } else {
        TRAIN_TOL
    };
    // A difference below ten times what flex does to a 1e-7 change of the inputs cannot
    // be told from the model's own sensitivity.
    let noise = &case.noise;
    let grad_tol = grad_tol.max(10.0 * noise.grads);
    let train_tol = |n: f32| TRAIN_TOL.max(10.0 * n);
    let (loss_tol, weight_tol) = (train_tol(noise.losses), train_tol(noise.weights));
    if d.logits > FORWARD_TOL || d.grads > grad_tol || d.losses > loss_tol || d.weights > weight_tol
    {
        return Err(format!(
            "{model_name} on {name}: logits {:.2e} (limit {FORWARD_TOL:.0e}), gradients {:.2e} \
             (relative, limit {grad_tol:.1e}) at {}, losses {:.2e} (limit \
             {loss_tol:.1e}), weights {:.2e} at {} (limit {weight_tol:.1e})",
            d.logits, d.grads, d.worst_grad, d.losses, d.weights, d.worst_weight
        ));
    }
    Ok(())
}

/// The generator seeds of the first and the second draw.
const SEEDS: [u64; 2] = [11, 12];

#[test]
fn every_model_agrees_across_backends() {
    let backends = backends();
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for info in REGISTRY.iter().filter(|i| wanted(i.name)) {
        let config = ModelConfig::from_name(info.name).unwrap().with_dropout(0.0);
        let (s, batch) = input(&config);
        let lr = if s <= 32 {
            info.recipe.lr.min(0.1)
        } else if s <= 96 {
            1e-4
        } else {
            0.01
        };
        let model = config.init(&Device::flex());
        let targets: Vec<&(String, Device)> = backends
            .iter()
            .filter(|(name, _)| match skip_reason(&model, info.name, name) {
                Some(reason) => {
                    eprintln!("{:<17} skipped on {name}: {reason}", info.name);
                    skipped.push(format!("{} on {name}", info.name));
                    false
                }
                None => true,
            })
            .collect();
        // Nothing to compare (`CONVZOO_BACKENDS=ndarray,wgpu` and a model checked through a
        // cheaper one): no reference run either.
        if targets.is_empty() {
            continue;
        }
        let started = Instant::now();
        let first = case(&config, SEEDS[0], lr);
        let mut second = None;
        for (name, device) in &targets {
            let Err(failure) = compare(&first, &config, lr, name, device) else {
                continue;
            };
            // A ReLU (or max-pool) input within rounding of its threshold takes the other
            // branch on another backend, and its gradient then goes to one position and not
            // the other: measured, GoogLeNet's last Inception block on one draw, a
            // pre-activation of 2.8e-9 whose sign flex's kernels, Burn's flex operations and
            // ndarray do not agree on, moving one bias gradient from -2.8e-3 to 1.4e-3 (3.7e-2
            // of that parameter's largest) while every other value agreed within 1e-5. Such a
            // point is a matter of chance, so a model over its limits is drawn once more:
            // a backend that computes differently is over them on both draws.
            eprintln!("{failure}\n  (first draw; trying a second)");
            let again = second.get_or_insert_with(|| case(&config, SEEDS[1], lr));
            if let Err(also) = compare(again, &config, lr, name, device) {
                failures.push(format!("{failure}\n  and on a second draw: {also}"));
            }
        }
        eprintln!(
            "{:<17} {batch}x{s}x{s}, lr {lr}, {} backends in {:.1} s",
            info.name,
            targets.len(),
            started.elapsed().as_secs_f64()
        );
    }
    if !skipped.is_empty() {
        eprintln!("skipped: {}", skipped.join(", "));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
