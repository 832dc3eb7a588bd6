//! Weights go both ways between convzoo and d2l's PyTorch code: a trained run exported as
//! safetensors loads into d2l's PyTorch model with the same logits, and PyTorch's `torch.save`
//! file imports back with the same logits. Needs Python with torch and safetensors
//! (`$CONVZOO_TORCH_PYTHON`, else `python3`) and the PyTorch definitions of d2l's models
//! (`$CONVZOO_D2L_MODELS`, else the workspace's `tools/torch-reference/d2l_models.py`); without
//! them the test says why and skips.

use std::path::{Path, PathBuf};
use std::process::Command;

fn convzoo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_convzoo"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &std::process::Output) {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Python with torch, and d2l's definitions; or why not.
fn requirements() -> Result<(String, PathBuf), String> {
    let python = std::env::var("CONVZOO_TORCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_torch = Command::new(&python)
        .args(["-c", "import torch, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_torch {
        return Err(format!(
            "{python} cannot import torch and safetensors (set CONVZOO_TORCH_PYTHON)"
        ));
    }
    let d2l = std::env::var_os("CONVZOO_D2L_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("tools/torch-reference/d2l_models.py"));
    if !d2l.is_file() {
        return Err(format!(
            "{} not found (set CONVZOO_D2L_MODELS)",
            d2l.display()
        ));
    }
    Ok((python, d2l))
}

fn logits(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor("logits").unwrap();
    t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn exported_weights_run_in_pytorch_and_come_back() {
    let (python, d2l) = match requirements() {
        Ok(r) => r,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let dir = std::env::temp_dir().join(format!("convzoo-torch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    // A short lenet-bn run: batch-norm statistics and linear layers both travel.
    ok(&convzoo(&[
        "train",
        "--model",
        "lenet-bn",
        "--epochs",
        "1",
        "--limit-train",
        "512",
        "--limit-test",
        "64",
        "--out",
        &p("run"),
    ]));
    ok(&convzoo(&[
        "export",
        "--run",
        &p("run"),
        "--out",
        &p("w.safetensors"),
    ]));
    // An input batch, made here.
    let values: Vec<u8> = (0..3 * 28 * 28)
        .flat_map(|i| (((i * 37) % 101) as f32 / 100.0).to_le_bytes())
        .collect();
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![3, 1, 28, 28], &values)
            .unwrap();
    std::fs::write(
        p("in.safetensors"),
        safetensors::serialize([("input", view)], None).unwrap(),
    )
    .unwrap();
    ok(&convzoo(&[
        "infer",
        "--model",
        "lenet-bn",
        "--weights",
        &p("run"),
        "--input",
        &p("in.safetensors"),
        "--output",
        &p("ours.safetensors"),
    ]));
    let script = workspace().join("tools/torch-reference/check_export.py");
    let o = Command::new(&python)
        .arg(&script)
        .args([
            "bn_lenet",
            &p("w.safetensors"),
            &p("in.safetensors"),
            &p("ours.safetensors"),
            &p("w.pt"),
        ])
        .args(["--d2l-models", d2l.to_str().unwrap()])
        .output()
        .unwrap();
    ok(&o);
    // Back: PyTorch's torch.save file imports into a run with PyTorch's logits.
    ok(&convzoo(&[
        "import",
        "--model",
        "lenet-bn",
        "--from",
        &p("w.pt"),
        "--out",
        &p("imported"),
    ]));
    ok(&convzoo(&[
        "infer",
        "--model",
        "lenet-bn",
        "--weights",
        &p("imported"),
        "--input",
        &p("in.safetensors"),
        "--output",
        &p("back.safetensors"),
    ]));
    let (back, torch) = (
        logits(&dir.join("back.safetensors")),
        logits(&dir.join("w.pt.logits.safetensors")),
    );
    let diff = convzoo_blocks::testing::max_abs_diff(&back, &torch);
    assert!(
        diff <= 1e-4,
        "imported logits differ from PyTorch's by {diff}"
    );
    // Weights of another model: a one-line error listing keys, nothing loaded.
    let o = convzoo(&[
        "infer",
        "--model",
        "lenet",
        "--weights",
        &p("w.pt"),
        "--input",
        &p("in.safetensors"),
        "--output",
        &p("x.safetensors"),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("do not fit model 'lenet'")
            && err.contains("net.")
            && err.lines().count() == 1,
        "{err}"
    );
    assert!(!dir.join("x.safetensors").exists());
    std::fs::remove_dir_all(dir).unwrap();
}
