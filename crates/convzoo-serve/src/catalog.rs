//! The runs a server shows, listed once at start (a request names a run by its index, never by
//! a path), with their summaries; a finished run's model is loaded at start, a run still
//! training when first asked for after it has finished.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use burn::tensor::{Device, Tensor};
use convzoo_blocks::{Probe, for_each_tensor};
use convzoo_run::{DatasetInfo, Metrics, Run, RunSpec};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// One row of a model's summary: a top-level layer, its output and its parameters.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// PyTorch key prefix (`net.3`).
    pub name: String,
    /// PyTorch class (`Conv2d`).
    pub layer: String,
    /// Output shape for one image.
    pub shape: Vec<usize>,
    /// Parameters of the layer.
    pub params: usize,
}

/// A listed run.
pub struct Entry {
    /// Its index in the list (what requests name).
    pub id: usize,
    /// The run directory.
    pub dir: PathBuf,
    /// The directory's name.
    pub name: String,
    /// Its configuration.
    pub spec: RunSpec,
    /// Its dataset record.
    pub info: DatasetInfo,
    /// Its summary (layers of the run's model at the run's input size).
    pub summary: Vec<Row>,
    /// Its parameter count.
    pub parameters: usize,
    model: Mutex<Option<Arc<Run>>>,
}

/// The runs a server shows.
pub struct Catalog {
    /// The runs, by id.
    pub runs: Vec<Entry>,
    device: Device,
}

/// The summary rows of `model` for input `[1, C, size, size]`, and its parameter count.
fn summarize(
    model: &convzoo_models::Model,
    c: usize,
    size: usize,
    device: &Device,
) -> (Vec<Row>, usize) {
    let mut probe = Probe::on();
    let _ = model.forward_probed(Tensor::zeros([1, c, size, size], device), &mut probe);
    let mut rows: Vec<Row> = probe
        .layers
        .into_iter()
        .map(|l| Row {
            name: l.name,
            layer: l.kind,
            shape: l.output_shape,
            params: 0,
        })
        .collect();
    let mut total = 0;
    for_each_tensor(model, |t| {
        if t.buffer {
            return;
        }
        let n: usize = t.shape.iter().product();
        total += n;
        let key = model.torch_key(t.path);
        if let Some(row) = rows
            .iter_mut()
            .find(|r| key.starts_with(&format!("{}.", r.name)))
        {
            row.params += n;
        }
    });
    (rows, total)
}

impl Catalog {
    /// Lists the runs `dirs` (each a run directory) on `device`. A directory that is not a run
    /// is an error naming it.
    pub fn open(dirs: &[PathBuf], device: &Device) -> Result<Catalog> {
        if dirs.is_empty() {
            return Err(Error::NoRuns);
        }
        let mut runs = Vec::new();
        for (id, dir) in dirs.iter().enumerate() {
            let spec = RunSpec::read(dir)?;
            let info = spec.dataset_info();
            // A finished run's model is loaded once, here, and summarised; a run still
            // training (or one whose weights do not load: its requests say why) is summarised
            // from a fresh model and loaded when first asked for.
            let run = Run::open(dir, device).ok().map(Arc::new);
            let (summary, parameters) = match &run {
                Some(run) => summarize(&run.model, info.shape[0], spec.resize, device),
                None => {
                    let model = spec.model_config()?.init(device);
                    summarize(&model, info.shape[0], spec.resize, device)
                }
            };
            runs.push(Entry {
                id,
                dir: dir.clone(),
                name: dir.file_name().map_or(dir.display().to_string(), |n| {
                    n.to_string_lossy().to_string()
                }),
                spec,
                info,
                summary,
                parameters,
                model: Mutex::new(run),
            });
        }
        Ok(Catalog {
            runs,
            device: device.clone(),
        })
    }

    /// The run directories in `folder` (its subdirectories holding a `config.json`), sorted.
    pub fn list_folder(folder: &Path) -> Result<Vec<PathBuf>> {
        let io = |source| Error::ListRuns {
            path: folder.into(),
            source,
        };
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(folder)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("config.json").is_file())
            .collect();
        dirs.sort();
        Ok(dirs)
    }

    /// The device the models run on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The run named by `id` (its index, as text).
    pub fn entry(&self, id: &str) -> Result<&Entry> {
        id.parse::<usize>()
            .ok()
            .and_then(|i| self.runs.get(i))
            .ok_or_else(|| Error::UnknownRun(id.into()))
    }

    /// The first run that has finished, for requests that name none.
    pub fn default_entry(&self) -> Option<&Entry> {
        self.runs.iter().find(|e| e.finished())
    }

    /// `GET /api/runs`: every run with its metrics so far.
    pub fn runs_json(&self) -> Value {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "name": e.name,
                    "model": e.spec.model,
                    "data": e.spec.data.title(),
                    "classes": e.info.classes,
                    "channels": e.info.shape[0],
                    "size": e.spec.resize,
                    "finished": e.finished(),
                    "metrics": Metrics::read(&e.dir).ok().flatten(),
                    "summary": e.summary,
                    "parameters": e.parameters,
                })
            })
            .collect();
        json!({ "runs": runs })
    }
}

impl Entry {
    /// Whether the run has its final weights.
    pub fn finished(&self) -> bool {
        self.dir.join("model.bpk").is_file()
    }

    /// The trained run (loaded at start, or on first use once a run that was training has
    /// finished).
    pub fn run(&self, device: &Device) -> Result<Arc<Run>> {
        let mut slot = self.model.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(run) = &*slot {
            return Ok(Arc::clone(run));
        }
        if !self.finished() {
            return Err(Error::Training(self.name.clone()));
        }
        let run = Arc::new(Run::open(&self.dir, device)?);
        *slot = Some(Arc::clone(&run));
        Ok(run)
    }
}
