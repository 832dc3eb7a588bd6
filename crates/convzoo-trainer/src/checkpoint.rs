//! Checkpoints: the model, the optimiser state and the loop's position, written atomically.
//!
//! Each checkpoint is a directory `checkpoints/step-NNNNNNNN/` made under a temporary name and
//! renamed when complete; `checkpoint.json` (replaced atomically afterwards) names the latest.
//! A crash at any moment leaves the previous checkpoint intact. The two newest are kept.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use convzoo_models::Model;
use serde::{Deserialize, Serialize};

use crate::files::write_atomic;
use crate::metrics::Metrics;

/// Checkpoint format version.
pub const FORMAT: u32 = 1;

/// Where the loop stands: enough to continue exactly where it stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// Checkpoint format version.
    pub format: u32,
    /// Registry model name.
    pub model: String,
    /// Epoch in progress (from 0).
    pub epoch: usize,
    /// First step of `epoch` not yet taken.
    pub next_step: usize,
    /// Steps taken in the whole run.
    pub global_step: usize,
    /// Sum over the epoch's examples so far of the loss.
    pub loss_sum: f64,
    /// Correct predictions so far in the epoch.
    pub correct: u64,
    /// Examples seen so far in the epoch.
    pub seen: u64,
    /// Training seconds so far in the epoch.
    pub train_seconds: f64,
    /// The finished epochs.
    pub metrics: Metrics,
}

#[derive(Serialize, Deserialize)]
struct Pointer {
    latest: String,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

/// Saves a checkpoint of `model`, `optim` and `state` in the run directory `run`.
pub fn save(
    run: &Path,
    model: &Model,
    optim: &ModuleOptimizer,
    state: &LoopState,
) -> Result<PathBuf, String> {
    let root = run.join("checkpoints");
    std::fs::create_dir_all(&root).map_err(io(&root))?;
    let name = format!("step-{:08}", state.global_step);
    let tmp = root.join(format!(".{name}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let model_bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| e.to_string())?;
    write_atomic(&tmp.join("model.bpk"), &model_bytes)?;
    let optim_bytes = optim.into_bytes().map_err(|e| e.to_string())?;
    write_atomic(&tmp.join("optim.bin"), &optim_bytes)?;
    let json = serde_json::to_string_pretty(state).expect("state serialises");
    write_atomic(&tmp.join("state.json"), json.as_bytes())?;
    let dir = root.join(&name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(io(&dir))?;
    let pointer = serde_json::to_string(&Pointer {
        latest: format!("checkpoints/{name}"),
    })
    .unwrap();
    write_atomic(&run.join("checkpoint.json"), pointer.as_bytes())?;
    prune(&root, 2);
    Ok(dir)
}

/// Removes all but the `keep` newest checkpoints.
fn prune(root: &Path, keep: usize) {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("step-"))
        })
        .collect();
    dirs.sort();
    for old in dirs.iter().rev().skip(keep) {
        let _ = std::fs::remove_dir_all(old);
    }
}

/// The latest checkpoint directory of run `run`.
pub fn latest(run: &Path) -> Result<PathBuf, String> {
    let path = run.join("checkpoint.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: no checkpoint to resume from ({e}); is this a convzoo run directory?",
            path.display()
        )
    })?;
    let pointer: Pointer = serde_json::from_str(&text)
        .map_err(|e| format!("{}: corrupt checkpoint pointer: {e}", path.display()))?;
    Ok(run.join(pointer.latest))
}

/// Loads the checkpoint in `dir` into `model` and `optim`, checking it belongs to `model_name`.
pub fn load(
    dir: &Path,
    model_name: &str,
    model: Model,
    optim: ModuleOptimizer,
) -> Result<(Model, ModuleOptimizer, LoopState), String> {
    let state_path = dir.join("state.json");
    let text = std::fs::read_to_string(&state_path).map_err(io(&state_path))?;
    let state: LoopState = serde_json::from_str(&text)
        .map_err(|e| format!("{}: corrupt checkpoint state: {e}", state_path.display()))?;
    if state.format != FORMAT {
        return Err(format!(
            "{}: checkpoint format {} is not {FORMAT}",
            state_path.display(),
            state.format
        ));
    }
    if state.model != model_name {
        return Err(format!(
            "{}: the checkpoint is of model '{}', not '{model_name}'",
            dir.display(),
            state.model
        ));
    }
    let model = load_weights(&dir.join("model.bpk"), model)?;
    let optim_path = dir.join("optim.bin");
    let bytes = std::fs::read(&optim_path).map_err(io(&optim_path))?;
    let optim = optim
        .from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| format!("{}: unreadable optimiser state: {e}", optim_path.display()))?;
    Ok((model, optim, state))
}

/// Loads weights saved by [`save_weights`] or a checkpoint into `model`.
pub fn load_weights(path: &Path, model: Model) -> Result<Model, String> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| format!("{}: not a readable weights file: {e}", path.display()))?;
    let name = model.name();
    model.try_load_record(record).map_err(|e| {
        format!(
            "{}: the weights do not fit model '{name}': {e}",
            path.display()
        )
    })
}

/// Writes `model`'s weights to `path` atomically (Burn's burnpack format).
pub fn save_weights(path: &Path, model: &Model) -> Result<(), String> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| e.to_string())?;
    write_atomic(path, &bytes)
}
