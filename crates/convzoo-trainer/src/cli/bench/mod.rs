//! `convzoo bench`: the benchmark harness, which the trainer library does not hold.
//!
//! Without a subcommand, training and inference throughput per model, each model in a process
//! of its own (`measure.rs`). Subcommands: `compare` (beside d2l's PyTorch models and the
//! model's ONNX export in ONNX Runtime, over several rounds, as a table or Markdown;
//! `compare.rs`, `table.rs`), `profile` (one model's steps, to put under a profiler),
//! `breakdown` (the parts of a training step), `peak` (the machine's FMA peak, `peak.rs`) and
//! `layers` (the largest convolutions beside it, with the algorithm each pass ran;
//! `layers.rs`).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use convzoo_models::REGISTRY;
use convzoo_trainer::devices::Devices;
use convzoo_trainer::{Error, Result, UsageError, backend};

mod compare;
#[cfg(feature = "flex")]
mod layers;
mod machine;
mod measure;
#[cfg(feature = "flex")]
mod peak;
mod table;

use compare::Plan;
use measure::BenchResult;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct BenchArgs {
    #[command(subcommand)]
    mode: Option<Mode>,
    #[command(flatten)]
    common: Common,
}

/// Flags every mode takes (before or after the subcommand).
#[derive(Args, Clone)]
struct Common {
    /// Model name, a comma-separated list, or `all`
    #[arg(long, default_value = "all", global = true)]
    model: String,
    /// Burn backend (flex, ndarray, wgpu or wgpu:ADAPTER, ...; see `train --help`) [default: flex]
    #[arg(long, global = true)]
    backend: Option<String>,
    /// Time training steps data-parallel on these devices of one backend, comma-separated, as
    /// `train --devices` takes them (images/s counts the whole step; two devices of one CPU
    /// share its cores); inference runs on the first
    #[arg(long, value_name = "LIST", global = true, conflicts_with = "backend")]
    devices: Option<String>,
    /// Images per step [default: 256 for the LeNets, 32 at 224x224, 64 at 96x96]
    #[arg(long, global = true)]
    batch_size: Option<usize>,
    /// Timed steps (the median is reported)
    #[arg(long, default_value_t = 5, global = true)]
    steps: usize,
    /// Untimed warm-up steps
    #[arg(long, default_value_t = 2, global = true)]
    warmup: usize,
    /// Print JSON
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Mode {
    /// Throughput beside d2l's PyTorch models (--pytorch) and the model's own ONNX export in
    /// ONNX Runtime (--onnx, inference), each model in a process of its own and its peers right
    /// after it; ratios above 1 mean convzoo is faster
    Compare(CompareArgs),
    /// Only training steps (or --infer: inference batches) of one model in this process, timed:
    /// the workload to put under a profiler (bench/profile.sh runs it under `perf`)
    Profile {
        /// Inference batches instead of training steps
        #[arg(long)]
        infer: bool,
    },
    /// The parts of a training step: data, forward, backward, update (and, for one model, its
    /// forward pass layer by layer)
    Breakdown,
    /// The machine's fp32 peak: an FMA loop with 12 accumulators on one thread and on all, for
    /// each kernel path the CPU has (AVX-512, AVX2, portable)
    Peak,
    /// The largest convolutions of --model (default: vgg11 and resnet18), and its grouped
    /// ones: forward (training's and inference's), input gradient and weight gradient, in
    /// GFLOP/s, as a share of the measured peak, and the algorithm each pass ran
    Layers,
    /// One model in this process, its JSON on stdout (what the other modes run)
    #[command(hide = true)]
    Single {
        /// Also write the model as ONNX to this file
        #[arg(long, value_name = "FILE")]
        onnx_out: Option<PathBuf>,
    },
}

/// `bench compare`'s flags.
#[derive(Args)]
struct CompareArgs {
    /// Run d2l's PyTorch model after each model ($CONVZOO_TORCH_PYTHON, else python3, with
    /// torch)
    #[arg(long)]
    pytorch: bool,
    /// Time each model's ONNX export in ONNX Runtime ($CONVZOO_ONNX_PYTHON, else python3, with
    /// onnxruntime), as many threads as convzoo
    #[arg(long)]
    onnx: bool,
    /// Measure every model this many times over, round after round; each figure is the median
    /// of the rounds, each ratio the median of the rounds' own ratios
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// Print the tables in BENCHMARKS.md's Markdown format
    #[arg(long)]
    markdown: bool,
    /// PyTorch's benchmark script (bench/pytorch/bench.py of the convzoo repository)
    /// [default: $CONVZOO_PYTORCH_BENCH]
    #[arg(long, value_name = "FILE")]
    pytorch_script: Option<PathBuf>,
    /// ONNX Runtime's benchmark script (tools/onnx/bench_onnx.py of the convzoo repository)
    /// [default: $CONVZOO_ONNX_BENCH]
    #[arg(long, value_name = "FILE")]
    onnx_script: Option<PathBuf>,
}

fn to_json(value: &impl serde::Serialize, pretty: bool) -> String {
    let json = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    json.expect("results serialise")
}

/// The registry names `--model` selects (`all`, one name or a comma-separated list).
fn model_names(model: &str) -> Result<Vec<String>> {
    if model == "all" {
        return Ok(REGISTRY.iter().map(|m| m.name.to_string()).collect());
    }
    model
        .split(',')
        .map(|name| convzoo_models::find(name).map(|m| m.name.to_string()))
        .collect::<std::result::Result<_, _>>()
        .map_err(Error::from)
}

/// Runs `convzoo bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let common = &args.common;
    // The devices, comma-separated: one, or several for data-parallel training steps.
    let backend_name = match &common.devices {
        Some(list) => {
            let specs = convzoo_trainer::devices::parse_list(list)?;
            Devices::open(&specs)?;
            specs.join(",")
        }
        None => {
            let name = common
                .backend
                .clone()
                .unwrap_or_else(|| backend::default_backend().into());
            backend::device(&name)?;
            name
        }
    };
    let (bs, steps, warmup) = (common.batch_size, common.steps, common.warmup);
    match &args.mode {
        Some(Mode::Single { onnx_out }) => {
            let onnx = onnx_out.as_deref();
            let r = measure::bench_model(&common.model, &backend_name, bs, steps, warmup, onnx)?;
            println!("{}", to_json(&r, false));
            Ok(())
        }
        Some(Mode::Profile { infer }) => profile(common, *infer, &backend_name),
        Some(Mode::Peak) => machine::peak(common.json),
        Some(Mode::Layers) => machine::layers(common),
        Some(Mode::Breakdown) => breakdown(common, &backend_name, &model_names(&common.model)?),
        Some(Mode::Compare(compare)) => run_compare(common, compare, backend_name),
        None => run_compare(common, &CompareArgs::default(), backend_name),
    }
}

impl Default for CompareArgs {
    fn default() -> Self {
        Self {
            pytorch: false,
            onnx: false,
            rounds: 1,
            markdown: false,
            pytorch_script: None,
            onnx_script: None,
        }
    }
}

/// Throughput of the models of `common`, beside the peers `compare` asks for.
fn run_compare(common: &Common, compare: &CompareArgs, backend_name: String) -> Result<()> {
    if compare.markdown && common.json {
        return Err(Error::Usage(UsageError::BadValue {
            flag: "--markdown",
            problem: "cannot be given with --json: choose one output format".into(),
        }));
    }
    let plan = Plan {
        convzoo: std::env::current_exe().map_err(|source| Error::Spawn {
            program: "convzoo".into(),
            source,
        })?,
        models: model_names(&common.model)?,
        backend: backend_name,
        batch_size: common.batch_size,
        steps: common.steps,
        warmup: common.warmup,
        pytorch: match compare.pytorch {
            true => Some(compare::Peer::pytorch(compare.pytorch_script.clone())?),
            false => None,
        },
        onnx: match compare.onnx {
            true => Some(compare::Peer::onnx(compare.onnx_script.clone())?),
            false => None,
        },
    };
    let rounds = compare.rounds as usize;
    if plan.backend.contains(',') && !common.json {
        eprintln!(
            "training steps data-parallel on {} (images/s of the whole step); inference on {}",
            plan.backend,
            measure::first_device(&plan.backend)
        );
    }
    let mut all = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let results = compare::compare(&plan, &mut |c| {
            if !common.json {
                let at = match rounds {
                    1 => String::new(),
                    _ => format!("round {round}/{rounds}: "),
                };
                eprintln!(
                    "{at}{}: {:.1} train img/s, {:.1} infer img/s",
                    c.ours.model, c.ours.train_images_per_sec, c.ours.infer_images_per_sec
                );
            }
        })?;
        all.push(results);
    }
    if common.json {
        let all: Vec<&BenchResult> = all
            .iter()
            .flatten()
            .flat_map(|c| std::iter::once(&c.ours).chain(&c.pytorch).chain(&c.onnx))
            .collect();
        println!("{}", to_json(&all, true));
    } else if compare.markdown {
        print!("{}", table::markdown(&all));
    } else {
        table::print(&table::medians(&all));
    }
    Ok(())
}

/// `bench profile`: one model's timed steps or batches.
fn profile(args: &Common, infer: bool, backend_name: &str) -> Result<()> {
    if args.model == "all" {
        return Err(Error::Usage(UsageError::MissingFlag {
            flag: "bench profile",
            needs: "runs one model: give --model NAME",
        }));
    }
    convzoo_models::find(&args.model)?;
    let (what, bs, times) = if infer {
        let config = convzoo_models::ModelConfig::from_name(&args.model)?;
        let info = config.info();
        let bs = args.batch_size.unwrap_or(info.bench_batch);
        let device = backend::device(measure::first_device(backend_name))?;
        device.seed(0);
        let [c, h, w] = info.input;
        let model = config.init(&device);
        let (_, _, times) =
            measure::infer_steps(model, backend_name, [bs, c, h, w], args.steps, args.warmup)?;
        ("inference batches", bs, times)
    } else {
        let (_, bs, times) = measure::train_steps(
            &args.model,
            backend_name,
            args.batch_size,
            args.steps,
            args.warmup,
        )?;
        ("training steps", bs, times)
    };
    let steps = times.len();
    let median = measure::median(times);
    println!(
        "{}: {} {what} of batch {bs}, median {:.1} ms ({:.0} img/s)",
        args.model,
        steps,
        median * 1e3,
        bs as f64 / median
    );
    Ok(())
}

/// `bench breakdown`: the parts of a training step per model.
fn breakdown(args: &Common, backend_name: &str, names: &[String]) -> Result<()> {
    let (bs, steps, warmup) = (args.batch_size, args.steps, args.warmup);
    println!(
        "{:<18} {:>6} {:>12} {:>12} {:>12} {:>12}   (seconds per step, median)",
        "model", "batch", "data", "forward", "backward", "update"
    );
    for name in names {
        let b = measure::step_breakdown(name, backend_name, bs, steps, warmup)?;
        if args.json {
            println!("{}", to_json(&b, false));
        } else {
            let total = b.data + b.forward + b.backward + b.update;
            let pct = |x: f64| format!("{:.4} {:>3.0}%", x, 100.0 * x / total);
            println!(
                "{:<18} {:>6} {:>12} {:>12} {:>12} {:>12}",
                b.model,
                b.batch_size,
                pct(b.data),
                pct(b.forward),
                pct(b.backward),
                pct(b.update)
            );
        }
    }
    if args.model != "all" && !args.json {
        let times = measure::layer_times(&args.model, backend_name, bs, steps, warmup)?;
        let total: f64 = times.iter().map(|(_, t)| t).sum();
        println!("\nforward by layer (training mode, device synchronised after each):");
        for (layer, t) in times {
            println!("  {layer:<14} {:>9.4} s {:>4.0}%", t, 100.0 * t / total);
        }
    }
    Ok(())
}

/// The CPU's model name, from `/proc/cpuinfo` where there is one.
fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}
