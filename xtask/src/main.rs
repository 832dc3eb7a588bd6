//! `cargo xtask <task>`: the project's tasks. A thin binary that shells out to cargo (the
//! cargo-xtask convention), so it compiles in seconds and never rebuilds Burn.
//!
//! Every task runs the `convzoo` binary (crate `convzoo-trainer`) or `convzoo-serve` in the
//! release profile, the same profile `cargo test --release` uses, so the optimised Burn build is
//! shared. Both binaries are built by one cargo call with the same features, so `serve` after
//! `train` (or the reverse) compiles nothing. A
//! `--backend NAME[:SELECTOR]` argument other than the default (`flex`) adds the cargo feature
//! `NAME`; `CONVZOO_FEATURES=a,b` adds features to every build, so that runs on several backends
//! share one build (CI sets `ndarray,wgpu`).

use std::path::PathBuf;
use std::process::{Command, ExitCode};

const HELP: &str = "\
cargo xtask <task> [args]

Tasks (each runs `convzoo <task>` built in release mode; `<task> --help` for its flags):
  train      train a model with d2l's recipe (default: LeNet on Fashion-MNIST, CPU;
             --data mnist|folder:PATH|cifar10:PATH for other data)
  eval       test accuracy of a finished run: --run DIR
  predict    top-5 classes for images: --run DIR IMAGE...
  summary    per-layer shapes, parameters, multiply-adds: [--model NAME|all] [--json] [--seed-table]
  models     list the models with their inputs and recipes
  import     PyTorch weights (d2l key names) into a run: --model NAME --from FILE [--out DIR]
  export     a run's weights as safetensors with d2l key names: --run DIR --out FILE
  infer      logits for a tensor file: --model NAME --weights PATH --input IN --output OUT
  design-space
             AnyNet design spaces compared by the error EDF of networks drawn from each
             (d2l 8.8): [--spaces A,B,C] [--samples N] [--out DIR]; rerun to continue
  serve      the web page and JSON API for runs: --run DIR (repeatable) or --runs DIR
             [--port 8000] [--host 127.0.0.1] (runs `convzoo-serve`, built with `convzoo`)
  test       run the test suite as CI does: cargo test --release --workspace
  test-backends
             the cross-backend test (every model, flex vs each backend compiled in) with the
             features in $CONVZOO_FEATURES, default `ndarray,wgpu` (wgpu needs a Vulkan driver;
             Debian: apt-get install mesa-vulkan-drivers libvulkan1)
  bench      training and inference throughput per model: [--model NAME|all] [--batch-size N]
             [--steps N] [--json]; `bench compare --pytorch --onnx [--rounds 3] [--markdown]`
             beside d2l's PyTorch models and ONNX Runtime; `bench profile|breakdown|peak|layers`
             (see `bench --help`); `bench --criterion` runs the criterion benchmarks (data
             loading, input pipeline against a training step)

Backends: --backend flex (default), ndarray, wgpu, vulkan, cuda or metal; the matching cargo
feature is enabled for you. GPU adapters: --backend wgpu:discrete|integrated|virtual|cpu[:N]
(default: the first found in that order), --backend cuda:N. Data-parallel training:
--devices cuda:0,cuda:1 (devices of one backend; its feature is enabled the same way).
CONVZOO_FEATURES=a,b adds cargo features to every build.
Examples:
  cargo xtask train
  cargo xtask train --model resnet18 --epochs 1 --limit-train 2048
  cargo xtask summary --model all --json
  cargo xtask train --backend wgpu --epochs 1 --limit-train 2048
  cargo xtask bench --devices flex,flex --model resnet18
  cargo xtask serve --runs runs
";

/// The cargo feature for `--backend NAME` / `--backend=NAME` (or the first device of
/// `--devices LIST`) in `args`, if not the default.
fn backend_feature(args: &[String]) -> Option<String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let name = match a
            .strip_prefix("--backend=")
            .or_else(|| a.strip_prefix("--devices="))
        {
            Some(v) => Some(v.to_string()),
            None if a == "--backend" || a == "--devices" => it.next().cloned(),
            None => None,
        };
        // `wgpu:cpu` -> `wgpu`: the selector picks an adapter at run time; a device list's
        // first device names the backend of all.
        let name = name.map(|n| {
            let first = n.split(',').next().unwrap_or_default();
            first.split(':').next().unwrap_or_default().to_string()
        });
        if let Some(name) = name.filter(|n| n != "flex" && !n.is_empty()) {
            return Some(name);
        }
    }
    None
}

/// The cargo features for a run: the backend's plus `$CONVZOO_FEATURES`, comma-separated.
fn features(backend: Option<String>, extra: Option<String>) -> Option<String> {
    let mut all: Vec<String> = extra
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(b) = backend.filter(|b| !all.contains(b)) {
        all.push(b);
    }
    (!all.is_empty()).then(|| all.join(","))
}

fn extra_features() -> Option<String> {
    std::env::var("CONVZOO_FEATURES").ok()
}

/// The workspace's root (xtask's parent folder).
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds `convzoo` and `convzoo-serve` in one cargo call (release, the trainer's `features`),
/// and returns the folder that holds them; on failure, the exit code to end with.
fn build_binaries(features: Option<&str>) -> Result<PathBuf, ExitCode> {
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--quiet", "--bins"]).args([
        "--package",
        "convzoo-trainer",
        "--package",
        "convzoo-serve",
    ]);
    if let Some(features) = features {
        cmd.args(["--features", &trainer_features(features)]);
    }
    match cmd.status() {
        Ok(status) if status.success() => {}
        Ok(status) => {
            return Err(ExitCode::from(
                status.code().unwrap_or(1).clamp(1, 255) as u8
            ));
        }
        Err(e) => {
            eprintln!("error: cannot run cargo: {e}");
            return Err(ExitCode::FAILURE);
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    Ok(target.join("release"))
}

/// `features` as features of the trainer package (`wgpu` -> `convzoo-trainer/wgpu`), which the
/// two-package build needs; features that name their package are kept.
fn trainer_features(features: &str) -> String {
    features
        .split(',')
        .map(|f| match f.contains('/') {
            true => f.to_string(),
            false => format!("convzoo-trainer/{f}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Points `convzoo bench compare --pytorch --onnx` at the workspace's peer scripts,
/// unless the environment already names them.
fn peer_scripts(cmd: &mut Command) {
    let scripts = [
        ("CONVZOO_PYTORCH_BENCH", "bench/pytorch/bench.py"),
        ("CONVZOO_ONNX_BENCH", "tools/onnx/bench_onnx.py"),
    ];
    for (var, path) in scripts {
        if std::env::var_os(var).is_none() {
            cmd.env(var, workspace().join(path));
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(task) = args.first() else {
        eprint!("{HELP}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let mut cmd = cargo();
    match task.as_str() {
        "train" | "eval" | "predict" | "summary" | "models" | "import" | "export" | "infer"
        | "design-space" | "bench" | "serve"
            if !(task == "bench" && rest.iter().any(|a| a == "--criterion")) =>
        {
            let features = features(backend_feature(rest), extra_features());
            let dir = match build_binaries(features.as_deref()) {
                Ok(dir) => dir,
                Err(code) => return code,
            };
            if task == "serve" {
                cmd = Command::new(dir.join("convzoo-serve"));
                cmd.args(rest);
            } else {
                cmd = Command::new(dir.join("convzoo"));
                cmd.arg(task).args(rest);
                peer_scripts(&mut cmd);
            }
        }
        "test" => {
            cmd.args(["test", "--release", "--workspace"]).args(rest);
        }
        "test-backends" => {
            let features = extra_features().unwrap_or_else(|| "ndarray,wgpu".into());
            cmd.args(["test", "--release", "--package", "convzoo-tests"])
                .args(["--features", &features, "--test", "backends"])
                .args(["--", "--nocapture"])
                .args(rest);
        }
        "bench" => {
            let rest: Vec<&String> = rest.iter().filter(|a| *a != "--criterion").collect();
            cmd.args(["bench", "--workspace"]).args(rest);
        }
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("error: unknown task '{other}'\n\n{HELP}");
            return ExitCode::from(2);
        }
    }
    match run(cmd) {
        Ok(status) => ExitCode::from(status.code().unwrap_or(130).clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: cannot run cargo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `cmd` to its end. A Ctrl-C reaches the child through the terminal's process group, so
/// xtask outlives it (the child finishes its step and writes a checkpoint) instead of dying
/// first; a SIGTERM sent to xtask alone is passed on to the child.
fn run(mut cmd: Command) -> std::io::Result<std::process::ExitStatus> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let (interrupted, terminated) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    signal_hook::flag::register(SIGINT, Arc::clone(&interrupted))?;
    signal_hook::flag::register(SIGTERM, Arc::clone(&terminated))?;
    let mut child = cmd.spawn()?;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if terminated.swap(false, Ordering::Relaxed) {
            // SAFETY: kill(2) with the child's pid and a valid signal number.
            unsafe { libc::kill(child.id() as libc::pid_t, SIGTERM) };
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn backend_flag_selects_a_feature() {
        assert_eq!(
            backend_feature(&args(&["--backend", "ndarray"])).as_deref(),
            Some("ndarray")
        );
        assert_eq!(
            backend_feature(&args(&["--epochs", "1", "--backend=ndarray"])).as_deref(),
            Some("ndarray")
        );
        assert_eq!(backend_feature(&args(&["--backend", "flex"])), None);
        assert_eq!(
            backend_feature(&args(&["--devices", "cuda:0,cuda:1"])).as_deref(),
            Some("cuda")
        );
        assert_eq!(backend_feature(&args(&["--devices=flex,flex"])), None);
        assert_eq!(backend_feature(&args(&["--model", "lenet"])), None);
        assert_eq!(
            backend_feature(&args(&["--backend", "wgpu:discrete:1"])).as_deref(),
            Some("wgpu")
        );
    }

    #[test]
    fn extra_features_join_the_backend_feature() {
        assert_eq!(features(None, None), None);
        assert_eq!(
            trainer_features("ndarray,wgpu"),
            "convzoo-trainer/ndarray,convzoo-trainer/wgpu"
        );
        assert_eq!(trainer_features("convzoo-tests/wgpu"), "convzoo-tests/wgpu");
        assert_eq!(features(Some("wgpu".into()), None).as_deref(), Some("wgpu"));
        assert_eq!(
            features(Some("wgpu".into()), Some("ndarray,wgpu".into())).as_deref(),
            Some("ndarray,wgpu")
        );
        assert_eq!(
            features(Some("ndarray".into()), Some("wgpu".into())).as_deref(),
            Some("wgpu,ndarray")
        );
    }
}
