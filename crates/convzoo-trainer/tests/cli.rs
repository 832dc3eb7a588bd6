//! The `convzoo` binary end to end: errors, divergence, kill-and-resume, eval and predict
//! (AnyNets and design spaces: `anynet.rs`).

mod common;
use common::*;

#[test]
fn bad_input_gives_one_line_errors() {
    assert_one_line_error(
        &run(&["train", "--model", "lenet5"]),
        2,
        "unknown model 'lenet5'; choose one of: lenet, lenet-bn",
    );
    assert_one_line_error(
        &run(&["train", "--optimizer", "rmsprop"]),
        2,
        "[possible values: sgd, adam]",
    );
    assert_one_line_error(&run(&["train", "--lr", "fast"]), 2, "invalid value 'fast'");
    assert_one_line_error(
        &run(&["train", "--lr", "0"]),
        2,
        "--lr must be a positive number",
    );
    assert_one_line_error(
        &run(&["train", "--backend", "tpu"]),
        2,
        "unknown backend 'tpu'; choose one of: flex, ndarray",
    );
    assert_one_line_error(
        &run(&["train", "--model", "alexnet", "--resize", "32"]),
        2,
        "model 'alexnet' expects input [N, 1, 224, 224], but was given [1, 1, 32, 32]",
    );
    let dir = scratch("bad");
    let cfg = dir.join("c.json");
    std::fs::write(&cfg, r#"{"epoch": 3}"#).unwrap();
    assert_one_line_error(
        &run(&["train", "--config", cfg.to_str().unwrap()]),
        2,
        "unknown field `epoch`",
    );
    let missing = dir.join("nowhere");
    assert_one_line_error(
        &run(&[
            "train",
            "--epochs",
            "1",
            "--data-dir",
            missing.to_str().unwrap(),
            "--out",
            dir.join("r").to_str().unwrap(),
        ]),
        1,
        "no such directory",
    );
    assert_one_line_error(
        &run(&["eval", "--run", missing.to_str().unwrap()]),
        1,
        "is ",
    );
    assert_one_line_error(
        &run(&["summary", "--model", "resnet50"]),
        2,
        "unknown model 'resnet50'",
    );
    std::fs::remove_dir_all(dir).unwrap();
}

const SMALL: [&str; 10] = [
    "--epochs",
    "2",
    "--limit-train",
    "3072",
    "--limit-test",
    "256",
    "--batch-size",
    "64",
    "--seed",
    "5",
];

#[test]
fn killed_run_resumes_to_the_same_result() {
    let dir = scratch("resume");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let o = convzoo()
        .arg("train")
        .args(SMALL)
        .args(["--out", a.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("saved to {}", a.display())),
        "{}",
        stdout(&o)
    );
    for f in [
        "config.json",
        "metrics.json",
        "metrics.csv",
        "curves.svg",
        "curves.png",
        "model.bpk",
        "checkpoint.json",
    ] {
        assert!(a.join(f).is_file(), "{f} missing");
    }

    // The same run, killed (SIGKILL) as soon as its first mid-epoch checkpoint exists.
    let mut child = convzoo()
        .arg("train")
        .args(SMALL)
        .args(["--checkpoint-every", "3", "--out", b.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&b.join("checkpoint.json"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !b.join("model.bpk").exists(),
        "the run finished before it was killed"
    );

    // Training flags cannot change a resumed run: refused, naming the flag, nothing trained.
    for (flag, value) in [("--seed", "3"), ("--optimizer", "adam")] {
        assert_one_line_error(
            &run(&["train", "--resume", b.to_str().unwrap(), flag, value]),
            2,
            &format!(
                "--resume continues a run with its saved configuration; {flag} cannot be given \
                 with it"
            ),
        );
    }
    assert!(!b.join("model.bpk").exists());

    let o = run(&["train", "--resume", b.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("continuing at epoch"), "{}", stdout(&o));
    assert_eq!(numbers(&metrics(&a)), numbers(&metrics(&b)));
    assert_eq!(numbers(&metrics(&a)).len(), 2);
    assert!(
        weights(&a.join("model.bpk")) == weights(&b.join("model.bpk")),
        "final weights differ"
    );

    // eval reproduces the last test accuracy; predict ranks classes.
    let o = run(&["eval", "--run", a.to_str().unwrap(), "--limit-test", "256"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let last = numbers(&metrics(&a))[1].2;
    assert!(
        stdout(&o).contains(&format!("test acc {last:.4} on 256 images")),
        "{} vs {last}",
        stdout(&o)
    );
    let img = dir.join("shoe.png");
    image::GrayImage::from_fn(28, 28, |x, y| image::Luma([((x * 9 + y * 5) % 256) as u8]))
        .save(&img)
        .unwrap();
    let o = run(&[
        "predict",
        "--run",
        a.to_str().unwrap(),
        img.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let probs: Vec<f64> = out
        .lines()
        .skip(1)
        .map(|l| l.split('%').next().unwrap().trim().parse().unwrap())
        .collect();
    assert_eq!(probs.len(), 5, "{out}");
    assert!(
        probs.windows(2).all(|w| w[0] >= w[1]) && probs.iter().sum::<f64>() <= 100.01,
        "{out}"
    );

    // A truncated or foreign checkpoint is refused with a clear message.
    let latest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("checkpoint.json")).unwrap()).unwrap();
    let ckpt = b.join(latest["latest"].as_str().unwrap());
    let weights = std::fs::read(ckpt.join("model.bpk")).unwrap();
    std::fs::write(ckpt.join("model.bpk"), &weights[..weights.len() / 2]).unwrap();
    assert_one_line_error(
        &run(&["train", "--resume", b.to_str().unwrap()]),
        1,
        "not a readable weights file",
    );
    std::fs::write(ckpt.join("model.bpk"), &weights).unwrap();
    let config = std::fs::read_to_string(b.join("config.json")).unwrap();
    std::fs::write(
        b.join("config.json"),
        config.replace("\"lenet\"", "\"lenet-bn\""),
    )
    .unwrap();
    assert_one_line_error(
        &run(&["train", "--resume", b.to_str().unwrap()]),
        1,
        "the checkpoint is of model 'lenet', not 'lenet-bn'",
    );
    let state = std::fs::read_to_string(ckpt.join("state.json")).unwrap();
    std::fs::write(
        ckpt.join("state.json"),
        state.replace("\"lenet\"", "\"lenet-bn\""),
    )
    .unwrap();
    assert_one_line_error(
        &run(&["train", "--resume", b.to_str().unwrap()]),
        1,
        "do not fit model 'lenet-bn'",
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn divergence_stops_with_a_clear_message_and_keeps_the_checkpoint() {
    let dir = scratch("nan");
    let out = dir.join("run");
    let o = run(&[
        "train",
        "--lr",
        "1e6",
        "--limit-train",
        "1024",
        "--limit-test",
        "64",
        "--batch-size",
        "64",
        "--checkpoint-every",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_one_line_error(&o, 1, "training diverged: the loss became");
    let err = stderr(&o);
    assert!(
        err.contains("at epoch 1, step") && err.contains("try a smaller --lr"),
        "{err}"
    );
    // The checkpoint it names is intact and resumable weights.
    assert!(err.contains("the last good checkpoint is kept in"), "{err}");
    assert!(out.join("checkpoint.json").is_file());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn summary_json_lists_every_model() {
    let o = run(&["summary", "--model", "all", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let models = v.as_array().unwrap();
    assert_eq!(models.len(), convzoo_models::REGISTRY.len());
    let lenet_bn = models
        .iter()
        .find(|m| m["name"] == "lenet-bn-scratch")
        .unwrap();
    assert_eq!(lenet_bn["params"], 44_878);
    assert_eq!(lenet_bn["input"], serde_json::json!([1, 28, 28]));
    assert_eq!(
        lenet_bn["layers"].as_array().unwrap().last().unwrap()["output_shape"],
        serde_json::json!([1, 10])
    );
    let o = run(&["summary", "--seed-table", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let got: Vec<(f64, u64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["params_m"].as_f64().unwrap(),
                r["macs_m"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, vec![(0.16, 128), (0.44, 346), (1.22, 963)]);
}

#[test]
fn pytorch_batch_norm_runs_end_to_end() {
    let dir = scratch("bn");
    let out = dir.join("run");
    let o = run(&[
        "train",
        "--model",
        "lenet-bn",
        "--batch-norm",
        "pytorch",
        "--epochs",
        "1",
        "--limit-train",
        "256",
        "--limit-test",
        "64",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let config = std::fs::read_to_string(out.join("config.json")).unwrap();
    assert!(config.contains(r#""batch_norm": "pytorch""#), "{config}");
    // The run's own batch norm is used to read its weights back.
    let o = run(&["eval", "--run", out.to_str().unwrap(), "--limit-test", "64"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "export",
        "--run",
        out.to_str().unwrap(),
        "--out",
        dir.join("w.safetensors").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bench_json_has_the_issue_schema() {
    let o = run(&[
        "bench",
        "--model",
        "lenet",
        "--steps",
        "1",
        "--warmup",
        "0",
        "--batch-size",
        "16",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let r = &v.as_array().unwrap()[0];
    assert_eq!(
        (
            r["model"].as_str(),
            r["backend"].as_str(),
            r["batch_size"].as_u64()
        ),
        (Some("lenet"), Some("flex"), Some(16))
    );
    for key in [
        "train_images_per_sec",
        "infer_images_per_sec",
        "peak_rss_bytes",
    ] {
        assert!(r[key].as_f64().unwrap() > 0.0, "{key}: {r}");
    }
}
