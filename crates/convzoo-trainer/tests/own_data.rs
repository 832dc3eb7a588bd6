//! Training on the user's own data through the `convzoo` binary: image folders, CIFAR-10's
//! binary files and MNIST, each recorded in the run and used again by `eval` and `predict`.

use std::path::Path;

mod common;
use common::*;

/// Trains `model` on `data` for an epoch, checks the run's record of the data, and that eval
/// and predict use its class names.
fn train_and_check(data: &str, model: &str, out: &Path, classes: &[&str], image: &Path) {
    let out_s = out.display();
    ok(&format!(
        "train --data {data} --model {model} --epochs 1 --batch-size 16 --out {out_s}"
    ));
    let config = json(&out.join("config.json"));
    assert_eq!(config["dataset"]["shape"][0], 3, "{config}");
    assert_eq!(config["dataset"]["classes"], serde_json::json!(classes));
    let epochs = json(&out.join("metrics.json"))["epochs"].clone();
    assert_eq!(epochs.as_array().unwrap().len(), 1);
    let acc = epochs[0]["test_acc"].as_f64().unwrap();

    let text = stdout(&ok(&format!("eval --run {out_s}")));
    assert!(
        text.contains(&format!("test acc {acc:.4}")),
        "{text} vs {acc}"
    );
    for class in classes {
        assert!(
            text.lines().any(|l| l.starts_with(class)),
            "{class}: {text}"
        );
    }
    assert!(out.join("confusion.png").is_file());

    let text = stdout(&ok(&format!("predict --run {out_s} {}", image.display())));
    let top = text.lines().nth(1).unwrap_or_default();
    assert!(
        classes.iter().any(|c| top.ends_with(&format!("  {c}"))),
        "no class name in: {text}"
    );
}

#[test]
fn image_folders_and_cifar10_train_lenet_and_resnet18() {
    let dir = scratch("own-data");
    let folder = dir.join("pets");
    image_folder(&folder, "train", 8);
    image_folder(&folder, "test", 4);
    let c10 = dir.join("c10");
    cifar(&c10, 12);
    let image = folder.join("test/owl/1.jpg");
    let spec = format!("folder:{}", folder.display());
    let names = [
        "plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ];
    for model in ["lenet", "resnet18"] {
        train_and_check(
            &spec,
            model,
            &dir.join(model),
            &["cat", "dog", "owl"],
            &image,
        );
        let out = dir.join(format!("{model}-c10"));
        let c10_spec = format!("cifar10:{}", c10.display());
        train_and_check(&c10_spec, model, &out, &names, &image);
        let shape = &json(&out.join("config.json"))["dataset"]["shape"];
        assert_eq!(shape, &serde_json::json!([3, 32, 32]));
        // eval --data: the same data named again works; another dataset's classes are refused.
        let text = stdout(&ok(&format!(
            "eval --run {} --data {c10_spec}",
            out.display()
        )));
        assert!(text.contains("on 12 images"), "{text}");
        let o = words(&format!("eval --run {} --data {spec}", out.display()));
        assert_one_line_error(&o, 1, "but the run was trained on 10 classes");
    }
    // A validation split of train/ instead of test/, with augmentation and normalisation.
    std::fs::remove_dir_all(folder.join("test")).unwrap();
    let out = dir.join("split");
    let o = ok(&format!(
        "train --data {spec} --val-split 0.25 --augment crop:2,flip --normalize dataset \
         --epochs 1 --out {}",
        out.display()
    ));
    assert!(
        stdout(&o).contains("18 training and 6 test images"),
        "{}",
        stdout(&o)
    );
    let config = json(&out.join("config.json"));
    assert_eq!(config["augment"], "crop:2,flip");
    let mean = config["dataset"]["normalize"]["mean"].as_array().unwrap();
    assert_eq!(mean.len(), 3);
    std::fs::remove_dir_all(dir).unwrap();
}

/// An IDX file of bytes with dimensions `dims`.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[test]
fn mnist_from_a_data_dir() {
    let dir = scratch("mnist");
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    for (prefix, n) in [("train", 96u32), ("t10k", 32)] {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        // A bright band whose position is the digit.
        let pixels: Vec<u8> = (0..n * 784)
            .map(|p| 5 + 245 * u8::from((p % 784) / 78 == labels[(p / 784) as usize] as u32))
            .collect();
        let images = idx(&[n, 28, 28], &pixels);
        std::fs::write(files.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
        let labels = idx(&[n], &labels);
        std::fs::write(files.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
    }
    let out = dir.join("run");
    let o = ok(&format!(
        "train --data mnist --data-dir {} --epochs 1 --batch-size 32 --out {}",
        files.display(),
        out.display()
    ));
    let text = stdout(&o);
    assert!(
        text.contains("96 training and 32 test images of MNIST"),
        "{text}"
    );
    let config = json(&out.join("config.json"));
    assert_eq!(config["data"], "mnist");
    assert_eq!(config["dataset"]["classes"][7], "7");
    assert_eq!(config["dataset"]["shape"], serde_json::json!([1, 28, 28]));
    let text = stdout(&ok(&format!("eval --run {}", out.display())));
    assert!(text.contains("on 32 images"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}
