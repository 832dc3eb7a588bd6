//! Checkpoints: the model, the optimiser state and the loop's position, written atomically.
//!
//! Each checkpoint is a directory `checkpoints/step-NNNNNNNN/` made under a temporary name and
//! renamed when complete; `checkpoint.json` (replaced atomically afterwards) names the latest.
//! A crash at any moment leaves the previous checkpoint intact. The two newest are kept.

use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use burn::tensor::Bytes;
use convzoo_models::Model;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
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
    /// Of those, seconds spent making batches (the data pipeline).
    #[serde(default)]
    pub data_seconds: f64,
    /// The finished epochs.
    pub metrics: Metrics,
}

#[derive(Serialize, Deserialize)]
struct Pointer {
    latest: String,
}

/// Saves a checkpoint of `model`, `optim` and `state` in the run directory `run`.
pub fn save(
    run: &Path,
    model: &Model,
    optim: &ModuleOptimizer,
    state: &LoopState,
) -> Result<PathBuf> {
    let root = run.join("checkpoints");
    std::fs::create_dir_all(&root).map_err(Error::io(&root))?;
    let name = format!("step-{:08}", state.global_step);
    let tmp = root.join(format!(".{name}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(Error::io(&tmp))?;
    save_weights(&tmp.join("model.bpk"), model)?;
    let optim_bytes = optim.into_bytes().map_err(|e| Error::Burn(e.to_string()))?;
    write_atomic(&tmp.join("optim.bin"), &optim_bytes)?;
    let json = serde_json::to_string_pretty(state).expect("state serialises");
    write_atomic(&tmp.join("state.json"), json.as_bytes())?;
    let dir = root.join(&name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(Error::io(&dir))?;
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
pub fn latest(run: &Path) -> Result<PathBuf> {
    let path = run.join("checkpoint.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(source) => return Err(Error::NoCheckpoint { path, source }),
    };
    let pointer: Pointer =
        serde_json::from_str(&text).map_err(|source| Error::CorruptCheckpoint {
            path,
            what: "pointer",
            source,
        })?;
    Ok(run.join(pointer.latest))
}

/// Loads the checkpoint in `dir` into `model` and `optim`, checking it belongs to `model_name`.
pub fn load(
    dir: &Path,
    model_name: &str,
    model: Model,
    optim: ModuleOptimizer,
) -> Result<(Model, ModuleOptimizer, LoopState)> {
    let state_path = dir.join("state.json");
    let text = std::fs::read_to_string(&state_path).map_err(Error::io(&state_path))?;
    let state: LoopState =
        serde_json::from_str(&text).map_err(|source| Error::CorruptCheckpoint {
            path: state_path.clone(),
            what: "state",
            source,
        })?;
    if state.format != FORMAT {
        return Err(Error::CheckpointFormat {
            path: state_path,
            found: state.format,
            expected: FORMAT,
        });
    }
    if state.model != model_name {
        return Err(Error::ModelMismatch {
            path: dir.into(),
            what: "checkpoint",
            found: state.model,
            expected: model_name.into(),
        });
    }
    let model = load_weights(&dir.join("model.bpk"), model)?;
    let optim_path = dir.join("optim.bin");
    let bytes = std::fs::read(&optim_path).map_err(Error::io(&optim_path))?;
    let optim = optim
        .from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| Error::UnreadableOptimizer {
            path: optim_path,
            reason: e.to_string(),
        })?;
    Ok((model, optim, state))
}

pub use convzoo_run::{load_weights, save_weights};
