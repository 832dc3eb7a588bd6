//! Our models compute what d2l's PyTorch models compute: same weights, same input, logits
//! within 1e-4, in inference mode and (batch-norm models) in training mode, and the running
//! statistics after one training-mode forward.
//!
//! Fixtures: `tools/torch-reference/model_fixtures.py` (PyTorch 2.15, CPU). Small models store
//! d2l's initialised weights; large ones are filled from `fill` (the same formula as the script).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot};
use burn::tensor::{Device, Tensor, TensorData};
use convzoo_blocks::BatchNormKind;
use convzoo_blocks::testing::max_abs_diff;
use convzoo_models::torch::{key_pairs, load_torch};
use convzoo_models::{Model, ModelConfig, REGISTRY};
use safetensors::SafeTensors;
use safetensors::tensor::{Dtype, TensorView};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `model_fixtures.py`'s `fill`, element by element in PyTorch layout (integer hash, so both
/// languages compute the same bits).
fn fill(key: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let k = key.bytes().map(|b| b as u64).sum::<u64>() % 9973;
    (0..n as u64)
        .map(|i| {
            let u = ((i * 2_654_435_761 + k * 40_503) % (1 << 32)) as f64 / (1u64 << 32) as f64;
            let v = if key.ends_with("running_var") {
                1.0 + 0.5 * u
            } else if key.ends_with("running_mean") {
                0.2 * (u - 0.5)
            } else if key.ends_with("bias") {
                0.1 * (u - 0.5)
            } else if shape.len() == 1 {
                1.0 + 0.4 * (u - 0.5)
            } else {
                let fan_in = n / shape[0];
                (u - 0.5) * 2.0 * (6.0 / fan_in as f64).sqrt()
            };
            v as f32
        })
        .collect()
}

/// Every tensor of `model` in PyTorch layout: (d2l key, shape, values).
fn torch_tensors(model: &Model) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let pairs = key_pairs(model);
    model
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
        .iter()
        .map(|t| {
            let key = pairs
                .iter()
                .find(|p| p.burn == t.name)
                .unwrap()
                .torch
                .clone();
            let data = burn::store::bridge::to_data(t).unwrap().convert::<f32>();
            (
                key,
                t.shape.iter().copied().collect(),
                data.try_to_vec::<f32>().unwrap(),
            )
        })
        .collect()
}

/// Writes `fill` weights for `model` under d2l's keys, as a safetensors file.
fn filled_weights(model: &Model, path: &Path) {
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = torch_tensors(model)
        .into_iter()
        .map(|(key, shape, _)| {
            let bytes = fill(&key, &shape)
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            (key, shape, bytes)
        })
        .collect();
    let views: Vec<(String, TensorView)> = data
        .iter()
        .map(|(k, s, b)| {
            (
                k.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

struct Fixture(Vec<u8>);

impl Fixture {
    fn tensor(&self, name: &str) -> Option<(Vec<usize>, Vec<f32>)> {
        let st = SafeTensors::deserialize(&self.0).unwrap();
        let t = st.tensor(name).ok()?;
        let v = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Some((t.shape().to_vec(), v))
    }

    fn names(&self) -> Vec<String> {
        SafeTensors::deserialize(&self.0)
            .unwrap()
            .names()
            .into_iter()
            .map(String::from)
            .collect()
    }
}

/// Whether d2l's initialised weights are stored beside the fixture (small models) rather than
/// computed by `fill` on both sides.
fn stored_weights(fixture: &str) -> Option<PathBuf> {
    let path = fixtures().join(format!("{fixture}.weights.safetensors"));
    path.is_file().then_some(path)
}

fn load(config: &ModelConfig, fixture: &str, device: &Device) -> Model {
    let model = config.init(device);
    let (path, temporary) = match stored_weights(fixture) {
        Some(path) => (path, false),
        None => {
            let p = std::env::temp_dir().join(format!(
                "convzoo-fill-{}-{}.safetensors",
                config.name(),
                std::process::id()
            ));
            filled_weights(&model, &p);
            (p, true)
        }
    };
    let model = load_torch(model, config, &path).unwrap_or_else(|e| panic!("{e}"));
    if temporary {
        std::fs::remove_file(path).unwrap();
    }
    model
}

/// Every registry model with a PyTorch definition, against the fixture of that definition.
#[test]
fn logits_equal_pytorch() {
    let device = Device::flex();
    let only = std::env::var("CONVZOO_PARITY_ONLY").ok();
    let mut checked = 0;
    for info in REGISTRY {
        let Some(fixture_name) = info.pytorch else {
            continue;
        };
        let name = info.name;
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let config = ModelConfig::from_name(name).unwrap();
        let path = fixtures().join(format!("{fixture_name}.safetensors"));
        let fixture = Fixture(std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{name}: {}: {e}; make it with tools/torch-reference/model_fixtures.py",
                path.display()
            )
        }));
        let (shape, input) = fixture.tensor("input").unwrap();
        let x =
            |d: &Device| Tensor::<4>::from_data(TensorData::new(input.clone(), shape.clone()), d);
        let (_, expected) = fixture.tensor("logits_eval").unwrap();

        let model = load(&config, fixture_name, &device);
        let got = model
            .forward(x(&device))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let diff = max_abs_diff(&got, &expected);
        assert!(diff <= 1e-4, "{name}: inference logits differ by {diff}");
        checked += 1;

        let Some((_, expected_train)) = fixture.tensor("logits_train") else {
            continue;
        };
        // Training mode, with d2l's batch norm and with the PyTorch-exact one.
        for kind in [None, Some(BatchNormKind::PyTorch)] {
            let config = match kind {
                Some(k) => ModelConfig::from_name(name).unwrap().with_batch_norm(k),
                None => ModelConfig::from_name(name).unwrap(),
            };
            let ad = device.clone().autodiff();
            let model = load(&config, fixture_name, &ad);
            let got = model
                .forward(x(&ad))
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let diff = max_abs_diff(&got, &expected_train);
            assert!(
                diff <= 1e-4,
                "{name} ({kind:?}): training logits differ by {diff}"
            );
            let stats = check_running_stats(
                name,
                &model.valid(),
                &fixture,
                stored_weights(fixture_name).is_some(),
                kind.is_some(),
            );
            assert!(
                stats >= 4,
                "{name}: only {stats} running statistics checked"
            );
        }
    }
    assert!(only.is_some() || checked == REGISTRY.iter().filter(|m| m.pytorch.is_some()).count());
}

/// Compares the running statistics after one training-mode forward with PyTorch's. With
/// `exact`, both must be equal; otherwise (Burn's and d2l's biased running variance) the variance
/// must equal PyTorch's with the update term scaled by (n - 1) / n.
fn check_running_stats(
    name: &str,
    model: &Model,
    fixture: &Fixture,
    stored: bool,
    exact: bool,
) -> usize {
    let ours: HashMap<String, Vec<f32>> = torch_tensors(model)
        .into_iter()
        .map(|(k, _, v)| (k, v))
        .collect();
    let mut checked = 0;
    for stat in fixture
        .names()
        .into_iter()
        .filter(|n| n.starts_with("after_train."))
    {
        let key = stat.trim_start_matches("after_train.");
        let (_, theirs) = fixture.tensor(&stat).unwrap();
        let mine = &ours[key];
        let expected = if exact || key.ends_with("running_mean") {
            theirs
        } else {
            let before = if stored {
                vec![1.0; theirs.len()]
            } else {
                fill(key, &[theirs.len()])
            };
            // Values per channel that this batch norm saw, as PyTorch counted them.
            let count_key = format!("count.{}", key.replace("running_mean", "running_var"));
            let (_, count) = fixture
                .tensor(&count_key)
                .unwrap_or_else(|| panic!("{name}: the fixture has no {count_key}"));
            let n = count[0];
            theirs
                .iter()
                .zip(&before)
                .map(|(t, b)| 0.9 * b + (t - 0.9 * b) * (n - 1.0) / n)
                .collect()
        };
        let diff = max_abs_diff(mine, &expected);
        assert!(
            diff <= 1e-4,
            "{name} (exact {exact}): {key} differs by {diff}"
        );
        checked += 1;
    }
    checked
}
