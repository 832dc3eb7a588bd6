//! Data-parallel training (`--devices`): two flex devices take the same steps as one device
//! with the same global batch, a batch-norm model learns on two, a stopped two-device run
//! resumes to the numbers of one that never stopped, and bad device lists are one-line errors.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use burn::tensor::Device;
use convzoo_blocks::testing::values;
use convzoo_trainer::config::Overrides;
use convzoo_trainer::observe::{Event, Observer};
use convzoo_trainer::{Error, train};

/// Flex keeps one random generator for the whole process: the tests that train here (and
/// seed it) take turns.
static TRAINING: Mutex<()> = Mutex::new(());

/// Collects the running training loss after every step; stops after `stop_after` steps.
struct Steps {
    losses: Vec<f64>,
    stop_after: Option<usize>,
}

impl Observer for Steps {
    fn event(&mut self, event: &Event) {
        if let Event::Step { loss, .. } = event {
            self.losses.push(*loss);
        }
    }

    fn should_stop(&self) -> bool {
        self.stop_after == Some(self.losses.len())
    }
}

fn steps(stop_after: Option<usize>) -> Steps {
    Steps {
        losses: Vec::new(),
        stop_after,
    }
}

/// Every tensor of the run's final weights (running statistics included), in module order.
fn weights_of(run: &Path) -> Vec<Vec<f32>> {
    let device = Device::flex();
    let opened = convzoo_run::Run::open(run, &device).unwrap();
    let mut out = Vec::new();
    convzoo_blocks::for_each_tensor(&opened.model, |t| out.push(values(t.value())));
    out
}

/// The difference between `a` and `b` relative to `a`, as norms: `|a - b| / |a|`.
fn relative(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
    let diff = norm(&mut a.iter().zip(b).map(|(x, y)| (x - y) as f64));
    diff / norm(&mut a.iter().map(|&x| x as f64)).max(1e-30)
}

/// One epoch of `steps` steps of `model`: all full batches of `batch` but the last, which is
/// odd-sized (so that the two devices' slices differ in size).
fn overrides(model: &str, batch: usize, steps: usize, resize: Option<usize>) -> Overrides {
    Overrides {
        model: Some(model.into()),
        epochs: Some(1),
        batch_size: Some(batch),
        limit_train: Some((steps - 1) * batch + batch / 2 + 1),
        limit_test: Some(64),
        resize,
        seed: Some(3),
        ..Overrides::default()
    }
}

fn train_on(o: Overrides, devices: &str, out: &Path) -> (PathBuf, Vec<f64>) {
    let o = Overrides {
        devices: Some(devices.into()),
        ..o
    };
    let config = o.resolve("flex").unwrap();
    let mut observer = steps(None);
    let run = train::start_with(config, Some(out), &mut observer).unwrap();
    (run, observer.losses)
}

#[test]
fn two_devices_take_the_steps_of_one_with_the_same_global_batch() {
    let _turn = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("devices-same");
    // LeNet (sigmoids, no dropout) with d2l's learning rate, and NiN (ReLUs, dropout) with a
    // twentieth of it: from NiN's 0.1 down to about 0.01 its first steps are chaotic and grow
    // any rounding difference (the order of a sum) past 1e-5 of the weights within 20 steps
    // (one device does the same to itself when its input is scaled by 1 + 2^-22), so such a
    // run would test the chaos, not the devices.
    for (model, batch, resize, lr) in [
        ("lenet", 32, None, None),
        ("nin", 16, Some(96), Some(0.005)),
    ] {
        let o = Overrides {
            lr,
            ..overrides(model, batch, 20, resize)
        };
        let (one, one_losses) = train_on(o.clone(), "flex", &dir.join(format!("{model}-1")));
        let (two, two_losses) = train_on(o, "flex,flex", &dir.join(format!("{model}-2")));
        assert_eq!(one_losses.len(), 20);
        for (step, (a, b)) in one_losses.iter().zip(&two_losses).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * a.abs(),
                "{model} step {}: loss {a} on one device, {b} on two",
                step + 1
            );
        }
        let (a, b) = (weights_of(&one), weights_of(&two));
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            let r = relative(x, y);
            assert!(r <= 1e-5, "{model} tensor {i}: relative difference {r}");
        }
        // The weights moved: the comparison is of two trainings, not of two initialisations.
        let device = Device::flex().autodiff();
        device.seed(3);
        let spec = convzoo_run::RunSpec::read(&one).unwrap();
        let init = spec.model_config().unwrap().init(&device);
        convzoo_blocks::initialize_now(&init);
        let mut first = Vec::new();
        convzoo_blocks::for_each_tensor(&init, |t| first.push(values(t.value())));
        let moved = relative(&first[0], &a[0]);
        assert!(
            moved > 1e-4,
            "{model}: the first layer moved by {moved} only"
        );
        let config = json(&two.join("config.json"));
        assert_eq!(config["devices"], serde_json::json!(["flex", "flex"]));
        assert_eq!(json(&one.join("config.json")).get("devices"), None);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_batch_norm_model_learns_on_two_devices_and_a_stopped_run_resumes_exactly() {
    let _turn = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("devices-resume");
    let o = Overrides {
        epochs: Some(2),
        ..overrides("lenet-bn", 32, 12, None)
    };
    let (whole, losses) = train_on(o.clone(), "flex,flex", &dir.join("whole"));
    assert_eq!(losses.len(), 24);
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(
        last < 0.8 * first,
        "the loss did not fall: {first} -> {last}"
    );

    // Stopped in the middle of the second epoch, after a step's checkpoint, then resumed.
    let config = Overrides {
        devices: Some("flex,flex".into()),
        ..o
    }
    .resolve("flex")
    .unwrap();
    let stopped = dir.join("stopped");
    let mut observer = steps(Some(17));
    match train::start_with(config, Some(&stopped), &mut observer) {
        Err(Error::Interrupted {
            epoch: 2, step: 5, ..
        }) => {}
        other => panic!("not stopped at epoch 2, step 5: {other:?}"),
    }
    assert!(!stopped.join("model.bpk").exists());
    train::resume(&stopped).unwrap();
    assert_eq!(numbers(&metrics(&whole)), numbers(&metrics(&stopped)));
    assert!(
        weights_of(&whole) == weights_of(&stopped),
        "the resumed run's weights (running statistics included) differ"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_device_lists_are_one_line_errors() {
    let dir = scratch("devices-bad");
    let out = dir.join("run");
    let cases = [
        (
            "--devices flex,ndarray",
            "--devices mixes backends 'flex' and 'ndarray'",
        ),
        ("--devices flex,", "a device name is missing"),
        (
            "--devices flex,tpu",
            "--devices mixes backends 'flex' and 'tpu'",
        ),
        ("--devices tpu,tpu", "unknown backend 'tpu'"),
        (
            "--devices flex,flex,flex --batch-size 2",
            "--batch-size must be at least the number of devices (3 in --devices flex,flex,flex), got 2",
        ),
        ("--devices flex,flex --backend flex", "--backend"),
    ];
    for (flags, needle) in cases {
        let o = words(&format!("train --epochs 1 --out {} {flags}", out.display()));
        assert_one_line_error(&o, 2, needle);
        assert!(!out.exists(), "{flags} left a run directory");
    }
    // A backend this binary was built without, and an adapter that is not there.
    if !convzoo_trainer::backend::compiled().contains(&"cuda") {
        let o = words(&format!(
            "train --out {} --devices cuda:0,cuda:1",
            out.display()
        ));
        assert_one_line_error(&o, 2, "cargo feature `cuda`");
    }
    if convzoo_trainer::backend::compiled().contains(&"wgpu") {
        let o = words(&format!(
            "train --out {} --devices wgpu:discrete:7,wgpu:discrete:8",
            out.display()
        ));
        assert_one_line_error(&o, 1, "discrete:7");
    }
    assert!(!out.exists());
    // The benchmark takes the same lists.
    let o = words("bench single --model lenet --devices flex,ndarray");
    assert_one_line_error(&o, 2, "--devices mixes backends 'flex' and 'ndarray'");
    let o = words("bench single --model lenet --devices flex --backend flex");
    assert_one_line_error(&o, 2, "--devices");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_benchmark_times_data_parallel_steps() {
    let o = ok("bench single --model lenet --devices flex,flex --steps 2 --warmup 1");
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["backend"], "flex,flex");
    assert!(r["train_images_per_sec"].as_f64().unwrap() > 0.0, "{r}");
    assert!(r["infer_images_per_sec"].as_f64().unwrap() > 0.0, "{r}");
}
