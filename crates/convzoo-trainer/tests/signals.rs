//! Stopping is safe: SIGINT in the middle of an epoch finishes the step, writes its checkpoint
//! and exits with status 130; `--resume` then ends with the metrics and weights of a run that
//! never stopped.

mod common;
use common::*;

#[test]
fn sigint_checkpoints_the_step_and_resume_matches_an_uninterrupted_run() {
    let dir = scratch("sigint");
    let (a, b) = (dir.join("a"), dir.join("b"));
    // Epochs of 384 steps: long enough that the signal lands inside one however fast a step is
    // (at 48 steps, a fast machine finished the second epoch before the signal was seen).
    let steps = 384;
    let args = "train --epochs 3 --limit-train 12288 --limit-test 256 --batch-size 32 --seed 5";
    ok(&format!("{args} --out {}", a.display()));

    let line = format!("{args} --out {}", b.display());
    let child = convzoo()
        .args(line.split_whitespace())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first epoch's checkpoint: the signal then lands in the second epoch (or, on a
    // machine that is slow to deliver it, the third).
    wait_for(&b.join("checkpoint.json"));
    let pid = child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    assert!(kill.unwrap().success());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    let epoch: u64 = err
        .strip_prefix("stopped at epoch ")
        .and_then(|rest| rest.split(',').next())
        .and_then(|e| e.parse().ok())
        .unwrap_or_else(|| panic!("not a stop message: {err}"));
    assert!((2..=3).contains(&epoch), "{err}");
    assert!(err.contains(&format!("--resume {}", b.display())), "{err}");
    assert!(!b.join("model.bpk").exists());
    let pointer = json(&b.join("checkpoint.json"));
    let state = json(
        &b.join(pointer["latest"].as_str().unwrap())
            .join("state.json"),
    );
    let step = state["next_step"].as_u64().unwrap();
    assert_eq!(state["epoch"], epoch - 1, "{state}");
    assert!((1..steps).contains(&step), "not mid-epoch: {state}");
    assert!(err.contains(&format!("step {step}:")), "{err} vs {state}");

    ok(&format!("train --resume {}", b.display()));
    assert_eq!(numbers(&metrics(&a)), numbers(&metrics(&b)));
    assert!(
        weights(&a.join("model.bpk")) == weights(&b.join("model.bpk")),
        "final weights differ"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
