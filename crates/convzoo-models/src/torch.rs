//! PyTorch interoperability: the `state_dict` key of every tensor as d2l's PyTorch definitions
//! name it (`net.0.weight`, `net.b2.0.conv1.weight`, ...), import of PyTorch weights (`.pt`,
//! `.pth`, `.safetensors`) and export as safetensors, through Burn's burn-store.
//!
//! A tensor's key is the name its layer was built under (see [`convzoo_blocks::Sequential`]):
//! d2l's `net.3.weight` is the weight of the layer pushed fourth into the model's `net`.
//! burn-store's PyTorch adapters transpose linear weights (Burn keeps `[in, out]`) and rename
//! batch-norm `weight`/`bias` to `gamma`/`beta`.

use std::path::Path;

use burn::store::{
    ApplyError, BurnToPyTorchAdapter, KeyRemapper, ModuleSnapshot, PyTorchToBurnAdapter,
    PytorchStore, SafetensorsStore,
};

use crate::{Error, Model, ModelConfig};

/// One tensor: its path in our module (as burn-store's PyTorch adapter names it) and its key in
/// the PyTorch `state_dict`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPair {
    /// Path in the Burn module (batch-norm scale and shift as `gamma`/`beta`).
    pub burn: String,
    /// Key in d2l's PyTorch `state_dict`.
    pub torch: String,
}

/// Splits `a.b.c` into (`a.b`, `c`).
fn split_leaf(path: &str) -> (&str, &str) {
    path.rsplit_once('.').unwrap_or(("", path))
}

/// Every tensor of `model` with its PyTorch key: the name each layer was built under
/// ([`Model::torch_key`]), with batch norm's `gamma`/`beta` as PyTorch's `weight`/`bias`.
pub fn key_pairs(model: &Model) -> Vec<KeyPair> {
    model
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
        .iter()
        .map(|t| {
            let (prefix, leaf) = split_leaf(&t.name);
            let leaf = match leaf {
                "gamma" => "weight",
                "beta" => "bias",
                other => other,
            };
            KeyPair {
                burn: t.name.clone(),
                torch: model.torch_key(&format!("{prefix}.{leaf}")),
            }
        })
        .collect()
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
pub fn load_torch(model: Model, config: &ModelConfig, path: &Path) -> Result<Model, Error> {
    let pairs = key_pairs(&model);
    let fail = |reason: String| Error::Weights {
        path: path.to_path_buf(),
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
pub fn save_safetensors(model: &Model, config: &ModelConfig, path: &Path) -> Result<(), Error> {
    let pairs = key_pairs(model);
    let mut store = SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .skip_enum_variants(true)
        .remap(remapper(&pairs, true))
        .metadata("convzoo_model", config.name());
    model.save_into(&mut store).map_err(|e| Error::Weights {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
