//! A run's TensorBoard event files, read back by TensorBoard's own reader
//! (`tools/tensorboard/read_scalars.py`, `EventAccumulator`): every per-epoch scalar equals
//! `metrics.json`'s, the learning rate is the run's, and the training loss is there every
//! `--log-every` steps.
//!
//! Needs Python with the `tensorboard` package (`$CONVZOO_TENSORBOARD_PYTHON`, else `python3`;
//! CI's virtual environment has it). Without it the test says why and skips, unless
//! `CONVZOO_REQUIRE_TENSORBOARD=1` (CI), which makes that a failure.

use std::path::Path;
use std::process::Command;

fn python() -> Option<String> {
    let python = std::env::var("CONVZOO_TENSORBOARD_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", "import tensorboard"])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(python);
    }
    let why = format!("{python} cannot import tensorboard (set CONVZOO_TENSORBOARD_PYTHON)");
    assert!(
        std::env::var("CONVZOO_REQUIRE_TENSORBOARD").is_err(),
        "CONVZOO_REQUIRE_TENSORBOARD is set: {why}"
    );
    eprintln!("skipped: {why}");
    None
}

#[test]
fn tensorboard_reads_back_every_scalar_of_metrics_json() {
    let Some(python) = python() else { return };
    let dir = std::env::temp_dir().join(format!("convzoo-tb-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // 1,024 images in batches of 256: 4 steps an epoch, 8 in all; the loss at steps 3 and 6.
    let o = Command::new(env!("CARGO_BIN_EXE_convzoo"))
        .args([
            "train",
            "--model",
            "lenet",
            "--epochs",
            "2",
            "--limit-train",
            "1024",
        ])
        .args(["--limit-test", "256", "--log-every", "3", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/tensorboard/read_scalars.py");
    let o = Command::new(&python)
        .arg(script)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let scalars: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    let series = |tag: &str| -> Vec<(u64, f64)> {
        scalars[tag]
            .as_array()
            .unwrap_or_else(|| panic!("no scalar {tag} in {scalars}"))
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap()))
            .collect()
    };
    // Scalars are f32 in the file.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
    for (tag, field) in [
        ("epoch/train_loss", "train_loss"),
        ("epoch/train_acc", "train_acc"),
        ("epoch/test_acc", "test_acc"),
        ("epoch/images_per_sec", "train_images_per_sec"),
    ] {
        let got = series(tag);
        let epochs = metrics["epochs"].as_array().unwrap();
        assert_eq!(got.len(), epochs.len(), "{tag}");
        for ((step, value), e) in got.iter().zip(epochs) {
            assert_eq!(*step, e["epoch"].as_u64().unwrap(), "{tag}");
            let expected = e[field].as_f64().unwrap();
            assert!(
                close(*value, expected),
                "{tag} at {step}: {value} vs {expected}"
            );
        }
    }
    let lr = series("epoch/lr");
    assert!(lr.iter().all(|&(_, v)| close(v, 0.9)), "{lr:?}");
    let loss = series("train/loss");
    assert_eq!(loss.iter().map(|p| p.0).collect::<Vec<_>>(), [3, 6]);
    assert!(loss.iter().all(|&(_, v)| v.is_finite() && v > 0.0));
    std::fs::remove_dir_all(dir).unwrap();
}
