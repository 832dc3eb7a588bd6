//! `cargo xtask <task>`: the project's tasks. A thin, dependency-free binary that shells out to
//! cargo (the cargo-xtask convention), so it compiles in a second and never rebuilds Burn.
//!
//! Every task runs the `convzoo` binary (crate `convzoo-trainer`) in the release profile, the
//! same profile `cargo test --release` uses, so the optimised Burn build is shared. A
//! `--backend NAME` argument other than the default (`flex`) adds the cargo feature `NAME`.

use std::process::{Command, ExitCode};

const HELP: &str = "\
cargo xtask <task> [args]

Tasks (each runs `convzoo <task>` built in release mode; `<task> --help` for its flags):
  train      train a model on Fashion-MNIST with d2l's recipe (default: LeNet, CPU)
  eval       test accuracy of a finished run: --run DIR
  predict    top-5 classes for images: --run DIR IMAGE...
  summary    per-layer shapes, parameters, multiply-adds: [--model NAME|all] [--json] [--seed-table]
  models     list the models with their inputs and recipes
  import     PyTorch weights (d2l key names) into a run: --model NAME --from FILE [--out DIR]
  export     a run's weights as safetensors with d2l key names: --run DIR --out FILE
  infer      logits for a tensor file: --model NAME --weights PATH --input IN --output OUT
  test       run the test suite as CI does: cargo test --release --workspace
  bench      training and inference throughput per model: [--model NAME|all] [--batch-size N]
             [--steps N] [--json] [--compare-pytorch]; `bench --criterion` runs the criterion
             benchmarks (data loading, input pipeline against a training step)

Backends: --backend flex (default) or ndarray; the matching cargo feature is enabled for you.
Examples:
  cargo xtask train
  cargo xtask train --model resnet18 --epochs 1 --limit-train 2048
  cargo xtask summary --model all --json
";

/// The cargo feature for `--backend NAME` / `--backend=NAME` in `args`, if not the default.
fn backend_feature(args: &[String]) -> Option<String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let name = match a.strip_prefix("--backend=") {
            Some(v) => Some(v.to_string()),
            None if a == "--backend" => it.next().cloned(),
            None => None,
        };
        if let Some(name) = name.filter(|n| n != "flex") {
            return Some(name);
        }
    }
    None
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
        | "bench"
            if !(task == "bench" && rest.iter().any(|a| a == "--criterion")) =>
        {
            cmd.args([
                "run",
                "--release",
                "--quiet",
                "--package",
                "convzoo-trainer",
                "--bin",
                "convzoo",
            ]);
            if let Some(feature) = backend_feature(rest) {
                cmd.args(["--features", &feature]);
            }
            cmd.arg("--").arg(task).args(rest);
        }
        "test" => {
            cmd.args(["test", "--release", "--workspace"]).args(rest);
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
    match cmd.status() {
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: cannot run cargo: {e}");
            ExitCode::FAILURE
        }
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
        assert_eq!(backend_feature(&args(&["--model", "lenet"])), None);
    }
}
