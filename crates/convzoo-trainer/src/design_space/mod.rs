//! Design spaces as d2l section 8.8 compares them: draw `n` AnyNets from each space, train each
//! briefly on a subset, and compare the spaces by the error empirical distribution function of
//! their networks (`edf.csv`, `edf.svg`, `edf.png`).
//!
//! A search lives in one directory: `design.json` (its [`Settings`]), `samples.csv` (one row a
//! finished network), the EDF files, and `runs/<space>-<index>/`, each network's run. Networks
//! are drawn from the seed alone, so a search that stopped continues where it was with the same
//! settings: finished networks are kept, a network stopped mid-run resumes from its checkpoint.

mod edf;
pub mod space;

use std::path::{Path, PathBuf};

use convzoo_models::{AnyNetStages, ModelConfig};
use serde::{Deserialize, Serialize};

use crate::config::Overrides;
use crate::error::{Error, Result, UsageError};
use crate::files::write_atomic;
use crate::metrics::Metrics;
use crate::observe::Observer;
pub use edf::edf;
pub use space::{Ranges, Space, sample};

/// What a search draws and how it trains each network; a search resumes only with the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The spaces compared.
    pub spaces: Vec<Space>,
    /// Networks drawn from each space.
    pub samples: usize,
    /// The ranges they are drawn from.
    pub ranges: Ranges,
    /// Seed of the draws, of every network's initialisation and of its data order.
    pub seed: u64,
    /// Epochs each network trains.
    pub epochs: usize,
    /// Training images (the first N of the training set).
    pub limit_train: usize,
    /// Test images (the first N of the test set).
    pub limit_test: usize,
    /// Side the images are resized to.
    pub resize: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Learning rate.
    pub lr: f64,
    /// Burn backend.
    pub backend: String,
    /// Directory with the Fashion-MNIST files (`None`: search the usual places).
    pub data_dir: Option<PathBuf>,
}

/// One trained network of a search: a row of `samples.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Its space.
    pub space: Space,
    /// Its index among the space's draws, from 0.
    pub index: usize,
    /// Its stem and stages.
    pub stages: AnyNetStages,
    /// Its parameter count.
    pub params: usize,
    /// Training loss of its last epoch.
    pub train_loss: f64,
    /// Test error (1 - accuracy) after its last epoch.
    pub test_error: f64,
    /// Seconds its run took.
    pub seconds: f64,
}

/// What a search reports between networks.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A search directory that already held finished networks.
    Resumed {
        /// Networks finished before.
        done: usize,
        /// Networks in the search.
        total: usize,
    },
    /// A network's run begins (or resumes).
    Start {
        /// Its space.
        space: Space,
        /// Its index in the space.
        index: usize,
        /// Its stem and stages.
        stages: &'a AnyNetStages,
    },
    /// A network finished.
    Finished {
        /// Its row.
        sample: &'a Sample,
        /// Networks finished so far.
        done: usize,
        /// Networks in the search.
        total: usize,
    },
}

const CSV_HEADER: &str = "space,index,params,train_loss,test_error,seconds,stages";

impl Sample {
    fn csv_row(&self) -> String {
        format!(
            "{},{},{},{:.6},{:.6},{:.2},{}",
            self.space,
            self.index,
            self.params,
            self.train_loss,
            self.test_error,
            self.seconds,
            space::describe(&self.stages.stages)
        )
    }
}

/// `samples.csv` of `samples`, in the order they finished.
fn samples_csv(samples: &[Sample]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for s in samples {
        out.push_str(&s.csv_row());
        out.push('\n');
    }
    out
}

/// The rows of a `samples.csv` written by [`run`] with `settings`; each row's network is drawn
/// again from the settings and must be the one the row names.
fn read_samples(path: &Path, settings: &Settings) -> Result<Vec<Sample>> {
    let bad = |problem: String| {
        Error::Usage(UsageError::BadValue {
            flag: "--out",
            problem: format!("{}: {problem}", path.display()),
        })
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(bad(e.to_string())),
    };
    let mut rows = text.lines();
    if rows.next() != Some(CSV_HEADER) {
        return Err(bad("not a samples.csv of a design-space search".into()));
    }
    rows.enumerate()
        .map(|(i, line)| {
            let line_no = i + 2;
            let f: Vec<&str> = line.splitn(7, ',').collect();
            let parse_err = || bad(format!("line {line_no} does not parse: {line}"));
            if f.len() != 7 {
                return Err(parse_err());
            }
            let space: Space = f[0].parse().map_err(|_| parse_err())?;
            let index: usize = f[1].parse().map_err(|_| parse_err())?;
            let stages = sample(space, &settings.ranges, settings.seed, index);
            if space::describe(&stages.stages) != f[6] {
                return Err(bad(format!(
                    "line {line_no} names a network the settings do not draw: {}",
                    f[6]
                )));
            }
            Ok(Sample {
                space,
                index,
                stages,
                params: f[2].parse().map_err(|_| parse_err())?,
                train_loss: f[3].parse().map_err(|_| parse_err())?,
                test_error: f[4].parse().map_err(|_| parse_err())?,
                seconds: f[5].parse().map_err(|_| parse_err())?,
            })
        })
        .collect()
}

/// Opens the search directory `dir` for `settings`: creates it, or checks that the search in it
/// has the same settings. Returns the networks it already finished.
fn open(dir: &Path, settings: &Settings) -> Result<Vec<Sample>> {
    let in_use = |problem: String| {
        Error::Usage(UsageError::BadValue {
            flag: "--out",
            problem: format!("{}: {problem}", dir.display()),
        })
    };
    let design = dir.join("design.json");
    match std::fs::read_to_string(&design) {
        Ok(text) => {
            let saved: Settings = serde_json::from_str(&text)
                .map_err(|e| in_use(format!("design.json does not parse: {e}")))?;
            if &saved != settings {
                return Err(in_use(format!(
                    "holds a search with other settings ({}); give the same settings to \
                     continue it, or another --out",
                    differences(&saved, settings)
                )));
            }
            read_samples(&dir.join("samples.csv"), settings)
        }
        Err(_) => {
            let used = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
            if used {
                return Err(in_use(
                    "is not empty and holds no design.json; give an empty or new directory".into(),
                ));
            }
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
                path: dir.into(),
                source,
            })?;
            let json = serde_json::to_string_pretty(settings).expect("settings serialise");
            write_atomic(&design, json.as_bytes())?;
            Ok(Vec::new())
        }
    }
}

/// The fields of two settings that differ, as `name: saved -> given`.
fn differences(saved: &Settings, given: &Settings) -> String {
    let (a, b) = (
        serde_json::to_value(saved).expect("settings serialise"),
        serde_json::to_value(given).expect("settings serialise"),
    );
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return String::new();
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: {v} -> {}", b[k]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Trains network `index` of `space` in `runs/<space>-<index>` (resuming a run that stopped)
/// and returns its row.
fn train_one(
    dir: &Path,
    settings: &Settings,
    space: Space,
    index: usize,
    stages: &AnyNetStages,
    observer: &mut impl Observer,
) -> Result<Sample> {
    let run = dir.join("runs").join(format!("{space}-{index:03}"));
    let finished = |run: &Path| {
        Metrics::read(run)
            .ok()
            .flatten()
            .filter(|m| m.epochs.len() >= settings.epochs)
    };
    let metrics = match finished(&run) {
        Some(m) => m,
        None => {
            let resumed = run.join("config.json").is_file()
                && match crate::train::resume_with(&run, observer) {
                    Ok(()) => true,
                    Err(Error::NoCheckpoint { .. }) => false,
                    Err(e) => return Err(e),
                };
            if !resumed {
                if run.exists() {
                    // A run this search made and that stopped before its first checkpoint.
                    std::fs::remove_dir_all(&run).map_err(|source| Error::CreateDir {
                        path: run.clone(),
                        source,
                    })?;
                }
                let mut config = Overrides {
                    model: Some("anynet".into()),
                    epochs: Some(settings.epochs),
                    batch_size: Some(settings.batch_size),
                    lr: Some(settings.lr),
                    resize: Some(settings.resize),
                    limit_train: Some(settings.limit_train),
                    limit_test: Some(settings.limit_test),
                    seed: Some(settings.seed),
                    backend: Some(settings.backend.clone()),
                    data_dir: settings.data_dir.clone(),
                    log_every: Some(0),
                    ..Overrides::default()
                }
                .resolve(&settings.backend)?;
                config.anynet = Some(stages.clone());
                crate::train::start_with(config, Some(&run), observer)?;
            }
            finished(&run).ok_or_else(|| {
                Error::Usage(UsageError::BadValue {
                    flag: "--out",
                    problem: format!(
                        "{}: the network's run ended without a metrics.json; remove that directory \
                     to train the network again",
                        run.display()
                    ),
                })
            })?
        }
    };
    let model = ModelConfig::from_name("anynet")?.with_anynet(stages)?;
    let params = convzoo_blocks::count_parameters(&model.init(&crate::backend::device("flex")?));
    let last = metrics.epochs.last().expect("a finished run has epochs");
    Ok(Sample {
        space,
        index,
        stages: stages.clone(),
        params,
        train_loss: last.train_loss,
        test_error: 1.0 - last.test_acc,
        seconds: metrics.epochs.iter().map(|e| e.seconds).sum(),
    })
}

/// Runs (or continues) the search of `settings` in `dir`: every space's networks in turn, each
/// trained by the trainer (its events to `observer`, which may stop it), `samples.csv` and the
/// EDF files rewritten after each. Returns every row.
pub fn run(
    dir: &Path,
    settings: &Settings,
    observer: &mut impl Observer,
    report: &mut dyn FnMut(&Progress),
) -> Result<Vec<Sample>> {
    let mut samples = open(dir, settings)?;
    let total = settings.spaces.len() * settings.samples;
    if !samples.is_empty() {
        report(&Progress::Resumed {
            done: samples.len(),
            total,
        });
        // A search stopped between its two writes has the rows but not the plot.
        if !dir.join("edf.png").is_file() {
            save(dir, &samples)?;
        }
    }
    for &space in &settings.spaces {
        for index in 0..settings.samples {
            if samples.iter().any(|s| s.space == space && s.index == index) {
                continue;
            }
            let stages = sample(space, &settings.ranges, settings.seed, index);
            report(&Progress::Start {
                space,
                index,
                stages: &stages,
            });
            let row = match train_one(dir, settings, space, index, &stages, observer) {
                Err(Error::Interrupted { .. }) => {
                    return Err(Error::SearchStopped {
                        dir: dir.into(),
                        network: format!("{space}-{index:03}"),
                    });
                }
                row => row?,
            };
            samples.push(row);
            save(dir, &samples)?;
            report(&Progress::Finished {
                sample: samples.last().expect("just pushed"),
                done: samples.len(),
                total,
            });
        }
    }
    Ok(samples)
}

/// Writes `samples.csv` and the EDF files of `samples` into `dir`.
fn save(dir: &Path, samples: &[Sample]) -> Result<()> {
    write_atomic(&dir.join("samples.csv"), samples_csv(samples).as_bytes())?;
    edf::write(dir, samples)
}
