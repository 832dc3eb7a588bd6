//! ONNX export end to end: every registry model exported by `convzoo export --out FILE.onnx`
//! passes `onnx.checker.check_model(..., full_check=True)` and gives in ONNX Runtime, at batch
//! sizes 1 and 3, the logits of `convzoo infer` on the same weights and input (within 1e-4); a
//! trained LeNet has in ONNX Runtime the test accuracy `convzoo eval` reports; bad runs and
//! unwritable paths are one-line errors that leave no file.
//!
//! The ONNX Runtime checks need Python with `onnx`, `onnxruntime`, `numpy` and `safetensors`
//! (`$CONVZOO_ONNX_PYTHON`, else `python3`; CI makes a virtual environment). Without them they
//! say why and skip, unless `CONVZOO_REQUIRE_ONNX=1` (CI), which makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use convzoo_blocks::testing::values;
use convzoo_models::{ModelConfig, REGISTRY};
use convzoo_trainer::config::Overrides;

fn convzoo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convzoo"))
        .args(args)
        .output()
        .expect("convzoo runs")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convzoo-onnx-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Python with onnx and onnxruntime, or why not (a failure under `CONVZOO_REQUIRE_ONNX=1`).
fn python() -> Option<String> {
    let python = std::env::var("CONVZOO_ONNX_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", "import onnx, onnxruntime, numpy, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(python);
    }
    let why = format!(
        "{python} cannot import onnx, onnxruntime, numpy and safetensors (set CONVZOO_ONNX_PYTHON)"
    );
    assert!(
        std::env::var("CONVZOO_REQUIRE_ONNX").is_err(),
        "CONVZOO_REQUIRE_ONNX is set: {why}"
    );
    eprintln!("skipped: {why}");
    None
}

fn script(python: &str, name: &str, args: &[&str]) -> String {
    let path = workspace().join("tools/onnx").join(name);
    ok(&Command::new(python)
        .arg(&path)
        .args(args)
        .output()
        .expect("python runs"))
}

/// A run directory for registry model `name` with seeded weights and batch-norm running
/// statistics moved away from their initial values (one training-mode forward).
fn make_run(name: &str, dir: &Path) {
    let ad = Device::flex().autodiff();
    ad.seed(7);
    let model = ModelConfig::from_name(name).unwrap().init(&ad);
    let [c, h, w] = convzoo_models::find(name).unwrap().input;
    let x = Tensor::<4>::random([2, c, h, w], Distribution::Uniform(0.0, 1.0), &ad);
    let _ = model.forward(x);
    let config = Overrides {
        model: Some(name.into()),
        ..Overrides::default()
    }
    .resolve("flex")
    .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    convzoo_trainer::checkpoint::save_weights(&dir.join("model.bpk"), &model.valid()).unwrap();
}

/// A safetensors file holding the tensor `input` of shape `shape`, uniform in [0, 1).
fn input_file(path: &Path, shape: [usize; 4], seed: u64) {
    let device = Device::flex();
    device.seed(seed);
    let x = values(Tensor::<4>::random(
        shape,
        Distribution::Uniform(0.0, 1.0),
        &device,
    ));
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.to_vec(), &bytes)
            .unwrap();
    std::fs::write(
        path,
        safetensors::serialize([("input", view)], None).unwrap(),
    )
    .unwrap();
}

#[test]
fn every_model_runs_in_onnx_runtime_with_the_same_logits() {
    let Some(python) = python() else { return };
    let only = std::env::var("CONVZOO_ONNX_ONLY").ok();
    for info in REGISTRY {
        if only.as_deref().is_some_and(|o| o != info.name) {
            continue;
        }
        let dir = scratch(info.name);
        let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
        make_run(info.name, &dir.join("run"));
        ok(&convzoo(&[
            "export",
            "--run",
            &p("run"),
            "--out",
            &p("m.onnx"),
        ]));
        let [c, h, w] = info.input;
        let mut pairs = Vec::new();
        for batch in [1, 3] {
            let (input, logits) = (p(&format!("in{batch}.st")), p(&format!("out{batch}.st")));
            input_file(Path::new(&input), [batch, c, h, w], batch as u64);
            ok(&convzoo(&[
                "infer",
                "--model",
                info.name,
                "--weights",
                &p("run"),
                "--input",
                &input,
                "--output",
                &logits,
            ]));
            pairs.extend(["--pair".to_string(), input, logits]);
        }
        let mut args = vec![p("m.onnx")];
        args.extend(pairs);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let report = script(&python, "check_onnx.py", &args);
        eprintln!("{:<17} {}", info.name, report.trim());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The number in "test acc 0.8123 on 10000 images".
fn eval_accuracy(text: &str) -> f64 {
    let after = text
        .split("test acc ")
        .nth(1)
        .expect("eval prints the accuracy");
    after.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn a_trained_lenet_has_the_same_test_accuracy_in_onnx_runtime() {
    let Some(python) = python() else { return };
    let dir = scratch("trained");
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    // Adam learns LeNet's sigmoids within two short epochs; d2l's SGD needs more.
    let trained = ok(&convzoo(&[
        "train",
        "--model",
        "lenet",
        "--optimizer",
        "adam",
        "--lr",
        "0.003",
        "--epochs",
        "2",
        "--limit-train",
        "8192",
        "--limit-test",
        "512",
        "--out",
        &p("run"),
    ]));
    eprint!("{trained}");
    let eval = ok(&convzoo(&["eval", "--run", &p("run")]));
    eprintln!("{eval}");
    let ours = eval_accuracy(&eval);
    assert!(ours > 0.3, "the short run learned something: {ours}");
    ok(&convzoo(&[
        "export",
        "--run",
        &p("run"),
        "--out",
        &p("lenet.onnx"),
    ]));
    let data = workspace().join("datasets/fashion-mnist");
    let report = script(
        &python,
        "eval_onnx.py",
        &[&p("lenet.onnx"), "--data-dir", data.to_str().unwrap()],
    );
    eprintln!("onnx runtime: {}", report.trim());
    let json: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(json["n"], 10000);
    let theirs = json["accuracy"].as_f64().unwrap();
    // `eval` prints four decimals; one prediction of 10,000 may flip on a near-tie.
    assert!(
        (theirs - ours).abs() <= 1.5e-4,
        "ONNX Runtime {theirs} vs convzoo eval {ours}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn assert_one_line_error(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "status of: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(
        err.starts_with("error: ") && err.contains(needle),
        "{err} lacks {needle}"
    );
}

#[test]
fn bad_runs_and_paths_are_one_line_errors_and_leave_no_file() {
    let dir = scratch("errors");
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    make_run("lenet", &dir.join("run"));
    // Weights missing.
    std::fs::rename(dir.join("run/model.bpk"), dir.join("model.bpk")).unwrap();
    let o = convzoo(&["export", "--run", &p("run"), "--out", &p("a.onnx")]);
    assert_one_line_error(&o, "model.bpk");
    assert!(!dir.join("a.onnx").exists());
    // Weights corrupt.
    std::fs::write(dir.join("run/model.bpk"), b"not weights").unwrap();
    let o = convzoo(&["export", "--run", &p("run"), "--out", &p("b.onnx")]);
    assert_one_line_error(&o, "model.bpk");
    assert!(!dir.join("b.onnx").exists());
    // Output path that cannot be written: a directory that does not exist, and a directory
    // where the file should be.
    std::fs::rename(dir.join("model.bpk"), dir.join("run/model.bpk")).unwrap();
    let o = convzoo(&["export", "--run", &p("run"), "--out", &p("missing/c.onnx")]);
    assert_one_line_error(&o, "missing");
    std::fs::create_dir_all(dir.join("d.onnx")).unwrap();
    let o = convzoo(&["export", "--run", &p("run"), "--out", &p("d.onnx")]);
    assert_one_line_error(&o, "d.onnx");
    // Nothing half-written stays behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("tmp") || n.ends_with(".onnx") && n != "d.onnx")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(dir).unwrap();
}
