//! A model's weights as a file (Burn's burnpack record), read and written.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Bytes;
use convzoo_datasets::write_atomic;
use convzoo_models::Model;

use crate::error::{Error, Result};

/// Loads the weights file `path` into `model`.
pub fn load_weights(path: &Path, model: Model) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    let record =
        burn::store::ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| {
            Error::UnreadableWeights {
                path: path.into(),
                reason: e.to_string(),
            }
        })?;
    let name = model.name();
    model
        .try_load_record(record)
        .map_err(|e| Error::WeightsMismatch {
            path: path.into(),
            model: name.to_string(),
            reason: e.to_string(),
        })
}

/// Writes `model`'s weights to `path` atomically.
pub fn save_weights(path: &Path, model: &Model) -> Result<()> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| Error::Burn(e.to_string()))?;
    Ok(write_atomic(path, &bytes)?)
}
