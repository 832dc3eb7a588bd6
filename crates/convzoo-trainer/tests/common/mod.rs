//! Helpers of the tests that run the `convzoo` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use convzoo_blocks::testing::values;
use convzoo_models::ModelConfig;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

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

/// Runs `convzoo` with `words` split at white space (the tests' paths have none).
pub fn words(words: &str) -> Output {
    run(&words.split_whitespace().collect::<Vec<_>>())
}

/// [`words`], which must succeed.
pub fn ok(line: &str) -> Output {
    let o = words(line);
    assert!(o.status.success(), "convzoo {line}: {}", stderr(&o));
    o
}

/// The JSON file at `path`.
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Waits (up to two minutes) until `path` exists.
pub fn wait_for(path: &Path) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} did not appear",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `root/<split>/<class>/<i>.<ext>`: colour images of mixed sizes and formats, each class its
/// own colour (so that a model can learn them in an epoch or two).
pub fn image_folder(root: &Path, split: &str, n: u32) {
    for (c, class) in ["cat", "dog", "owl"].iter().enumerate() {
        let dir = root.join(split).join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..n {
            let (w, h) = (20 + 3 * i, 16 + 5 * (i % 4));
            let base = [[200u8, 30, 30], [30, 200, 30], [30, 30, 200]][c];
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb(base.map(|v| v.saturating_add(((x * 7 + y * 3 + i) % 40) as u8)))
            });
            let ext = ["png", "jpg", "bmp", "webp"][i as usize % 4];
            img.save(dir.join(format!("{i}.{ext}"))).unwrap();
        }
    }
}

/// CIFAR-10's binary layout: five training files of `n` records, a test file, class names.
pub fn cifar(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let record = |k: usize| {
        let label = (k % 10) as u8;
        let mut r = vec![label];
        r.extend((0..3072).map(|p| ((p / 1024) * 60 + label as usize * 17 + p % 7) as u8));
        r
    };
    for (f, name) in convzoo_datasets::CIFAR10_TRAIN_FILES.iter().enumerate() {
        let bytes: Vec<u8> = (0..n).flat_map(|k| record(k + f)).collect();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let test: Vec<u8> = (0..n).flat_map(record).collect();
    std::fs::write(dir.join("test_batch.bin"), test).unwrap();
    let names = "plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n";
    std::fs::write(dir.join("batches.meta.txt"), names).unwrap();
}
