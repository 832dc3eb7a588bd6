//! Throughput benchmark of every model: training steps (forward, cross-entropy, backward, SGD
//! update) and inference, in images per second (median over timed steps after warm-up), with
//! the process's peak resident memory. `compare.rs` runs each model in a process of its own
//! (`convzoo bench single`) so that the peak memory is the model's, optionally alternating
//! with d2l's PyTorch model (`bench/pytorch/bench.py`).

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use convzoo_models::{Model, ModelConfig};
use serde::{Deserialize, Serialize};

use convzoo_datasets::ImageBatch;
use convzoo_trainer::backend;
use convzoo_trainer::devices::{self, Devices};
use convzoo_trainer::step::forward_loss;
use convzoo_trainer::step::parallel::step;
use convzoo_trainer::{Error, Result};

/// One model's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    /// Registry model name.
    pub model: String,
    /// Backend (or `pytorch`).
    pub backend: String,
    /// Images per step.
    pub batch_size: usize,
    /// Training throughput, images/s (median step).
    pub train_images_per_sec: f64,
    /// Inference throughput, images/s (median batch).
    pub infer_images_per_sec: f64,
    /// Peak resident memory of the process, bytes (0 where unknown).
    pub peak_rss_bytes: u64,
}

/// Peak resident set size of this process (`VmHWM` on Linux).
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The median of `v` (the upper one for an even count); NaN when empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What every benchmark of model `name` starts from: the model on the autodiff device
/// (seeded), the batch size and the input `[C, H, W]`.
struct Setup {
    model: convzoo_models::Model,
    ad: burn::tensor::Device,
    bs: usize,
    input: [usize; 3],
}

/// The first device of a comma-separated list (the device of inference and breakdowns).
pub fn first_device(devices: &str) -> &str {
    devices.split(',').next().unwrap_or(devices)
}

fn setup(name: &str, backend_name: &str, batch_size: Option<usize>) -> Result<Setup> {
    let config = ModelConfig::from_name(name)?;
    let info = config.info();
    let device = backend::device(first_device(backend_name))?;
    let ad = device.clone().autodiff();
    ad.seed(0);
    Ok(Setup {
        model: config.init(&ad),
        ad,
        bs: batch_size.unwrap_or(info.bench_batch),
        input: info.input,
    })
}

/// Training steps of model `name` in this process: `warmup` untimed then `steps` timed, each
/// a [`step`] (forward, cross-entropy, backward, SGD update) on the comma-separated devices
/// `backend_name` (data-parallel when there are several), synchronised. Returns the trained
/// model, the batch size and the timed steps' seconds. Run it under a profiler with `convzoo
/// bench profile`.
pub fn train_steps(
    name: &str,
    backend_name: &str,
    batch_size: Option<usize>,
    steps: usize,
    warmup: usize,
) -> Result<(Model, usize, Vec<f64>)> {
    let Setup {
        mut model,
        ad,
        bs,
        input: [c, h, w],
        ..
    } = setup(name, backend_name, batch_size)?;
    let devices = Devices::open(&devices::parse_list(backend_name)?)?;
    let mut optim = SgdConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let x = Tensor::<4>::random([bs, c, h, w], Distribution::Uniform(0.0, 1.0), &ad);
    let labels: Vec<i64> = (0..bs as i64).map(|i| i % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [bs]), &ad);
    let mut times = Vec::new();
    for i in 0..warmup + steps {
        let started = Instant::now();
        let batch = ImageBatch {
            images: x.clone(),
            labels: y.clone(),
        };
        (model, _) = step(&devices, model, &mut optim, &loss_fn, batch, 0.01, i as u64);
        // Wait for the update to finish on every device before stopping the clock.
        for device in devices.all() {
            device.sync().map_err(Error::burn)?;
        }
        if i >= warmup {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    Ok((model, bs, times))
}

/// Inference batches of `model` (put in inference mode, on the plain device of
/// `backend_name`): `warmup` untimed then `steps` timed forward passes of a random batch of
/// shape `[bs, c, h, w]`, each read back. Returns the inference model, the batch and the timed seconds. Run it
/// under a profiler with `convzoo bench profile --infer`.
pub fn infer_steps(
    model: Model,
    backend_name: &str,
    [bs, c, h, w]: [usize; 4],
    steps: usize,
    warmup: usize,
) -> Result<(Model, Tensor<4>, Vec<f64>)> {
    let device = backend::device(first_device(backend_name))?;
    let eval = model.valid();
    let x = Tensor::<4>::random([bs, c, h, w], Distribution::Uniform(0.0, 1.0), &device);
    let mut times = Vec::new();
    for step in 0..warmup + steps {
        let started = Instant::now();
        eval.forward(x.clone()).sum().into_scalar::<f32>();
        if step >= warmup {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    Ok((eval, x, times))
}

/// Benchmarks model `name` in this process: `warmup` untimed then `steps` timed steps.
///
/// With `onnx`, the model (in inference mode) is also written there as an ONNX file, for
/// ONNX Runtime to time the same network (`compare.rs`).
pub fn bench_model(
    name: &str,
    backend_name: &str,
    batch_size: Option<usize>,
    steps: usize,
    warmup: usize,
    onnx: Option<&Path>,
) -> Result<BenchResult> {
    let (model, bs, train_times) = train_steps(name, backend_name, batch_size, steps, warmup)?;
    let [c, h, w] = ModelConfig::from_name(name)?.info().input;
    let (eval, x, infer_times) = infer_steps(model, backend_name, [bs, c, h, w], steps, warmup)?;
    if let Some(path) = onnx {
        let classes = (0..eval_classes(&eval, &x))
            .map(|i| i.to_string())
            .collect();
        let info = convzoo_onnx::ExportInfo::new(&eval, [c, h, w], classes);
        convzoo_datasets::write_atomic(path, &convzoo_onnx::to_onnx(&eval, &info)?)?;
    }
    Ok(BenchResult {
        model: name.into(),
        backend: backend_name.into(),
        batch_size: bs,
        train_images_per_sec: bs as f64 / median(train_times),
        infer_images_per_sec: bs as f64 / median(infer_times),
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// The number of classes `model` predicts (its logits' width on `x`'s first image).
fn eval_classes(model: &Model, x: &Tensor<4>) -> usize {
    model.forward(x.clone().narrow(0, 0, 1)).dims()[1]
}

/// Where one training step's time goes, in seconds (medians over the timed steps).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepBreakdown {
    /// Registry model name.
    pub model: String,
    /// Images per step.
    pub batch_size: usize,
    /// Assembling a batch from Fashion-MNIST-sized bytes (28x28, resized on the device).
    pub data: f64,
    /// Forward pass and loss, until the loss value and the correct count are read.
    pub forward: f64,
    /// Backward pass (gradients of every parameter).
    pub backward: f64,
    /// Optimiser update (SGD).
    pub update: f64,
}

/// Times the parts of a training step of model `name`: data, forward, backward, update.
pub fn step_breakdown(
    name: &str,
    backend_name: &str,
    batch_size: Option<usize>,
    steps: usize,
    warmup: usize,
) -> Result<StepBreakdown> {
    let Setup {
        mut model,
        ad,
        bs,
        input: [_, h, _],
        ..
    } = setup(name, backend_name, batch_size)?;
    let set = convzoo_datasets::synthetic(bs, 1, 28, 10, 0);
    let indices: Vec<usize> = (0..bs).collect();
    let batcher = convzoo_datasets::ImageBatcher::new(Some(h));
    let mut optim = SgdConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let sync = |d: &burn::tensor::Device| d.sync().map_err(Error::burn);
    let mut parts: [Vec<f64>; 4] = Default::default();
    for step in 0..warmup + steps {
        let t0 = Instant::now();
        let batch = batcher.batch_indices(&set, &indices, &ad, 0);
        sync(&ad)?;
        let t1 = Instant::now();
        // The parts of a training step (`train_step`), each timed.
        let (loss, _) = forward_loss(&model, &loss_fn, batch.images, batch.labels);
        let t2 = Instant::now();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        sync(&ad)?;
        let t3 = Instant::now();
        model = optim.step(0.01, model, grads);
        sync(&ad)?;
        let t4 = Instant::now();
        if step >= warmup {
            for (part, (a, b)) in parts
                .iter_mut()
                .zip([(t0, t1), (t1, t2), (t2, t3), (t3, t4)])
            {
                part.push((b - a).as_secs_f64());
            }
        }
    }
    let [data, forward, backward, update] = parts.map(median);
    Ok(StepBreakdown {
        model: name.into(),
        batch_size: bs,
        data,
        forward,
        backward,
        update,
    })
}

/// Median seconds of each recorded layer of the training-mode forward of model `name` (the
/// device synchronised between layers), in forward order.
pub fn layer_times(
    name: &str,
    backend_name: &str,
    batch_size: Option<usize>,
    steps: usize,
    warmup: usize,
) -> Result<Vec<(String, f64)>> {
    let Setup {
        model,
        ad,
        bs,
        input: [c, h, w],
        ..
    } = setup(name, backend_name, batch_size)?;
    let x = Tensor::<4>::random([bs, c, h, w], Distribution::Uniform(0.0, 1.0), &ad);
    let mut runs: Vec<Vec<f64>> = Vec::new();
    let mut names = Vec::new();
    for step in 0..warmup + steps {
        ad.sync().map_err(Error::burn)?;
        let mut probe = convzoo_blocks::Probe::timed();
        model.forward_probed(x.clone(), &mut probe)?;
        if step >= warmup {
            runs.push(probe.seconds.unwrap_or_default());
            names = probe.layers.into_iter().map(|l| l.name).collect();
        }
    }
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, median(runs.iter().map(|r| r[i]).collect())))
        .collect())
}
