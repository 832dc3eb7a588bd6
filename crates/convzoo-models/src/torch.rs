//! PyTorch interoperability: the `state_dict` key of every tensor as d2l's PyTorch definitions
//! name it (`net.0.weight`, `net.b2.0.conv1.weight`, ...), import of PyTorch weights (`.pt`,
//! `.pth`, `.safetensors`) and export as safetensors, through Burn's burn-store.
//!
//! Keys are paired by walking both models in their registration order, layer by layer: d2l's
//! modules register their layers in the order our modules declare them, so the n-th layer with
//! parameters here is the n-th there. burn-store's PyTorch adapters transpose linear weights
//! (Burn keeps `[in, out]`) and rename batch-norm `weight`/`bias` to `gamma`/`beta`.

use std::fmt;
use std::path::Path;

use burn::store::{
    ApplyError, BurnToPyTorchAdapter, KeyRemapper, ModuleSnapshot, PyTorchToBurnAdapter,
    PytorchStore, SafetensorsStore,
};

use crate::{Model, ModelConfig};

/// One tensor: its path in our module (as burn-store's PyTorch adapter names it) and its key in
/// the PyTorch `state_dict`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPair {
    /// Path in the Burn module (batch-norm scale and shift as `weight`/`bias`).
    pub burn: String,
    /// Key in d2l's PyTorch `state_dict`.
    pub torch: String,
}

/// Weights that cannot be loaded or saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsError {
    /// The file.
    pub path: String,
    /// What is wrong, with the first mismatching keys.
    pub reason: String,
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for WeightsError {}

/// The PyTorch module prefixes of the layers that hold tensors, in registration order.
pub fn torch_layers(config: &ModelConfig) -> Vec<String> {
    let n = |i: usize| format!("net.{i}");
    match config {
        ModelConfig::Lenet(_) => [0, 3, 7, 9, 11].map(n).to_vec(),
        ModelConfig::LenetBn(_) | ModelConfig::LenetBnScratch(_) => {
            [0, 1, 4, 5, 9, 10, 12, 13, 15].map(n).to_vec()
        }
        ModelConfig::Alexnet(_) => [0, 3, 6, 8, 10, 14, 17, 20].map(n).to_vec(),
        ModelConfig::Vgg11(c) | ModelConfig::Vgg11Small(c) => {
            let blocks = c.arch.len();
            let mut out = Vec::new();
            for (i, &(convs, _)) in c.arch.iter().enumerate() {
                out.extend((0..convs).map(|j| format!("net.{i}.{}", 2 * j)));
            }
            out.extend([blocks + 1, blocks + 4, blocks + 7].map(n));
            out
        }
        ModelConfig::Nin(_) => [0, 2, 4, 7]
            .iter()
            .flat_map(|b| [0, 2, 4].map(|j| format!("net.{b}.{j}")))
            .collect(),
        ModelConfig::Googlenet(_) => {
            let mut out = vec!["net.0.0".into(), "net.1.0".into(), "net.1.2".into()];
            for (s, stage) in crate::GOOGLENET_STAGES.iter().enumerate() {
                for k in 0..stage.len() {
                    let branches = ["b1_1", "b2_1", "b2_2", "b3_1", "b3_2", "b4_2"];
                    out.extend(branches.map(|b| format!("net.{}.{k}.{b}", s + 2)));
                }
            }
            out.push("net.5".into());
            out
        }
        ModelConfig::Resnet18(c) => {
            let mut out = vec!["net.0.0".into(), "net.0.1".into()];
            for (s, &(blocks, _)) in c.stages.iter().enumerate() {
                for i in 0..blocks {
                    let p = format!("net.b{}.{i}", s + 2);
                    out.extend([format!("{p}.conv1"), format!("{p}.conv2")]);
                    if i == 0 && s > 0 {
                        out.push(format!("{p}.conv3"));
                    }
                    out.extend([format!("{p}.bn1"), format!("{p}.bn2")]);
                }
            }
            out.push("net.last.2".into());
            out
        }
        ModelConfig::Densenet(c) => {
            let mut out = vec!["net.0.0".into(), "net.0.1".into()];
            for (i, &convs) in c.blocks.iter().enumerate() {
                for j in 0..convs {
                    let p = format!("net.dense_blk{}.net.{j}", i + 1);
                    out.extend([format!("{p}.0"), format!("{p}.2")]);
                }
                if i + 1 < c.blocks.len() {
                    let p = format!("net.tran_blk{}", i + 1);
                    out.extend([format!("{p}.0"), format!("{p}.2")]);
                }
            }
            out.extend(["net.last.0".into(), "net.last.4".into()]);
            out
        }
    }
}

/// Splits `a.b.c` into (`a.b`, `c`).
fn split_leaf(path: &str) -> (&str, &str) {
    path.rsplit_once('.').unwrap_or(("", path))
}

/// Every tensor of `model` (built from `config`) with its PyTorch key.
pub fn key_pairs(model: &Model, config: &ModelConfig) -> Vec<KeyPair> {
    let tensors = model.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true);
    let layers = torch_layers(config);
    let mut out = Vec::with_capacity(tensors.len());
    let mut layer = 0usize;
    let mut current: Option<String> = None;
    for t in &tensors {
        let (prefix, leaf) = split_leaf(&t.name);
        if current.as_deref() != Some(prefix) {
            if current.is_some() {
                layer += 1;
            }
            current = Some(prefix.to_string());
        }
        let torch_leaf = match leaf {
            "gamma" => "weight",
            "beta" => "bias",
            other => other,
        };
        let torch_prefix = layers.get(layer).map_or("?", String::as_str);
        out.push(KeyPair {
            burn: t.name.clone(),
            torch: format!("{torch_prefix}.{torch_leaf}"),
        });
    }
    assert_eq!(
        layer + 1,
        layers.len(),
        "{}: {} layers with tensors, but the PyTorch key table has {}",
        config.name(),
        layer + 1,
        layers.len()
    );
    out
}

fn remapper(pairs: &[KeyPair], to_torch: bool) -> KeyRemapper {
    let patterns = pairs.iter().map(|p| {
        let (from, to) = if to_torch {
            (&p.burn, &p.torch)
        } else {
            (&p.torch, &p.burn)
        };
        // Replacement strings treat `$` specially; keys have none.
        (format!("^{}$", regex::escape(from)), to.clone())
    });
    KeyRemapper::from_patterns(patterns.collect()).expect("escaped keys are valid patterns")
}

/// Loads PyTorch weights with d2l's key names into `model` (built from `config`): a
/// `state_dict` saved by `torch.save` (`.pt`/`.pth`, also under a `state_dict` key) or a
/// `.safetensors` file. Batch-norm running statistics are loaded; `num_batches_tracked` is
/// ignored. Every tensor must be present with the right shape, and no other tensor may be in
/// the file; otherwise the error lists the first mismatches by key and nothing is loaded.
pub fn load_torch(model: Model, config: &ModelConfig, path: &Path) -> Result<Model, WeightsError> {
    let pairs = key_pairs(&model, config);
    let fail = |reason: String| WeightsError {
        path: path.display().to_string(),
        reason,
    };
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    let is_safetensors = path.extension().is_some_and(|e| e == "safetensors");
    let mut model = model;
    let result = if is_safetensors {
        let mut store = SafetensorsStore::from_file(path)
            .with_from_adapter(PyTorchToBurnAdapter)
            .skip_enum_variants(true)
            .remap(remapper(&pairs, false))
            .map_indices_contiguous(false)
            .allow_partial(true)
            .validate(false);
        model
            .load_from(&mut store)
            .map_err(|e| fail(e.to_string()))?
    } else {
        let attempt = |top: Option<&str>, model: &mut Model| {
            let mut store = PytorchStore::from_file(path)
                .skip_enum_variants(true)
                .remap(remapper(&pairs, false))
                .map_indices_contiguous(false)
                .allow_partial(true)
                .validate(false);
            if let Some(key) = top {
                store = store.with_top_level_key(key);
            }
            model.load_from(&mut store).map_err(|e| fail(e.to_string()))
        };
        let first = attempt(None, &mut model)?;
        if first.applied.is_empty() {
            attempt(Some("state_dict"), &mut model).unwrap_or(first)
        } else {
            first
        }
    };
    // A module path as the store reports it (with enum variants, Burn's names) to a torch key.
    let torch_of = |path: &str| {
        let plain: Vec<&str> = path
            .split('.')
            .filter(|s| !s.starts_with(char::is_uppercase))
            .collect();
        let plain = plain.join(".");
        let renamed = match split_leaf(&plain) {
            (prefix, "gamma") => format!("{prefix}.weight"),
            (prefix, "beta") => format!("{prefix}.bias"),
            _ => plain.clone(),
        };
        pairs
            .iter()
            .find(|p| p.burn == plain || p.burn == renamed)
            .map_or(plain.clone(), |p| p.torch.clone())
    };
    let mut problems: Vec<String> = Vec::new();
    problems.extend(result.errors.iter().map(|e| match e {
        ApplyError::ShapeMismatch {
            path,
            expected,
            found,
        } => format!(
            "{}: shape {:?} where the model needs {:?}",
            torch_of(path),
            found.as_slice(),
            expected.as_slice()
        ),
        other => other.to_string(),
    }));
    problems.extend(
        result
            .missing
            .iter()
            .map(|(p, _)| format!("missing {}", torch_of(p))),
    );
    problems.extend(
        result
            .unused
            .iter()
            .filter(|k| !k.ends_with("num_batches_tracked"))
            .map(|k| format!("unexpected {k}")),
    );
    if problems.is_empty() {
        return Ok(model);
    }
    let total = problems.len();
    problems.truncate(5);
    Err(fail(format!(
        "the weights do not fit model '{}' ({total} mismatches; first: {})",
        config.name(),
        problems.join("; ")
    )))
}

/// Saves `model`'s tensors as safetensors under d2l's PyTorch key names (linear weights as
/// `[out, in]`), loadable by `model.load_state_dict(..., strict=False)` in PyTorch
/// (`num_batches_tracked` is not written).
pub fn save_safetensors(
    model: &Model,
    config: &ModelConfig,
    path: &Path,
) -> Result<(), WeightsError> {
    let pairs = key_pairs(model, config);
    let mut store = SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .skip_enum_variants(true)
        .remap(remapper(&pairs, true))
        .metadata("convzoo_model", config.name());
    model.save_into(&mut store).map_err(|e| WeightsError {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}
