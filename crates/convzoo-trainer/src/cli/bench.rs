//! `convzoo bench`: throughput per model (optionally beside PyTorch), the parts of a training
//! step, or one model's training steps to profile. The measuring is `convzoo_trainer::bench`'s;
//! this prints its results.

use clap::Args;
use convzoo_models::REGISTRY;
use convzoo_trainer::bench::{self, BenchResult, Comparison, Plan};
use convzoo_trainer::{Error, Result, backend};

#[derive(Args)]
pub struct BenchArgs {
    /// Model name, or `all`
    #[arg(long, default_value = "all")]
    model: String,
    /// Burn backend (flex, ndarray, wgpu[:ADAPTER], ...; see `train --help`) [default: flex]
    #[arg(long)]
    backend: Option<String>,
    /// Images per step [default: 256 for the LeNets, 32 at 224x224, 64 at 96x96]
    #[arg(long)]
    batch_size: Option<usize>,
    /// Timed steps (the median is reported)
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Untimed warm-up steps
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// Also run d2l's PyTorch models (bench/pytorch/bench.py; $CONVZOO_TORCH_PYTHON or python3
    /// with torch), alternating per model, and print the ratios
    #[arg(long)]
    compare_pytorch: bool,
    /// Also time each model's own ONNX export in ONNX Runtime (tools/onnx/bench_onnx.py;
    /// $CONVZOO_ONNX_PYTHON or python3 with onnxruntime), inference, as many threads as convzoo
    #[arg(long)]
    compare_onnx: bool,
    /// Run one model in this process and print its JSON (used by the other modes)
    #[arg(long, hide = true)]
    single: bool,
    /// With --single: also write the model as ONNX to this file
    #[arg(long, hide = true, value_name = "FILE")]
    onnx_out: Option<std::path::PathBuf>,
    /// Time the parts of a training step instead: data, forward, backward, update
    #[arg(long, conflicts_with = "compare_pytorch")]
    breakdown: bool,
    /// Run only training steps of one model in this process and print their times: the
    /// workload to put under a profiler (bench/profile.sh runs it under `perf`)
    #[arg(long, conflicts_with_all = ["compare_pytorch", "breakdown"])]
    profile: bool,
    /// With --profile or --breakdown: inference batches instead of training steps
    #[arg(long)]
    infer: bool,
    /// Measure the machine's fp32 peak instead: an FMA loop with 12 accumulators on one thread
    /// and on all, for each kernel path the CPU has (AVX-512, AVX2, portable)
    #[arg(long, conflicts_with_all = ["compare_pytorch", "breakdown", "profile"])]
    peak: bool,
    /// Time the largest convolutions of --model (default: vgg11 and resnet18) instead: forward
    /// (training's and inference's), input gradient and weight gradient, in GFLOP/s and as a
    /// share of the measured peak
    #[arg(long, conflicts_with_all = ["compare_pytorch", "breakdown", "profile", "peak"])]
    layers: bool,
}

fn to_json(value: &impl serde::Serialize, pretty: bool) -> String {
    let json = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    json.expect("results serialise")
}

pub fn run(args: BenchArgs) -> Result<()> {
    let backend_name = args
        .backend
        .clone()
        .unwrap_or_else(|| backend::default_backend().into());
    backend::device(&backend_name)?;
    let (bs, steps, warmup) = (args.batch_size, args.steps, args.warmup);
    if args.single {
        let onnx = args.onnx_out.as_deref();
        let r = bench::bench_model(&args.model, &backend_name, bs, steps, warmup, onnx)?;
        println!("{}", to_json(&r, false));
        return Ok(());
    }
    if args.profile {
        return profile(&args, &backend_name);
    }
    if args.peak {
        return peak(args.json);
    }
    if args.layers {
        return layers(&args);
    }
    let names: Vec<String> = if args.model == "all" {
        REGISTRY.iter().map(|m| m.name.to_string()).collect()
    } else {
        convzoo_models::find(&args.model)?;
        vec![args.model.clone()]
    };
    if args.breakdown {
        return breakdown(&args, &backend_name, &names);
    }
    let plan = Plan {
        convzoo: std::env::current_exe().map_err(|source| Error::Spawn {
            program: "convzoo".into(),
            source,
        })?,
        models: names,
        backend: backend_name,
        batch_size: bs,
        steps,
        warmup,
        pytorch: args.compare_pytorch.then(bench::torch_python),
        onnx: args.compare_onnx.then(bench::onnx_python),
    };
    let results = bench::compare(&plan, &mut |c| {
        if !args.json {
            eprintln!(
                "{}: {:.1} train img/s, {:.1} infer img/s",
                c.ours.model, c.ours.train_images_per_sec, c.ours.infer_images_per_sec
            );
        }
    })?;
    if args.json {
        let all: Vec<&BenchResult> = results
            .iter()
            .flat_map(|c| std::iter::once(&c.ours).chain(&c.pytorch).chain(&c.onnx))
            .collect();
        println!("{}", to_json(&all, true));
    } else {
        print_table(&results);
    }
    Ok(())
}

fn profile(args: &BenchArgs, backend_name: &str) -> Result<()> {
    if args.model == "all" {
        return Err(Error::MissingFlag {
            flag: "--profile",
            needs: "runs one model: give --model NAME",
        });
    }
    convzoo_models::find(&args.model)?;
    let (what, bs, times) = if args.infer {
        let config = convzoo_models::ModelConfig::from_name(&args.model)?;
        let info = config.info();
        let bs = args.batch_size.unwrap_or(info.bench_batch);
        let device = backend::device(backend_name)?;
        device.seed(0);
        let [c, h, w] = info.input;
        let model = config.init(&device);
        let (_, _, times) =
            bench::infer_steps(model, backend_name, [bs, c, h, w], args.steps, args.warmup)?;
        ("inference batches", bs, times)
    } else {
        let (_, bs, times) = bench::train_steps(
            &args.model,
            backend_name,
            args.batch_size,
            args.steps,
            args.warmup,
        )?;
        ("training steps", bs, times)
    };
    let steps = times.len();
    let median = bench::median(times);
    println!(
        "{}: {} {what} of batch {bs}, median {:.1} ms ({:.0} img/s)",
        args.model,
        steps,
        median * 1e3,
        bs as f64 / median
    );
    Ok(())
}

fn breakdown(args: &BenchArgs, backend_name: &str, names: &[String]) -> Result<()> {
    let (bs, steps, warmup) = (args.batch_size, args.steps, args.warmup);
    println!(
        "{:<18} {:>6} {:>12} {:>12} {:>12} {:>12}   (seconds per step, median)",
        "model", "batch", "data", "forward", "backward", "update"
    );
    for name in names {
        let b = bench::step_breakdown(name, backend_name, bs, steps, warmup)?;
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
        let times = bench::layer_times(&args.model, backend_name, bs, steps, warmup)?;
        let total: f64 = times.iter().map(|(_, t)| t).sum();
        println!("\nforward by layer (training mode, device synchronised after each):");
        for (layer, t) in times {
            println!("  {layer:<14} {:>9.4} s {:>4.0}%", t, 100.0 * t / total);
        }
    }
    Ok(())
}

fn print_table(results: &[Comparison]) {
    println!(
        "{:<18} {:>6} {:>12} {:>12} {:>10} {:>12} {:>12} {:>8} {:>8} {:>10} {:>6}",
        "model",
        "batch",
        "train img/s",
        "infer img/s",
        "peak MB",
        "torch train",
        "torch infer",
        "train x",
        "infer x",
        "ORT infer",
        "x ORT"
    );
    for Comparison {
        ours: a,
        pytorch,
        onnx,
    } in results
    {
        let (oi, ro) = match onnx {
            Some(o) => (
                format!("{:.1}", o.infer_images_per_sec),
                format!("{:.2}", a.infer_images_per_sec / o.infer_images_per_sec),
            ),
            None => ("-".into(), "-".into()),
        };
        let (tt, ti, rt, ri) = match pytorch {
            Some(b) => (
                format!("{:.1}", b.train_images_per_sec),
                format!("{:.1}", b.infer_images_per_sec),
                format!("{:.2}", a.train_images_per_sec / b.train_images_per_sec),
                format!("{:.2}", a.infer_images_per_sec / b.infer_images_per_sec),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<18} {:>6} {:>12.1} {:>12.1} {:>10.0} {:>12} {:>12} {:>8} {:>8} {:>10} {:>6}",
            a.model,
            a.batch_size,
            a.train_images_per_sec,
            a.infer_images_per_sec,
            a.peak_rss_bytes as f64 / 1e6,
            tt,
            ti,
            rt,
            ri,
            oi,
            ro
        );
    }
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

/// `bench --peak`: the FMA loop's GFLOP/s per kernel path, on one thread and on all.
#[cfg(feature = "flex")]
fn peak(json: bool) -> Result<()> {
    use convzoo_blocks::flex::{Isa, fma_peak, isa};
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rows: Vec<(Isa, f64, f64)> = Isa::supported_all()
        .into_iter()
        .map(|i| (i, fma_peak(i, 1, 0.5), fma_peak(i, threads, 0.5)))
        .collect();
    if json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|(i, one, all)| {
                serde_json::json!({"path": i.name(), "gflops_1_thread": one,
                    "threads": threads, "gflops_all_threads": all})
            })
            .collect();
        let out = serde_json::json!({"cpu": cpu_name(), "peak": rows, "kernels": isa().name()});
        println!("{}", to_json(&out, true));
        return Ok(());
    }
    println!(
        "fp32 peak of an FMA loop (12 accumulators), {}, {threads} threads",
        cpu_name()
    );
    println!(
        "{:10}  {:>10}  {:>10}  GFLOP/s",
        "path",
        "1 thread",
        format!("{threads} threads")
    );
    for (i, one, all) in rows {
        println!("{:10}  {one:>10.1}  {all:>10.1}", i.name());
    }
    println!(
        "the kernels take the {} path (CONVZOO_KERNELS=avx512|avx2|portable forces one)",
        isa().name()
    );
    Ok(())
}

#[cfg(not(feature = "flex"))]
fn peak(_json: bool) -> Result<()> {
    Err(Error::BackendNotCompiled {
        name: "flex".into(),
        feature: "flex",
    })
}

/// `bench --layers`: the largest convolutions of each model beside the machine's peak.
#[cfg(feature = "flex")]
fn layers(args: &BenchArgs) -> Result<()> {
    use convzoo_blocks::flex::{fma_peak, isa};
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let peak = fma_peak(isa(), threads, 0.5);
    let names: Vec<&str> = if args.model == "all" {
        vec!["vgg11", "resnet18"]
    } else {
        args.model.split(',').collect()
    };
    let mut all = Vec::new();
    for name in names {
        let info = convzoo_models::find(name)?;
        let batch = args.batch_size.unwrap_or(info.bench_batch);
        let speeds = convzoo_trainer::layers::conv_speeds(name, batch, 4, args.steps)?;
        if !args.json {
            println!(
                "{name}, batch {batch}: the largest convolutions; peak {peak:.0} GFLOP/s ({} \
                 path, {threads} threads, {})",
                isa().name(),
                cpu_name()
            );
            println!(
                "  {:34}  {:>8}  {:>15}  {:>15}  {:>15}  {:>15}",
                "convolution", "GMACs", "forward", "inference", "input grad", "weight grad"
            );
        }
        for s in &speeds {
            let [_, c, h, w] = s.shape.input;
            let [kh, kw] = s.shape.kernel;
            let label = format!(
                "{c}->{} {kh}x{kw}/{} at {h}x{w}",
                s.shape.channels_out, s.shape.stride[0]
            );
            let cell = |g: f64| format!("{g:.0} ({:.0}%)", 100.0 * g / peak);
            if !args.json {
                println!(
                    "  {label:34}  {:>8.2}  {:>15}  {:>15}  {:>15}  {:>15}",
                    s.macs as f64 / 1e9,
                    cell(s.forward),
                    cell(s.inference),
                    cell(s.input_grad),
                    cell(s.weight_grad)
                );
            }
        }
        all.push(serde_json::json!({"model": name, "batch": batch, "convolutions": speeds}));
    }
    if args.json {
        let out = serde_json::json!({"cpu": cpu_name(), "peak_gflops": peak, "path": isa().name(),
            "threads": threads, "models": all});
        println!("{}", to_json(&out, true));
    }
    Ok(())
}

#[cfg(not(feature = "flex"))]
fn layers(_args: &BenchArgs) -> Result<()> {
    peak(false)
}
