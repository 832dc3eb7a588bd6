//! [`compare`]: each model measured in a process of its own (`convzoo bench single`),
//! alternating with d2l's PyTorch model (`bench/pytorch/bench.py` of the repository) and ONNX
//! Runtime (`tools/onnx/bench_onnx.py`) where asked, and the peers' output parsed. The peers'
//! scripts are named by a flag or an environment variable ([`Peer`]), never found by a path
//! compiled in.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde::Deserialize;

use super::measure::BenchResult;
use convzoo_trainer::{Error, Result, UsageError};

/// What [`compare`] measures.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The `convzoo` executable that measures one model (`bench single`).
    pub convzoo: PathBuf,
    /// Registry model names, in order.
    pub models: Vec<String>,
    /// The device, or the comma-separated devices of data-parallel training steps.
    pub backend: String,
    /// Images per step (`None`: each model's bench batch).
    pub batch_size: Option<usize>,
    /// Timed steps.
    pub steps: usize,
    /// Untimed warm-up steps.
    pub warmup: usize,
    /// Also measure d2l's PyTorch model (`None`: do not).
    pub pytorch: Option<Peer>,
    /// Also time the model's own ONNX export in ONNX Runtime (`None`: do not).
    pub onnx: Option<Peer>,
}

/// A peer benchmark: a Python and the script it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Peer {
    /// The Python executable.
    pub python: String,
    /// The benchmark script.
    pub script: PathBuf,
}

impl Peer {
    /// PyTorch's: `script`, else `$CONVZOO_PYTORCH_BENCH`; run by `$CONVZOO_TORCH_PYTHON`, else
    /// `python3`.
    pub fn pytorch(script: Option<PathBuf>) -> Result<Self> {
        Ok(Self {
            python: python("CONVZOO_TORCH_PYTHON"),
            script: script_path(
                script,
                "--pytorch-script",
                "CONVZOO_PYTORCH_BENCH",
                "bench/pytorch/bench.py",
            )?,
        })
    }

    /// ONNX Runtime's: `script`, else `$CONVZOO_ONNX_BENCH`; run by `$CONVZOO_ONNX_PYTHON`,
    /// else `python3`.
    pub fn onnx(script: Option<PathBuf>) -> Result<Self> {
        Ok(Self {
            python: python("CONVZOO_ONNX_PYTHON"),
            script: script_path(
                script,
                "--onnx-script",
                "CONVZOO_ONNX_BENCH",
                "tools/onnx/bench_onnx.py",
            )?,
        })
    }
}

/// The Python in `$var`, else `python3`.
fn python(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| "python3".into())
}

/// A peer's script: the flag's value, else the environment variable's; an error that says how
/// to name it when neither is given or the file is not there.
fn script_path(
    given: Option<PathBuf>,
    flag: &'static str,
    var: &'static str,
    in_repository: &'static str,
) -> Result<PathBuf> {
    let path = given.or_else(|| std::env::var_os(var).map(PathBuf::from));
    match path {
        Some(path) if path.is_file() => Ok(path),
        found => Err(Error::Usage(UsageError::PeerScript {
            flag,
            var,
            in_repository,
            found,
        })),
    }
}

/// One model's figures, and PyTorch's beside them where measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// convzoo's.
    pub ours: BenchResult,
    /// d2l's PyTorch model's (`None`: not asked for, or no counterpart).
    pub pytorch: Option<BenchResult>,
    /// The same network exported to ONNX, in ONNX Runtime (inference only; `None`: not asked
    /// for).
    pub onnx: Option<BenchResult>,
}

/// One line of JSON of `tools/onnx/bench_onnx.py`.
#[derive(Deserialize)]
struct OrtResult {
    infer_images_per_sec: f64,
}

/// Measures every model of `plan`, each in a process of its own, PyTorch's (if asked for)
/// right after it; `each` is called with every comparison as soon as it is measured.
pub fn compare(plan: &Plan, each: &mut dyn FnMut(&Comparison)) -> Result<Vec<Comparison>> {
    let common = |cmd: &mut Command, model: &str| {
        cmd.args([
            "--model",
            model,
            "--steps",
            &plan.steps.to_string(),
            "--warmup",
            &plan.warmup.to_string(),
        ]);
        if let Some(bs) = plan.batch_size {
            cmd.args(["--batch-size", &bs.to_string()]);
        }
    };
    let run = |cmd: &mut Command, program: &str| {
        cmd.output().map_err(|source| Error::Spawn {
            program: program.into(),
            source,
        })
    };
    let mut results = Vec::new();
    for name in &plan.models {
        let mut cmd = Command::new(&plan.convzoo);
        cmd.args(["bench", "single", "--devices", &plan.backend]);
        common(&mut cmd, name);
        let onnx_file =
            std::env::temp_dir().join(format!("convzoo-bench-{}-{name}.onnx", std::process::id()));
        if plan.onnx.is_some() {
            cmd.arg("--onnx-out").arg(&onnx_file);
        }
        let ours = parse_result(run(&mut cmd, &plan.convzoo.display().to_string())?, name)?;
        let onnx = match &plan.onnx {
            Some(peer) => {
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                let mut cmd = Command::new(&peer.python);
                cmd.arg(&peer.script).arg(&onnx_file).args([
                    "--batch-size",
                    &ours.batch_size.to_string(),
                    "--steps",
                    &plan.steps.to_string(),
                    "--warmup",
                    &plan.warmup.to_string(),
                    "--threads",
                    &threads.to_string(),
                ]);
                let out = run(&mut cmd, &peer.python);
                let _ = std::fs::remove_file(&onnx_file);
                let what = format!("{name} (onnxruntime)");
                let line = checked_last_line(out?, &what)?;
                let r: OrtResult =
                    serde_json::from_str(&line).map_err(|source| Error::BenchOutput {
                        what,
                        source,
                        line: line.clone(),
                    })?;
                Some(BenchResult {
                    model: name.clone(),
                    backend: "onnxruntime".into(),
                    batch_size: ours.batch_size,
                    train_images_per_sec: 0.0,
                    infer_images_per_sec: r.infer_images_per_sec,
                    peak_rss_bytes: 0,
                })
            }
            None => None,
        };
        let pytorch = match (&plan.pytorch, convzoo_models::find(name)?.pytorch) {
            (Some(peer), Some(d2l)) => {
                let mut cmd = Command::new(&peer.python);
                cmd.arg(&peer.script).args(["--d2l-name", d2l]);
                common(&mut cmd, name);
                Some(parse_result(
                    run(&mut cmd, &peer.python)?,
                    &format!("{name} (pytorch)"),
                )?)
            }
            _ => None,
        };
        let comparison = Comparison {
            ours,
            pytorch,
            onnx,
        };
        each(&comparison);
        results.push(comparison);
    }
    Ok(results)
}

/// The last line a benchmark process printed, or its error.
fn checked_last_line(out: Output, what: &str) -> Result<String> {
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::BenchFailed {
            what: what.into(),
            reason: err.lines().last().unwrap_or("failed").into(),
        });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().last().unwrap_or_default().to_string())
}

/// The result a benchmark process printed as its last line of JSON.
fn parse_result(out: Output, what: &str) -> Result<BenchResult> {
    let line = checked_last_line(out, what)?;
    serde_json::from_str(&line).map_err(|source| Error::BenchOutput {
        what: what.into(),
        source,
        line,
    })
}
