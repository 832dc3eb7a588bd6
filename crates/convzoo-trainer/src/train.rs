//! The training loop: d2l's `train_ch6` (minibatch SGD on cross-entropy, train loss and
//! accuracy averaged over each epoch's examples in training mode, test accuracy in inference
//! mode after each epoch), with checkpoints, exact resume and a guard against divergence.
//!
//! A hand-written loop rather than burn-train's `Learner`: resuming in the middle of an epoch
//! must give the same numbers as a run that never stopped, so the data order, dropout seeds,
//! learning rate and partial-epoch sums are all functions of what the checkpoint stores; and
//! the metrics are d2l's (example-weighted, written as `metrics.json`), not burn-train's.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Int, Tensor};
use convzoo_datasets::{
    FASHION_MNIST, ImageBatcher, ImageSet, Split, SplitMix64, batch_ranges, epoch_order,
};
use convzoo_models::Model;

use crate::backend;
use crate::checkpoint::{self, FORMAT, LoopState};
use crate::config::{OptimizerKind, TrainConfig};
use crate::files::{new_run_dir, write_atomic};
use crate::metrics::{EpochMetrics, Metrics};
use crate::plot::write_curves;

/// The optimiser of `c`, with PyTorch's conventions (no momentum dampening, Adam epsilon 1e-8).
pub fn optimizer(c: &TrainConfig) -> ModuleOptimizer {
    let decay = (c.weight_decay > 0.0).then(|| WeightDecayConfig::new(c.weight_decay as f32));
    match c.optimizer {
        OptimizerKind::Sgd => {
            let momentum = (c.momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(c.momentum)
                    .with_dampening(0.0)
            });
            SgdConfig::new()
                .with_momentum(momentum)
                .with_weight_decay(decay)
                .init()
        }
        OptimizerKind::Adam => AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(decay)
            .init(),
    }
}

/// Loads `split` of Fashion-MNIST as the config says, keeping the first `limit` images.
pub fn load_split(c: &TrainConfig, split: Split, limit: usize) -> Result<ImageSet, String> {
    let set = FASHION_MNIST
        .load(split, c.data_dir.as_deref())
        .map_err(|e| e.to_string())?;
    Ok(if limit > 0 { set.truncate(limit) } else { set })
}

/// Number of correct predictions in `logits` for `labels`.
pub fn count_correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> u64 {
    let predicted = logits.argmax(1).squeeze_dim::<1>(1);
    predicted.equal(labels).int().sum().into_scalar::<i64>() as u64
}

/// Accuracy of `model` (in inference mode, on `device`) over `set`.
pub fn accuracy(
    model: &Model,
    set: &ImageSet,
    batcher: &ImageBatcher,
    batch_size: usize,
    device: &Device,
) -> f64 {
    let order: Vec<usize> = (0..set.len()).collect();
    let correct: u64 = batch_ranges(set.len(), batch_size)
        .map(|r| {
            let batch = batcher.batch_indices(set, &order[r], device, 0);
            count_correct(model.forward(batch.images), batch.labels)
        })
        .sum();
    correct as f64 / set.len().max(1) as f64
}

/// Starts a new run in `out` (or `runs/<model>-<time>`) and trains it to the end.
pub fn start(config: TrainConfig, out: Option<&Path>) -> Result<PathBuf, String> {
    let run = new_run_dir(out, &config.model)?;
    let json = serde_json::to_string_pretty(&config).expect("config serialises");
    write_atomic(&run.join("config.json"), json.as_bytes())?;
    println!("run directory: {}", run.display());
    run_loop(&config, &run, false)?;
    Ok(run)
}

/// Continues the run in `run` from its latest checkpoint, with its saved configuration.
pub fn resume(run: &Path) -> Result<(), String> {
    let config = TrainConfig::read_from_run(run)?;
    println!("resuming {}", run.display());
    run_loop(&config, run, true)
}

/// A one-line live status on the terminal (nothing when stderr is not a terminal).
struct Status {
    live: bool,
    last: Instant,
}

impl Status {
    fn show(&mut self, line: impl FnOnce() -> String) {
        if self.live && self.last.elapsed().as_millis() >= 200 {
            self.last = Instant::now();
            eprint!("\r\x1b[2K{}", line());
            let _ = std::io::stderr().flush();
        }
    }

    fn clear(&self) {
        if self.live {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Fails early, with the numbers, when a weight tensor of `model` is larger than the biggest
/// buffer backend `spec` can bind (Mesa's lavapipe: 128 MiB, less than VGG-11's first linear
/// layer), instead of failing inside the backend at the first step.
pub fn fits_device(model: &convzoo_models::Model, spec: &str) -> Result<(), String> {
    let (Some(limit), Some((path, n))) = (
        backend::max_buffer_bytes(spec),
        convzoo_blocks::largest_tensor(model),
    ) else {
        return Ok(());
    };
    let bytes = 4 * n as u64;
    if bytes <= limit {
        return Ok(());
    }
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    Err(format!(
        "model '{}' has a {:.0} MiB tensor ({path}), more than the {:.0} MiB this {} can bind \
         in one buffer; use a GPU with a larger limit or --backend flex",
        model.name(),
        mib(bytes),
        mib(limit),
        backend::label(spec)
    ))
}

fn run_loop(c: &TrainConfig, run: &Path, resume: bool) -> Result<(), String> {
    let device = backend::device(&c.backend)?;
    let ad = device.clone().autodiff();
    let model_config = c.model_config()?;
    let load_started = Instant::now();
    let train = load_split(c, Split::Train, c.limit_train)?;
    let test = load_split(c, Split::Test, c.limit_test)?;
    println!(
        "{}: {} training and {} test images of Fashion-MNIST, loaded in {:.2} s; backend {}",
        c.model,
        train.len(),
        test.len(),
        load_started.elapsed().as_secs_f64(),
        backend::label(&c.backend)
    );
    ad.seed(c.seed);
    let mut model = model_config.init(&ad);
    let [channels, ..] = train.shape();
    model
        .check_input(&[1, channels, c.resize, c.resize])
        .map_err(|e| format!("{e}; set --resize"))?;
    fits_device(&model, &c.backend)?;
    let mut optim = optimizer(c);
    let mut state = LoopState {
        format: FORMAT,
        model: c.model.clone(),
        epoch: 0,
        next_step: 0,
        global_step: 0,
        loss_sum: 0.0,
        correct: 0,
        seen: 0,
        train_seconds: 0.0,
        metrics: Metrics {
            model: c.model.clone(),
            backend: c.backend.clone(),
            epochs: vec![],
        },
    };
    let mut last_checkpoint = None;
    if resume {
        let dir = checkpoint::latest(run)?;
        (model, optim, state) = checkpoint::load(&dir, &c.model, model, optim)?;
        println!(
            "continuing at epoch {}, step {} ({})",
            state.epoch + 1,
            state.next_step,
            dir.display()
        );
        last_checkpoint = Some(dir);
    }
    let batcher = ImageBatcher::new(Some(c.resize));
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let (n, bs) = (train.len(), c.batch_size);
    let steps = n.div_ceil(bs);
    // A loss this far above a uniform guess's (ln of the class count) means divergence, even
    // before it overflows to infinity or NaN.
    let divergence = 100.0 * (model_config.num_classes() as f64).ln();
    let mut status = Status {
        live: std::io::stderr().is_terminal(),
        last: Instant::now(),
    };
    while state.epoch < c.epochs {
        let epoch = state.epoch;
        let order = epoch_order(n, c.seed, epoch as u64);
        let started = Instant::now();
        let before = state.train_seconds;
        for (step, range) in batch_ranges(n, bs).enumerate().skip(state.next_step) {
            // Dropout draws depend on (seed, epoch, step) only: a resumed run draws the same.
            ad.seed(SplitMix64::derive(c.seed, epoch as u64, step as u64).next_u64());
            let len = range.len();
            let batch = batcher.batch_indices(&train, &order[range], &ad, 0);
            let logits = model.forward(batch.images);
            let loss = loss_fn.forward(logits.clone(), batch.labels.clone());
            let loss_value = loss.clone().into_scalar::<f32>() as f64;
            let lr = c.lr_at(epoch, step, steps);
            if !loss_value.is_finite() || loss_value > divergence {
                status.clear();
                let kept = match &last_checkpoint {
                    Some(dir) => format!("the last good checkpoint is kept in {}", dir.display()),
                    None => "no checkpoint had been written yet".into(),
                };
                return Err(format!(
                    "training diverged: the loss became {loss_value:.4e} at epoch {}, step {} (lr {lr}; \
                     the limit is {divergence:.0}, 100 x the loss of a uniform guess); {kept}; try a \
                     smaller --lr",
                    epoch + 1,
                    step + 1
                ));
            }
            state.correct += count_correct(logits, batch.labels);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            state.loss_sum += loss_value * len as f64;
            state.seen += len as u64;
            state.next_step = step + 1;
            state.global_step += 1;
            status.show(|| {
                let secs = before + started.elapsed().as_secs_f64();
                format!(
                    "epoch {}/{}  step {}/{steps}  loss {:.3}  acc {:.3}  {:.0} img/s",
                    epoch + 1,
                    c.epochs,
                    step + 1,
                    state.loss_sum / state.seen as f64,
                    state.correct as f64 / state.seen as f64,
                    state.seen as f64 / secs.max(1e-9)
                )
            });
            if c.checkpoint_every > 0
                && state.global_step.is_multiple_of(c.checkpoint_every)
                && step + 1 < steps
            {
                state.train_seconds = before + started.elapsed().as_secs_f64();
                last_checkpoint = Some(checkpoint::save(run, &model, &optim, &state)?);
            }
        }
        let train_seconds = before + started.elapsed().as_secs_f64();
        let test_started = Instant::now();
        let test_acc = accuracy(&model.valid(), &test, &batcher, bs, &device);
        let seen = state.seen.max(1) as f64;
        let record = EpochMetrics {
            epoch: epoch + 1,
            train_loss: state.loss_sum / seen,
            train_acc: state.correct as f64 / seen,
            test_acc,
            seconds: train_seconds + test_started.elapsed().as_secs_f64(),
            train_images_per_sec: state.seen as f64 / train_seconds.max(1e-9),
        };
        status.clear();
        println!("{}", record.line(c.epochs));
        state.metrics.epochs.push(record);
        state.epoch += 1;
        (
            state.next_step,
            state.loss_sum,
            state.correct,
            state.seen,
            state.train_seconds,
        ) = (0, 0.0, 0, 0, 0.0);
        state.metrics.write(run)?;
        if let Err(e) = write_curves(run, &state.metrics) {
            eprintln!("warning: curves not drawn: {e}");
        }
        last_checkpoint = Some(checkpoint::save(run, &model, &optim, &state)?);
    }
    checkpoint::save_weights(&run.join("model.bpk"), &model)?;
    if let Some(last) = state.metrics.epochs.last() {
        println!(
            "done: train loss {:.3}, train acc {:.3}, test acc {:.3}; saved to {}",
            last.train_loss,
            last.train_acc,
            last.test_acc,
            run.display()
        );
    }
    Ok(())
}
