//! Training on the user's own data through the `convzoo` binary: image folders, CIFAR-10's
//! binary files and MNIST; every bad-data case a one-line error naming the file; Ctrl-C stops
//! with a checkpoint that resumes exactly.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;
use common::*;

/// `root/<split>/<class>/<i>.<ext>`: colour images of mixed sizes and formats, each class its
/// own colour (so that a model can learn them in an epoch or two).
fn image_folder(root: &Path, split: &str, n: u32) {
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
fn cifar(dir: &Path, n: usize) {
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

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Trains `model` on `data` for an epoch, checks the run's record of the data, and that eval
/// and predict use its class names.
fn train_and_check(data: &str, model: &str, out: &Path, classes: &[&str], image: &Path) {
    let o = run(&[
        "train",
        "--data",
        data,
        "--model",
        model,
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{model} on {data}: {}", stderr(&o));
    let config = json(&out.join("config.json"));
    assert_eq!(config["dataset"]["shape"][0], 3, "{config}");
    assert_eq!(config["dataset"]["classes"], serde_json::json!(classes));
    let metrics = json(&out.join("metrics.json"));
    let epochs = metrics["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 1);
    let acc = epochs[0]["test_acc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc));

    let o = run(&["eval", "--run", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
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

    let o = run(&[
        "predict",
        "--run",
        out.to_str().unwrap(),
        image.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
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
    for model in ["lenet", "resnet18"] {
        train_and_check(
            &spec,
            model,
            &dir.join(model),
            &["cat", "dog", "owl"],
            &image,
        );
        let names = [
            "plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
        ];
        let out = dir.join(format!("{model}-c10"));
        train_and_check(
            &format!("cifar10:{}", c10.display()),
            model,
            &out,
            &names,
            &image,
        );
        assert_eq!(
            json(&out.join("config.json"))["dataset"]["shape"],
            serde_json::json!([3, 32, 32])
        );
    }
    // A validation split of train/ instead of test/, with augmentation and normalisation.
    std::fs::remove_dir_all(folder.join("test")).unwrap();
    let out = dir.join("split");
    let o = run(&[
        "train",
        "--data",
        &spec,
        "--val-split",
        "0.25",
        "--augment",
        "crop:2,flip",
        "--normalize",
        "dataset",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("18 training and 6 test images"),
        "{}",
        stdout(&o)
    );
    let config = json(&out.join("config.json"));
    assert_eq!(config["augment"], "crop:2,flip");
    assert_eq!(
        config["dataset"]["normalize"]["mean"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
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
        let pixels: Vec<u8> = (0..n * 784)
            .map(|p| {
                if (p % 784) / 78 == labels[(p / 784) as usize] as u32 {
                    250
                } else {
                    5
                }
            })
            .collect();
        std::fs::write(
            files.join(format!("{prefix}-images-idx3-ubyte")),
            idx(&[n, 28, 28], &pixels),
        )
        .unwrap();
        std::fs::write(
            files.join(format!("{prefix}-labels-idx1-ubyte")),
            idx(&[n], &labels),
        )
        .unwrap();
    }
    let out = dir.join("run");
    let o = run(&[
        "train",
        "--data",
        "mnist",
        "--data-dir",
        files.to_str().unwrap(),
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("96 training and 32 test images of MNIST"),
        "{}",
        stdout(&o)
    );
    let config = json(&out.join("config.json"));
    assert_eq!(config["data"], "mnist");
    assert_eq!(config["dataset"]["classes"][7], "7");
    assert_eq!(config["dataset"]["shape"], serde_json::json!([1, 28, 28]));
    let o = run(&["eval", "--run", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("on 32 images"), "{}", stdout(&o));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `train --data SPEC` must fail with one line naming `names` and status 1.
fn refused(spec: &str, out: &Path, names: &Path, what: &str) {
    let o = run(&[
        "train",
        "--data",
        spec,
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_one_line_error(&o, 1, &names.display().to_string());
    assert!(stderr(&o).contains(what), "{}", stderr(&o));
    assert!(!out.exists(), "a run directory was made for bad data");
}

#[test]
fn bad_data_is_named_and_never_panics() {
    let dir = scratch("bad-data");
    let root = dir.join("pets");
    image_folder(&root, "train", 2);
    image_folder(&root, "test", 1);
    let spec = format!("folder:{}", root.display());
    let out = dir.join("run");
    let cat = root.join("train/cat");

    let text = cat.join("notes.txt");
    std::fs::write(&text, "a note").unwrap();
    refused(&spec, &out, &text, "not an image");
    std::fs::remove_file(&text).unwrap();

    let cut = cat.join("cut.png");
    let whole = std::fs::read(cat.join("0.png")).unwrap();
    std::fs::write(&cut, &whole[..whole.len() / 3]).unwrap();
    refused(&spec, &out, &cut, "unreadable image");
    // --skip-bad-images trains without it, says so, and lists it in the run.
    let o = run(&[
        "train",
        "--data",
        &spec,
        "--skip-bad-images",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("skipped 1 image files"),
        "{}",
        stderr(&o)
    );
    let listed = std::fs::read_to_string(out.join("skipped.txt")).unwrap();
    assert!(listed.starts_with(&cut.display().to_string()), "{listed}");
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_file(&cut).unwrap();

    let gone = cat.join("gone.png");
    std::os::unix::fs::symlink(dir.join("nowhere.png"), &gone).unwrap();
    refused(&spec, &out, &gone, "cannot read");
    std::fs::remove_file(&gone).unwrap();

    let empty = root.join("train/eel");
    std::fs::create_dir_all(&empty).unwrap();
    refused(&spec, &out, &empty, "empty class folder");
    image_folder(&root, "train", 2);
    std::fs::write(empty.join("0.png"), whole).unwrap();
    refused(
        &spec,
        &out,
        &root.join("test"),
        "different classes (only in train: eel",
    );

    let c10 = dir.join("c10");
    cifar(&c10, 3);
    let spec = format!("cifar10:{}", c10.display());
    let test = c10.join("test_batch.bin");
    let bytes = std::fs::read(&test).unwrap();
    std::fs::write(&test, &bytes[..bytes.len() - 10]).unwrap();
    refused(
        &spec,
        &out,
        &test,
        "not a whole number of 3073-byte records",
    );
    let mut bad_label = bytes.clone();
    bad_label[3073] = 11;
    std::fs::write(&test, bad_label).unwrap();
    refused(
        &spec,
        &out,
        &test,
        "label 11 at index 1 is outside the 10 classes",
    );

    assert_one_line_error(
        &run(&["train", "--data", "imagenet"]),
        2,
        "unknown dataset 'imagenet': use fashion-mnist, mnist, folder:PATH or cifar10:PATH",
    );
    assert_one_line_error(
        &run(&["train", "--val-split", "0.2"]),
        2,
        "--val-split holds out part of an image folder",
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn latest_state(run: &Path) -> serde_json::Value {
    let pointer = json(&run.join("checkpoint.json"));
    json(
        &run.join(pointer["latest"].as_str().unwrap())
            .join("state.json"),
    )
}

#[test]
fn sigint_checkpoints_the_step_and_resume_matches_an_uninterrupted_run() {
    let dir = scratch("sigint");
    let (a, b): (PathBuf, PathBuf) = (dir.join("a"), dir.join("b"));
    let args = [
        "train",
        "--epochs",
        "3",
        "--limit-train",
        "3072",
        "--limit-test",
        "256",
        "--batch-size",
        "64",
        "--seed",
        "5",
    ];
    let o = convzoo()
        .args(args)
        .args(["--out", a.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));

    let child = convzoo()
        .args(args)
        .args(["--out", b.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first epoch's checkpoint: the signal then lands in the second epoch.
    let started = Instant::now();
    while !b.join("checkpoint.json").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no checkpoint appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.starts_with("stopped at epoch 2, step "), "{err}");
    assert!(err.contains(&format!("--resume {}", b.display())), "{err}");
    assert!(!b.join("model.bpk").exists());
    let state = latest_state(&b);
    let step = state["next_step"].as_u64().unwrap();
    assert_eq!(state["epoch"], 1, "{state}");
    assert!((1..48).contains(&step), "not mid-epoch: {state}");
    assert!(err.contains(&format!("step {step}:")), "{err} vs {state}");

    let o = run(&["train", "--resume", b.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(numbers(&metrics(&a)), numbers(&metrics(&b)));
    assert!(
        weights(&a.join("model.bpk")) == weights(&b.join("model.bpk")),
        "final weights differ"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
