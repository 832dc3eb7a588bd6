//! Helpers of the tests that run the `convzoo` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use convzoo_blocks::testing::values;
use convzoo_models::ModelConfig;
use std::process::{Command, Output};

pub fn convzoo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_convzoo"))
}

pub fn run(args: &[&str]) -> Output {
    convzoo().args(args).output().expect("convzoo runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// A fresh, empty scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convzoo-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Asserts a one-line error (no backtrace) with status `code` that contains `needle`.
pub fn assert_one_line_error(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "status of: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

/// Every tensor of a weights file, in module order (parameter ids differ between runs).
pub fn weights(path: &Path) -> Vec<Vec<f32>> {
    let model = ModelConfig::from_name("lenet")
        .unwrap()
        .init(&Device::flex());
    let model = convzoo_trainer::checkpoint::load_weights(path, model).unwrap();
    let mut out = Vec::new();
    convzoo_blocks::for_each_tensor(&model, |t| out.push(values(t.value())));
    out
}

pub fn metrics(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap()
}

/// Drops the timing fields, which differ between runs.
pub fn numbers(m: &serde_json::Value) -> Vec<(f64, f64, f64)> {
    m["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["train_loss"].as_f64().unwrap(),
                e["train_acc"].as_f64().unwrap(),
                e["test_acc"].as_f64().unwrap(),
            )
        })
        .collect()
}
