//! PyTorch interop for the CLI: import d2l weights into a run, export a run's weights with
//! d2l's key names, and run a model on a tensor file (`infer`).

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use convzoo_models::torch::{load_torch, save_safetensors};
use convzoo_models::{Model, ModelConfig};
use safetensors::SafeTensors;
use safetensors::tensor::{Dtype, TensorView};

use crate::checkpoint::{load_weights, save_weights};
use crate::config::Overrides;
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::files::{new_run_dir, write_atomic, write_atomic_with};

/// Loads weights for registry model `name` from `weights`: a run directory, a Burn weights file
/// (`.bpk`), or PyTorch weights with d2l's names (`.safetensors`, `.pt`, `.pth`).
pub fn load_any(name: &str, weights: &Path, device: &Device) -> Result<Model> {
    let config = ModelConfig::from_name(name)?;
    if weights.is_dir() {
        let run_config = TrainConfig::read_from_run(weights)?;
        if run_config.model != name {
            return Err(Error::ModelMismatch {
                path: weights.into(),
                what: "run",
                found: run_config.model,
                expected: name.into(),
            });
        }
        let model = run_config.model_config()?.init(device);
        return Ok(load_weights(&weights.join("model.bpk"), model)?);
    }
    if weights.extension().is_some_and(|e| e == "bpk") {
        return Ok(load_weights(weights, config.init(device))?);
    }
    Ok(load_torch(config.init(device), &config, weights)?)
}

/// Imports PyTorch weights of model `name` into a new run directory that `eval` and `predict`
/// accept. Returns the directory.
pub fn import(name: &str, from: &Path, out: Option<&Path>, device: &Device) -> Result<PathBuf> {
    let model = load_any(name, from, device)?;
    let config = Overrides {
        model: Some(name.into()),
        ..Overrides::default()
    }
    .resolve("flex")?;
    let run = new_run_dir(out, name)?;
    let json = serde_json::to_string_pretty(&config).expect("config serialises");
    write_atomic(&run.join("config.json"), json.as_bytes())?;
    save_weights(&run.join("model.bpk"), &model)?;
    Ok(run)
}

/// Exports run `run`, by `out`'s extension: `.onnx`, the network in inference mode as an ONNX
/// model (see [`convzoo_onnx`]); anything else, the weights as safetensors with d2l's PyTorch
/// key names. Written atomically: a failure leaves no partial file.
pub fn export(run: &Path, out: &Path, device: &Device) -> Result<()> {
    let config = TrainConfig::read_from_run(run)?;
    let model = load_any(&config.model, run, device)?;
    let model_config = config.model_config()?;
    if out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
    {
        let input = [model_config.in_channels(), config.resize, config.resize];
        let classes = convzoo_datasets::FASHION_MNIST
            .classes
            .iter()
            .map(|c| c.to_string())
            .collect();
        let info = convzoo_onnx::ExportInfo::new(&model, input, classes);
        let bytes = convzoo_onnx::to_onnx(&model.valid(), &info)?;
        return Ok(write_atomic(out, &bytes)?);
    }
    // Written next to the target, then renamed into place.
    Ok(write_atomic_with(out, |tmp| {
        save_safetensors(&model, &model_config, tmp)
    })?)
}

/// Runs model `name` with `weights` in inference mode on the tensor `input` ([N, C, H, W], f32)
/// of the safetensors file `input_path`, writing the tensor `logits` to `output_path`.
pub fn infer(
    name: &str,
    weights: &Path,
    input_path: &Path,
    output_path: &Path,
    device: &Device,
) -> Result<[usize; 2]> {
    let model = load_any(name, weights, device)?.valid();
    let bytes = std::fs::read(input_path).map_err(Error::io(input_path))?;
    let bad = |problem: String| Error::TensorFile {
        path: input_path.into(),
        problem,
    };
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let input = file
        .tensor("input")
        .map_err(|_| bad("no tensor named 'input'".into()))?;
    if input.dtype() != Dtype::F32 || input.shape().len() != 4 {
        return Err(Error::BadInputTensor {
            path: input_path.into(),
            dtype: input.dtype(),
            shape: input.shape().to_vec(),
        });
    }
    let values: Vec<f32> = input
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let x = Tensor::<4>::from_data(TensorData::new(values, input.shape().to_vec()), device);
    let logits = model.try_forward(x)?;
    let dims = logits.dims();
    let data: Vec<u8> = logits
        .into_data()
        .try_to_vec::<f32>()
        .map_err(Error::burn)?
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let unwritable = |e: safetensors::SafeTensorError| Error::TensorFile {
        path: output_path.into(),
        problem: e.to_string(),
    };
    let view = TensorView::new(Dtype::F32, dims.to_vec(), &data).map_err(unwritable)?;
    let out = safetensors::serialize([("logits", view)], None).map_err(unwritable)?;
    write_atomic(output_path, &out)?;
    Ok(dims)
}
