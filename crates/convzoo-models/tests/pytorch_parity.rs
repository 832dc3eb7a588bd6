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
use convzoo_models::torch::{key_pairs, load_torch};
use convzoo_models::{Model, ModelConfig};
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
fn torch_tensors(model: &Model, config: &ModelConfig) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let pairs = key_pairs(model, config);
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
fn filled_weights(model: &Model, config: &ModelConfig, path: &Path) {
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = torch_tensors(model, config)
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

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn load(config: &ModelConfig, fixture: &str, stored: bool, device: &Device) -> Model {
    let model = config.init(device);
    let path = if stored {
        fixtures().join(format!("{fixture}.weights.safetensors"))
    } else {
        let p = std::env::temp_dir().join(format!(
            "convzoo-fill-{}-{}.safetensors",
            config.name(),
            std::process::id()
        ));
        filled_weights(&model, config, &p);
        p
    };
    let model = load_torch(model, config, &path).unwrap_or_else(|e| panic!("{e}"));
    if !stored {
        std::fs::remove_file(path).unwrap();
    }
    model
}

/// (our model, fixture, weights stored)
const CASES: [(&str, &str, bool); 10] = [
    ("lenet", "lenet", true),
    ("lenet-bn", "lenet-bn", true),
    ("lenet-bn-scratch", "lenet-bn", true),
    ("alexnet", "alexnet", false),
    ("vgg11", "vgg11", false),
    ("vgg11-small", "vgg11-small", false),
    ("nin", "nin", true),
    ("googlenet", "googlenet", false),
    ("resnet18", "resnet18", false),
    ("densenet", "densenet", true),
];

#[test]
fn logits_equal_pytorch() {
    let device = Device::flex();
    let only = std::env::var("CONVZOO_PARITY_ONLY").ok();
    for (name, fixture_name, stored) in CASES {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let config = ModelConfig::from_name(name).unwrap();
        let fixture =
            Fixture(std::fs::read(fixtures().join(format!("{fixture_name}.safetensors"))).unwrap());
        let (shape, input) = fixture.tensor("input").unwrap();
        let x =
            |d: &Device| Tensor::<4>::from_data(TensorData::new(input.clone(), shape.clone()), d);
        let (_, expected) = fixture.tensor("logits_eval").unwrap();

        let model = load(&config, fixture_name, stored, &device);
        let got = model
            .forward(x(&device))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let diff = max_diff(&got, &expected);
        assert!(diff <= 1e-4, "{name}: inference logits differ by {diff}");

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
            let model = load(&config, fixture_name, stored, &ad);
            let got = model
                .forward(x(&ad))
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let diff = max_diff(&got, &expected_train);
            assert!(
                diff <= 1e-4,
                "{name} ({kind:?}): training logits differ by {diff}"
            );
            let checked = check_running_stats(
                name,
                &config,
                &model.valid(),
                &fixture,
                stored,
                &shape,
                kind.is_some(),
            );
            assert!(
                checked >= 4,
                "{name}: only {checked} running statistics checked"
            );
        }
    }
}

/// Compares the running statistics after one training-mode forward with PyTorch's. With
/// `exact`, both must be equal; otherwise (Burn's and d2l's biased running variance) the variance
/// must equal PyTorch's with the update term scaled by (n - 1) / n.
fn check_running_stats(
    name: &str,
    config: &ModelConfig,
    model: &Model,
    fixture: &Fixture,
    stored: bool,
    shape: &[usize],
    exact: bool,
) -> usize {
    let ours: HashMap<String, Vec<f32>> = torch_tensors(model, config)
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
            let n = count_per_channel(name, key, shape);
            theirs
                .iter()
                .zip(&before)
                .map(|(t, b)| 0.9 * b + (t - 0.9 * b) * (n - 1.0) / n)
                .collect()
        };
        let diff = max_diff(mine, &expected);
        assert!(
            diff <= 1e-4,
            "{name} (exact {exact}): {key} differs by {diff}"
        );
        checked += 1;
    }
    checked
}

/// Values per channel that a batch norm at `key` sees for the fixture's input shape.
fn count_per_channel(model: &str, key: &str, input: &[usize]) -> f32 {
    let batch = input[0] as f32;
    let side = |s: usize| (s * s) as f32;
    match model {
        // LeNet-BN: 24x24 and 8x8 maps, then features.
        "lenet-bn" | "lenet-bn-scratch" => match key {
            "net.1.running_var" => batch * side(24),
            "net.5.running_var" => batch * side(8),
            _ => batch,
        },
        _ => {
            // ResNet and DenseNet at 96x96: the stem's map is 48x48 before pooling; later maps
            // are read from the key.
            let s = if key.starts_with("net.0.") {
                48
            } else if key.contains("b2.") || key.contains("dense_blk1") || key.contains("tran_blk1")
            {
                24
            } else if key.contains("b3.") || key.contains("dense_blk2") || key.contains("tran_blk2")
            {
                12
            } else if key.contains("b4.") || key.contains("dense_blk3") || key.contains("tran_blk3")
            {
                6
            } else {
                3
            };
            // ResNet's downsampling block: bn1 follows the strided conv.
            batch * side(s)
        }
    }
}
