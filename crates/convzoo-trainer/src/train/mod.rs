//! The training loop: d2l's `train_ch6` (minibatch SGD on cross-entropy, train loss and
//! accuracy averaged over each epoch's examples in training mode, test accuracy in inference
//! mode after each epoch), with checkpoints, exact resume and a guard against divergence.
//!
//! A hand-written loop rather than burn-train's `Learner`: resuming in the middle of an epoch
//! must give the same numbers as a run that never stopped, so the data order, dropout seeds,
//! learning rate and partial-epoch sums are all functions of what the checkpoint stores; and
//! the metrics are d2l's (example-weighted, written as `metrics.json`), not burn-train's.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use burn::tensor::Device;
use convzoo_datasets::{ImageBatcher, ImageSet, SplitMix64, batch_ranges, epoch_order};
use convzoo_models::Model;

use crate::backend;
use crate::checkpoint::{self, FORMAT, LoopState};
use crate::config::{OptimizerKind, TrainConfig};
use crate::data::{self, RunData};
use crate::devices::Devices;
use crate::error::{Error, Result};
use crate::files::{new_run_dir, write_atomic};
use crate::metrics::{EpochMetrics, Metrics};
use crate::observe::{Event, Observer, Quiet};
use crate::step::parallel;
pub use crate::step::{StepStats, count_correct, train_step};
use crate::tensorboard::EventWriter;

mod records;
use records::{count_step, end_epoch};

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

/// Starts a new run in `out` (or `runs/<model>-<time>`) and trains it to the end, silently;
/// see [`start_with`].
pub fn start(config: TrainConfig, out: Option<&Path>) -> Result<PathBuf> {
    start_with(config, out, &mut Quiet)
}

/// [`start`], reporting what happens to `observer`.
pub fn start_with(
    mut config: TrainConfig,
    out: Option<&Path>,
    observer: &mut impl Observer,
) -> Result<PathBuf> {
    // The devices and data first: neither failing leaves a run directory behind.
    Devices::open(&config.device_specs())?;
    let started = Instant::now();
    let data = data::load(&config, config.limit_test, observer)?;
    config.dataset = Some(data.info.clone());
    let run = new_run_dir(out, &config.model)?;
    let json = serde_json::to_string_pretty(&config).expect("config serialises");
    write_atomic(&run.join("config.json"), json.as_bytes())?;
    if !data.skipped.is_empty() {
        let list: String = data
            .skipped
            .iter()
            .map(|b| format!("{}: {}\n", b.path.display(), b.reason))
            .collect();
        write_atomic(&run.join("skipped.txt"), list.as_bytes())?;
    }
    observer.event(&Event::RunDir(run.clone()));
    run_loop(&config, &run, false, data, started, observer)?;
    Ok(run)
}

/// Continues the run in `run` from its latest checkpoint, with its saved configuration,
/// silently; see [`resume_with`].
pub fn resume(run: &Path) -> Result<()> {
    resume_with(run, &mut Quiet)
}

/// [`resume`], reporting what happens to `observer`.
pub fn resume_with(run: &Path, observer: &mut impl Observer) -> Result<()> {
    let config = TrainConfig::read_from_run(run)?;
    observer.event(&Event::Resuming(run.into()));
    let started = Instant::now();
    let data = data::load(&config, config.limit_test, observer)?;
    run_loop(&config, run, true, data, started, observer)
}

/// Fails early, with the numbers, when a weight tensor of `model` is larger than the biggest
/// buffer backend `spec` can bind (Mesa's lavapipe: 128 MiB, less than VGG-11's first linear
/// layer), instead of failing inside the backend at the first step.
pub fn fits_device(model: &convzoo_models::Model, spec: &str) -> Result<()> {
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
    Err(Error::TensorTooLarge {
        model: model.name().to_string(),
        tensor: model.torch_key(&path),
        bytes,
        limit,
        device: backend::label(spec),
    })
}

/// What a run has when its loop starts: the model, its optimiser, the loop's state and the
/// checkpoint it resumed from.
struct Start {
    model: Model,
    optim: ModuleOptimizer,
    state: LoopState,
    last_checkpoint: Option<PathBuf>,
}

/// A new model on `ad` (seeded), checked against the data's image size and the device's
/// limits, or the latest checkpoint of `run` when resuming.
fn start_state(
    c: &TrainConfig,
    run: &Path,
    resume: bool,
    channels: usize,
    ad: &Device,
    observer: &mut impl Observer,
) -> Result<Start> {
    ad.seed(c.seed);
    let model = c.model_config()?.init(ad);
    model
        .check_input(&[1, channels, c.resize, c.resize])
        .map_err(|source| Error::InputNeedsResize { source })?;
    fits_device(&model, &c.backend)?;
    let state = LoopState {
        format: FORMAT,
        model: c.model.clone(),
        epoch: 0,
        next_step: 0,
        global_step: 0,
        loss_sum: 0.0,
        correct: 0,
        seen: 0,
        train_seconds: 0.0,
        data_seconds: 0.0,
        metrics: Metrics {
            model: c.model.clone(),
            backend: c.backend.clone(),
            epochs: vec![],
        },
    };
    let optim = optimizer(c);
    if !resume {
        // Drawn here, from the seed alone, whatever the devices (a resumed run loads them).
        convzoo_blocks::initialize_now(&model);
        return Ok(Start {
            model,
            optim,
            state,
            last_checkpoint: None,
        });
    }
    let dir = checkpoint::latest(run)?;
    let (model, optim, state) = checkpoint::load(&dir, &c.model, model, optim)?;
    observer.event(&Event::Resumed {
        epoch: state.epoch + 1,
        step: state.next_step,
        checkpoint: dir.clone(),
    });
    Ok(Start {
        model,
        optim,
        state,
        last_checkpoint: Some(dir),
    })
}

fn run_loop(
    c: &TrainConfig,
    run: &Path,
    resume: bool,
    data: RunData,
    load_started: Instant,
    observer: &mut impl Observer,
) -> Result<()> {
    let devices = Devices::open(&c.device_specs())?;
    let device = backend::device(&c.backend)?;
    let ad = devices.main().clone();
    let RunData {
        train, test, info, ..
    } = data;
    let c = &TrainConfig {
        dataset: Some(info.clone()),
        ..c.clone()
    };
    observer.event(&Event::Loaded {
        model: c.model.clone(),
        data: c.data.title(),
        skipped: info.skipped,
        train: train.len(),
        test: test.len(),
        seconds: load_started.elapsed().as_secs_f64(),
        backend: devices.label(),
    });
    let [channels, ..] = train.shape();
    let Start {
        mut model,
        mut optim,
        mut state,
        mut last_checkpoint,
    } = start_state(c, run, resume, channels, &ad, observer)?;
    let mut events = EventWriter::create(run)?;
    let batcher = data::batcher(c, true);
    let test_batcher = data::batcher(c, false);
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let (n, bs) = (train.len(), c.batch_size);
    let steps = n.div_ceil(bs);
    // A loss this far above a uniform guess's (ln of the class count) means divergence, even
    // before it overflows to infinity or NaN.
    let divergence = 100.0 * (c.model_config()?.num_classes() as f64).ln();
    while state.epoch < c.epochs {
        let epoch = state.epoch;
        let order = epoch_order(n, c.seed, epoch as u64);
        let started = Instant::now();
        let before = state.train_seconds;
        for (step, range) in batch_ranges(n, bs).enumerate().skip(state.next_step) {
            // Dropout and augmentation draws depend on (seed, epoch, step) only: a resumed run
            // draws the same.
            let mut draws = SplitMix64::derive(c.seed, epoch as u64, step as u64);
            ad.seed(draws.next_u64());
            let len = range.len();
            let batch_started = Instant::now();
            let batch = batcher.batch_indices(&train, &order[range], &ad, draws.next_u64());
            state.data_seconds += batch_started.elapsed().as_secs_f64();
            let lr = c.lr_at(epoch, step, steps);
            let stats;
            (model, stats) = parallel::step(
                &devices,
                model,
                &mut optim,
                &loss_fn,
                batch,
                lr,
                draws.next_u64(),
            );
            // The updated model is dropped: the last checkpoint holds the last good one.
            if !stats.loss.is_finite() || stats.loss > divergence {
                return Err(Error::Diverged {
                    loss: stats.loss,
                    epoch: epoch + 1,
                    step: step + 1,
                    lr,
                    limit: divergence,
                    kept: last_checkpoint,
                });
            }
            let secs = before + started.elapsed().as_secs_f64();
            count_step(
                c,
                &mut state,
                stats,
                len,
                steps,
                secs,
                &mut events,
                observer,
            )?;
            if observer.should_stop() {
                state.train_seconds = secs;
                let checkpoint = checkpoint::save(run, &model, &optim, &state)?;
                return Err(Error::Interrupted {
                    run: run.into(),
                    checkpoint,
                    epoch: epoch + 1,
                    step: step + 1,
                });
            }
            if c.checkpoint_every > 0
                && state.global_step.is_multiple_of(c.checkpoint_every)
                && step + 1 < steps
            {
                state.train_seconds = secs;
                last_checkpoint = Some(checkpoint::save(run, &model, &optim, &state)?);
            }
        }
        let train_seconds = before + started.elapsed().as_secs_f64();
        let test_started = Instant::now();
        let test_acc = accuracy(&model.valid(), &test, &test_batcher, bs, &device);
        let seen = state.seen.max(1) as f64;
        let record = EpochMetrics {
            epoch: epoch + 1,
            train_loss: state.loss_sum / seen,
            train_acc: state.correct as f64 / seen,
            test_acc,
            seconds: train_seconds + test_started.elapsed().as_secs_f64(),
            train_images_per_sec: state.seen as f64 / train_seconds.max(1e-9),
            data_seconds: state.data_seconds,
        };
        end_epoch(c, run, &mut state, record, steps, &mut events, observer)?;
        last_checkpoint = Some(checkpoint::save(run, &model, &optim, &state)?);
    }
    checkpoint::save_weights(&run.join("model.bpk"), &model)?;
    if let Some(last) = state.metrics.epochs.last() {
        observer.event(&Event::Done {
            last: last.clone(),
            run: run.into(),
        });
    }
    Ok(())
}
