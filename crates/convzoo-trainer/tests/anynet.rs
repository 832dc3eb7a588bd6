//! AnyNets end to end: an AnyNet from a file (`train --anynet`) and the design-space search
//! (`design-space`), with their errors and the search's resumption.

mod common;
use common::*;

#[test]
fn an_anynet_from_a_file_trains_and_bad_files_are_one_line_errors() {
    let dir = scratch("anynet");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let stage = |depth, width, group_width, bot_mul: f64| {
        format!(
            r#"{{"depth": {depth}, "width": {width}, "group_width": {group_width}, "bot_mul": {bot_mul}}}"#
        )
    };
    let file = |stages: &[String]| {
        format!(
            r#"{{"stem_channels": 8, "stages": [{}]}}"#,
            stages.join(", ")
        )
    };
    let good = write(
        "good.json",
        &file(&[stage(1, 16, 8, 1.0), stage(2, 24, 8, 0.5)]),
    );
    // (file, the error's words): depth 0, a bottleneck that rounds to 0, a group wider than
    // its bottleneck, groups that do not divide it, an unknown key.
    let bad = [
        (
            file(&[stage(1, 16, 8, 1.0), stage(0, 24, 8, 1.0)]),
            "stage2: depth 0",
        ),
        (
            file(&[stage(1, 16, 8, 0.01)]),
            "stage1: the bottleneck round(16 * 0.01) has 0 channels",
        ),
        (
            file(&[stage(1, 16, 32, 1.0)]),
            "stage1: group width 32 must be between 1 and the bottleneck width 16",
        ),
        (file(&[stage(1, 50, 16, 1.0)]), "stage1: 3 groups"),
        (
            good_with_typo(&file(&[stage(1, 16, 8, 1.0)])),
            "unknown field `groups`",
        ),
    ];
    for (i, (text, needle)) in bad.iter().enumerate() {
        let path = write(&format!("bad{i}.json"), text);
        let out = dir.join(format!("r{i}"));
        let o = run(&["train", "--anynet", &path, "--out", out.to_str().unwrap()]);
        assert_one_line_error(&o, 2, needle);
        assert!(!out.exists(), "a refused run left {}", out.display());
    }
    assert_one_line_error(
        &run(&["train", "--anynet", &good, "--model", "resnet18"]),
        2,
        "only an AnyNet (anynet, regnetx32) takes stages",
    );
    let missing = dir.join("missing.json");
    assert_one_line_error(
        &run(&["train", "--anynet", missing.to_str().unwrap()]),
        2,
        "missing.json",
    );

    let out = dir.join("run");
    let o = run(&[
        "train",
        "--anynet",
        &good,
        "--epochs",
        "1",
        "--limit-train",
        "256",
        "--limit-test",
        "128",
        "--resize",
        "32",
        "--batch-size",
        "64",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["model"], "anynet");
    assert_eq!(config["anynet"]["stages"][1]["bot_mul"], 0.5);
    // Evaluation rebuilds the same network from the run's record (the weights would not load
    // into another).
    let o = run(&["eval", "--run", out.to_str().unwrap(), "--limit-test", "64"]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `text` with its first `group_width` key misspelt as `groups` (d2l's name for it).
fn good_with_typo(text: &str) -> String {
    text.replacen("group_width", "groups", 1)
}

#[test]
fn a_design_space_search_continues_where_it_stopped() {
    let dir = scratch("design");
    let out = dir.join("search");
    let search = |extra: &[&str]| {
        let mut args = vec![
            "design-space",
            "--spaces",
            "A,C",
            "--samples",
            "2",
            "--limit-train",
            "256",
            "--limit-test",
            "128",
            "--epochs",
            "1",
            "--resize",
            "16",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let o = search(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    for file in [
        "design.json",
        "samples.csv",
        "edf.csv",
        "edf.png",
        "edf.svg",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    // The rows without their timings (a network trained again takes other seconds).
    let rows = || -> Vec<String> {
        let text = std::fs::read_to_string(out.join("samples.csv")).unwrap();
        let mut rows: Vec<String> = text
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                [&f[..5], &f[6..]].concat().join(",")
            })
            .collect();
        rows.sort();
        rows
    };
    let first = rows();
    assert_eq!(first.len(), 4);
    let edf = std::fs::read_to_string(out.join("edf.csv")).unwrap();
    assert_eq!(edf.lines().count(), 1 + 4);

    // Run again: nothing left to train.
    let o = search(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("4 of 4 networks done"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("  test error"), "{}", stdout(&o));

    // A search stopped after its second network (the last two rows and runs gone but the
    // third network's config.json: stopped before its first checkpoint) trains only those two again, to the same results.
    let csv = std::fs::read_to_string(out.join("samples.csv")).unwrap();
    let kept: Vec<&str> = csv.lines().take(3).collect();
    std::fs::write(out.join("samples.csv"), kept.join("\n") + "\n").unwrap();
    std::fs::remove_dir_all(out.join("runs/C-001")).unwrap();
    for entry in std::fs::read_dir(out.join("runs/C-000")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() != "config.json" {
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }
    let o = search(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("2 of 4 networks done"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        stdout(&o).matches("  test error").count(),
        2,
        "{}",
        stdout(&o)
    );
    assert_eq!(rows(), first);

    // Other settings in the same directory: refused, the search untouched.
    assert_one_line_error(
        &search(&["--seed", "1"]),
        2,
        "holds a search with other settings (seed: 0 -> 1)",
    );
    assert_eq!(rows(), first);
    assert_one_line_error(&search(&["--spaces", "F"]), 2, "unknown design space 'F'");
    std::fs::remove_dir_all(dir).unwrap();
}
