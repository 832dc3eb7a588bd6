//! `convzoo`: train, evaluate, predict and summarise d2l's CNNs. Errors print one line and exit
//! with status 2 (bad usage) or 1 (anything else).

use std::path::PathBuf;
use std::process::ExitCode;

use burn::tensor::Device;
use clap::{Args, Parser, Subcommand};
use convzoo_models::{ModelConfig, REGISTRY, group_thousands, seed_table, summarize};
use convzoo_trainer::config::Overrides;
use convzoo_trainer::{backend, infer, interop, train};

#[derive(Parser)]
#[command(
    name = "convzoo",
    version,
    about = "The CNNs of d2l's modern-CNN chapter on Burn: train, evaluate, predict, summarise"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on Fashion-MNIST with d2l's recipe (flags override it)
    Train(Box<TrainArgs>),
    /// Test accuracy of a finished run
    Eval(EvalArgs),
    /// Top-5 classes for PNG/JPEG images, with a finished run
    Predict(PredictArgs),
    /// Per-layer output shapes, parameters and multiply-adds
    Summary(SummaryArgs),
    /// Import PyTorch weights (d2l's key names) into a new run directory
    Import(ImportArgs),
    /// Export a run's weights as safetensors with d2l's PyTorch key names
    Export(ExportArgs),
    /// Run a model on the tensor `input` of a safetensors file; write `logits`
    Infer(InferArgs),
    /// List the models with their inputs and d2l recipes
    Models,
    /// Training and inference throughput per model (optionally beside PyTorch)
    Bench(BenchArgs),
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    overrides: Overrides,
    /// JSON file of settings (same names as the flags, with underscores); flags override it
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run directory to create [default: runs/MODEL-TIME]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Continue the run in DIR from its last checkpoint, with its saved configuration
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "out"])]
    resume: Option<PathBuf>,
}

#[derive(Args)]
struct EvalArgs {
    /// Run directory
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// Test on the first N images only (0: all)
    #[arg(long, default_value_t = 0)]
    limit_test: usize,
    /// Directory with the Fashion-MNIST files [default: the run's, else search]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Burn backend (flex, ndarray, wgpu[:ADAPTER], ...; see `train --help`) [default: the run's]
    #[arg(long)]
    backend: Option<String>,
}

#[derive(Args)]
struct PredictArgs {
    /// Run directory
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// Images (PNG or JPEG), made greyscale and 28x28 like Fashion-MNIST
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
}

#[derive(Args)]
struct ImportArgs {
    /// Model name
    #[arg(long)]
    model: String,
    /// PyTorch weights: a state_dict from torch.save (.pt, .pth) or .safetensors
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// Run directory to create [default: runs/MODEL-TIME]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct ExportArgs {
    /// Run directory
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// Safetensors file to write
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Args)]
struct InferArgs {
    /// Model name
    #[arg(long)]
    model: String,
    /// Weights: a run directory, a .bpk file, or PyTorch weights (.safetensors, .pt, .pth)
    #[arg(long, value_name = "PATH")]
    weights: PathBuf,
    /// Safetensors file with the tensor `input`, f32 [N, C, H, W]
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Safetensors file to write the tensor `logits` to, f32 [N, classes]
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
}

#[derive(Args)]
struct BenchArgs {
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
    /// Run one model in this process and print its JSON (used by the other modes)
    #[arg(long, hide = true)]
    single: bool,
    /// Time the parts of a training step instead: data, forward, backward, update
    #[arg(long, conflicts_with = "compare_pytorch")]
    breakdown: bool,
    /// Run only training steps of one model in this process and print their times: the
    /// workload to put under a profiler (bench/profile.sh runs it under `perf`)
    #[arg(long, conflicts_with_all = ["compare_pytorch", "breakdown"])]
    profile: bool,
}

#[derive(Args)]
struct SummaryArgs {
    /// Model name, or `all`
    #[arg(long, default_value = "all")]
    model: String,
    /// Print JSON instead of tables
    #[arg(long)]
    json: bool,
    /// Print the seed's GoogLeNet cost table (Inception vs 3x3 and 5x5 convolutions)
    #[arg(long, conflicts_with = "model")]
    seed_table: bool,
}

/// An error and its exit status.
enum Failure {
    Usage(String),
    Runtime(String),
}

fn usage<E: ToString>(e: E) -> Failure {
    Failure::Usage(e.to_string())
}

fn runtime(e: String) -> Failure {
    Failure::Runtime(e)
}

fn cpu() -> Result<Device, Failure> {
    backend::device(backend::default_backend()).map_err(runtime)
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Train(args) => {
            if let Some(dir) = args.resume {
                let o = &args.overrides;
                let any_flag = o.model.is_some()
                    || o.epochs.is_some()
                    || o.lr.is_some()
                    || o.batch_size.is_some();
                if any_flag {
                    return Err(usage(
                        "--resume continues a run with its saved configuration; give it alone",
                    ));
                }
                return train::resume(&dir).map_err(runtime);
            }
            let file = match &args.config {
                Some(path) => Overrides::from_file(path).map_err(usage)?,
                None => Overrides::default(),
            };
            let config = file
                .then(args.overrides)
                .resolve(backend::default_backend())
                .map_err(usage)?;
            backend::device(&config.backend).map_err(usage)?;
            train::start(config, args.out.as_deref()).map_err(runtime)?;
            Ok(())
        }
        Command::Eval(args) => {
            let (config, n, acc) = infer::evaluate(
                &args.run,
                args.limit_test,
                args.data_dir,
                args.backend.as_deref(),
            )
            .map_err(runtime)?;
            println!(
                "{}: test acc {acc:.4} on {n} images ({})",
                config.model,
                args.run.display()
            );
            Ok(())
        }
        Command::Predict(args) => {
            let results = infer::predict(&args.run, &args.images, 5).map_err(runtime)?;
            for (path, top) in args.images.iter().zip(results) {
                println!("{}", path.display());
                for p in top {
                    println!("  {:>7.2}%  {}  {}", p.probability * 100.0, p.class, p.name);
                }
            }
            Ok(())
        }
        Command::Summary(args) => summary(args),
        Command::Bench(args) => bench(args),
        Command::Import(args) => {
            convzoo_models::find(&args.model).map_err(usage)?;
            let run = interop::import(&args.model, &args.from, args.out.as_deref(), &cpu()?)
                .map_err(runtime)?;
            println!("imported {} into {}", args.from.display(), run.display());
            Ok(())
        }
        Command::Export(args) => {
            interop::export(&args.run, &args.out, &cpu()?).map_err(runtime)?;
            println!("wrote {}", args.out.display());
            Ok(())
        }
        Command::Infer(args) => {
            convzoo_models::find(&args.model).map_err(usage)?;
            let dims = interop::infer(
                &args.model,
                &args.weights,
                &args.input,
                &args.output,
                &cpu()?,
            )
            .map_err(runtime)?;
            println!("wrote logits {dims:?} to {}", args.output.display());
            Ok(())
        }
        Command::Models => {
            println!(
                "{:<18} {:<36} {:>6} {:>11} {:>6} {:>6} {:>6}",
                "name", "model", "d2l", "input", "lr", "batch", "resize"
            );
            for m in REGISTRY {
                let [c, h, w] = m.input;
                let r = m.recipe;
                println!(
                    "{:<18} {:<36} {:>6} {:>11} {:>6} {:>6} {:>6}",
                    m.name,
                    m.title,
                    m.d2l_section,
                    format!("{c}x{h}x{w}"),
                    r.lr,
                    r.batch_size,
                    r.resize
                );
            }
            Ok(())
        }
    }
}

fn bench(args: BenchArgs) -> Result<(), Failure> {
    use convzoo_trainer::bench::{BenchResult, bench_model, d2l_name};
    let backend_name = args
        .backend
        .clone()
        .unwrap_or_else(|| backend::default_backend().into());
    backend::device(&backend_name).map_err(usage)?;
    if args.single {
        let r = bench_model(
            &args.model,
            &backend_name,
            args.batch_size,
            args.steps,
            args.warmup,
        )
        .map_err(runtime)?;
        println!("{}", serde_json::to_string(&r).unwrap());
        return Ok(());
    }
    if args.profile {
        if args.model == "all" {
            return Err(usage("--profile runs one model: give --model NAME"));
        }
        convzoo_models::find(&args.model).map_err(usage)?;
        let (_, bs, times) = convzoo_trainer::bench::train_steps(
            &args.model,
            &backend_name,
            args.batch_size,
            args.steps,
            args.warmup,
        )
        .map_err(runtime)?;
        let steps = times.len();
        let median = convzoo_trainer::bench::median(times);
        println!(
            "{}: {} training steps of batch {bs}, median {:.1} ms ({:.0} img/s)",
            args.model,
            steps,
            median * 1e3,
            bs as f64 / median
        );
        return Ok(());
    }
    let names: Vec<&str> = if args.model == "all" {
        REGISTRY.iter().map(|m| m.name).collect()
    } else {
        convzoo_models::find(&args.model).map_err(usage)?;
        vec![args.model.as_str()]
    };
    if args.breakdown {
        println!(
            "{:<18} {:>6} {:>12} {:>12} {:>12} {:>12}   (seconds per step, median)",
            "model", "batch", "data", "forward", "backward", "update"
        );
        for name in names {
            let b = convzoo_trainer::bench::step_breakdown(
                name,
                &backend_name,
                args.batch_size,
                args.steps,
                args.warmup,
            )
            .map_err(runtime)?;
            if args.json {
                println!("{}", serde_json::to_string(&b).unwrap());
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
            let times = convzoo_trainer::bench::layer_times(
                &args.model,
                &backend_name,
                args.batch_size,
                args.steps,
                args.warmup,
            )
            .map_err(runtime)?;
            let total: f64 = times.iter().map(|(_, t)| t).sum();
            println!("\nforward by layer (training mode, device synchronised after each):");
            for (layer, t) in times {
                println!("  {layer:<14} {:>9.4} s {:>4.0}%", t, 100.0 * t / total);
            }
        }
        return Ok(());
    }
    let common = |cmd: &mut std::process::Command, model: &str| {
        cmd.args([
            "--model",
            model,
            "--steps",
            &args.steps.to_string(),
            "--warmup",
            &args.warmup.to_string(),
        ]);
        if let Some(bs) = args.batch_size {
            cmd.args(["--batch-size", &bs.to_string()]);
        }
    };
    let parse = |out: std::process::Output, what: &str| -> Result<BenchResult, Failure> {
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(runtime(format!(
                "{what}: {}",
                err.lines().last().unwrap_or("failed")
            )));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().unwrap_or_default();
        serde_json::from_str(line)
            .map_err(|e| runtime(format!("{what}: unreadable result ({e}): {line}")))
    };
    let exe = std::env::current_exe().map_err(|e| runtime(e.to_string()))?;
    let python = std::env::var("CONVZOO_TORCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/pytorch/bench.py");
    let mut results: Vec<(BenchResult, Option<BenchResult>)> = Vec::new();
    for name in names {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(["bench", "--single", "--backend", &backend_name]);
        common(&mut cmd, name);
        let ours = parse(cmd.output().map_err(|e| runtime(e.to_string()))?, name)?;
        let theirs = match (args.compare_pytorch, d2l_name(name)) {
            (true, Some(d2l)) => {
                let mut cmd = std::process::Command::new(&python);
                cmd.arg(&script).args(["--d2l-name", d2l]);
                common(&mut cmd, name);
                Some(parse(
                    cmd.output()
                        .map_err(|e| runtime(format!("{python}: {e}")))?,
                    &format!("{name} (pytorch)"),
                )?)
            }
            _ => None,
        };
        if !args.json {
            eprintln!(
                "{name}: {:.1} train img/s, {:.1} infer img/s",
                ours.train_images_per_sec, ours.infer_images_per_sec
            );
        }
        results.push((ours, theirs));
    }
    if args.json {
        let all: Vec<&BenchResult> = results
            .iter()
            .flat_map(|(a, b)| std::iter::once(a).chain(b))
            .collect();
        println!("{}", serde_json::to_string_pretty(&all).unwrap());
        return Ok(());
    }
    println!(
        "{:<18} {:>6} {:>12} {:>12} {:>10} {:>12} {:>12} {:>8} {:>8}",
        "model",
        "batch",
        "train img/s",
        "infer img/s",
        "peak MB",
        "torch train",
        "torch infer",
        "train x",
        "infer x"
    );
    for (a, b) in &results {
        let (tt, ti, rt, ri) = match b {
            Some(b) => (
                format!("{:.1}", b.train_images_per_sec),
                format!("{:.1}", b.infer_images_per_sec),
                format!("{:.2}", a.train_images_per_sec / b.train_images_per_sec),
                format!("{:.2}", a.infer_images_per_sec / b.infer_images_per_sec),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<18} {:>6} {:>12.1} {:>12.1} {:>10.0} {:>12} {:>12} {:>8} {:>8}",
            a.model,
            a.batch_size,
            a.train_images_per_sec,
            a.infer_images_per_sec,
            a.peak_rss_bytes as f64 / 1e6,
            tt,
            ti,
            rt,
            ri
        );
    }
    Ok(())
}

fn summary(args: SummaryArgs) -> Result<(), Failure> {
    let device = cpu()?;
    if args.seed_table {
        let rows = seed_table(&device);
        if args.json {
            let json: Vec<_> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({"block": r.block, "params": r.params, "macs": r.macs,
                    "params_m": r.params_m(), "macs_m": r.macs_m()})
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&json).unwrap());
        } else {
            println!(
                "{:<48} {:>10} {:>18}",
                "block (28x28 output)", "params (M)", "multiply-adds (M)"
            );
            for r in rows {
                println!("{:<48} {:>10.2} {:>18}", r.block, r.params_m(), r.macs_m());
            }
        }
        return Ok(());
    }
    let names: Vec<&str> = if args.model == "all" {
        REGISTRY.iter().map(|m| m.name).collect()
    } else {
        vec![args.model.as_str()]
    };
    let mut summaries = Vec::new();
    for name in names {
        let config = ModelConfig::from_name(name).map_err(usage)?;
        let s = summarize(&config, &device);
        if !args.json {
            println!("{}", s.to_table());
        }
        summaries.push(s);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summaries).unwrap());
    } else if summaries.len() > 1 {
        println!("{:<18} {:>13} {:>16}", "model", "params", "multiply-adds");
        for s in &summaries {
            println!(
                "{:<18} {:>13} {:>14.1} M",
                s.name,
                group_thousands(s.params as u64),
                s.macs as f64 / 1e6
            );
        }
    }
    Ok(())
}

/// Parses the command line; a usage error becomes one line on stderr and exit status 2.
fn parse() -> Result<Cli, ExitCode> {
    use clap::error::ErrorKind;
    Cli::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => {
            let text = e.render().to_string();
            let line: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("For more information")
                        && !l.starts_with("Usage:")
                })
                .collect();
            eprintln!("{} (see --help)", line.join(" "));
            ExitCode::from(2)
        }
    })
}

fn main() -> ExitCode {
    convzoo_trainer::allocator::keep_freed_memory();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
