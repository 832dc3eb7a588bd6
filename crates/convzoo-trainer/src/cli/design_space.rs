//! `convzoo design-space`: d2l section 8.8's comparison of AnyNet design spaces by the error
//! EDF of networks drawn from each and trained briefly.

use std::path::PathBuf;

use clap::Args;
use convzoo_trainer::design_space::{self, Progress, Ranges, Settings, Space, space::describe};
use convzoo_trainer::observe::{Event, Observer};
use convzoo_trainer::{Error, Result, UsageError, backend};

use super::console::Console;

#[derive(Args)]
pub struct DesignSpaceArgs {
    /// Spaces to compare, comma separated: A (AnyNetX_A: every stage drawn on its own), B (A
    /// with one bottleneck ratio), C (B with one group width), D (C with widths that never
    /// decrease), E (D with depths that never decrease)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "A,B,C",
        value_name = "LIST"
    )]
    spaces: Vec<Space>,
    /// Networks drawn from each space
    #[arg(long, default_value_t = 16)]
    samples: usize,
    /// Stages of every network
    #[arg(long, default_value_t = 2)]
    stages: usize,
    /// Largest depth of a stage (depths are drawn from 1 to this)
    #[arg(long, default_value_t = 3)]
    max_depth: usize,
    /// Largest width of a stage (widths are the multiples of 8 up to this)
    #[arg(long, default_value_t = 64)]
    max_width: usize,
    /// Output channels of every network's stem
    #[arg(long, default_value_t = 16)]
    stem_channels: usize,
    /// Epochs each network trains
    #[arg(long, default_value_t = 2)]
    epochs: usize,
    /// Train each network on the first N Fashion-MNIST training images (0: all 60,000)
    #[arg(long, default_value_t = 8192)]
    limit_train: usize,
    /// Test each network on the first N test images (0: all 10,000)
    #[arg(long, default_value_t = 1000)]
    limit_test: usize,
    /// Resize the images to this side
    #[arg(long, default_value_t = 32)]
    resize: usize,
    /// Minibatch size
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Learning rate (d2l's RegNetX-32 recipe)
    #[arg(long, default_value_t = 0.05)]
    lr: f64,
    /// Seed of the draws and of every network's initialisation and data order
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Burn backend (flex, ndarray, wgpu or wgpu:ADAPTER, ...; see `train --help`) [default: flex]
    #[arg(long)]
    backend: Option<String>,
    /// Directory with the Fashion-MNIST files [default: search]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Directory of the search; a directory holding one with the same settings continues it
    #[arg(long, value_name = "DIR", default_value = "runs/design-space")]
    out: PathBuf,
}

impl DesignSpaceArgs {
    fn settings(self) -> Result<(PathBuf, Settings)> {
        let positive = [
            ("--samples", self.samples),
            ("--stages", self.stages),
            ("--max-depth", self.max_depth),
            ("--stem-channels", self.stem_channels),
            ("--epochs", self.epochs),
            ("--resize", self.resize),
            ("--batch-size", self.batch_size),
        ];
        for (flag, value) in positive {
            if value == 0 {
                return Err(Error::Usage(UsageError::BadValue {
                    flag,
                    problem: "must be at least 1, got 0".into(),
                }));
            }
        }
        if self.max_width < 8 {
            return Err(Error::Usage(UsageError::BadValue {
                flag: "--max-width",
                problem: format!(
                    "must be at least 8 (widths are multiples of 8), got {}",
                    self.max_width
                ),
            }));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::Usage(UsageError::BadValue {
                flag: "--lr",
                problem: format!("must be a positive number, got {}", self.lr),
            }));
        }
        let mut spaces = self.spaces;
        spaces.sort();
        spaces.dedup();
        let backend = self
            .backend
            .unwrap_or_else(|| backend::default_backend().into());
        backend::device(&backend)?;
        let settings = Settings {
            spaces,
            samples: self.samples,
            ranges: Ranges {
                stem_channels: self.stem_channels,
                stages: self.stages,
                max_depth: self.max_depth,
                max_width: self.max_width,
            },
            seed: self.seed,
            epochs: self.epochs,
            limit_train: self.limit_train,
            limit_test: self.limit_test,
            resize: self.resize,
            batch_size: self.batch_size,
            lr: self.lr,
            backend,
            data_dir: self.data_dir,
        };
        Ok((self.out, settings))
    }
}

/// Erases the live status line, where there is one (stderr a terminal).
fn clear_status_line() {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
}

/// The console's live status line and warnings for each network's run, without its per-run
/// lines (the search prints one line a network).
struct StatusOnly(Console);

impl Observer for StatusOnly {
    fn should_stop(&self) -> bool {
        self.0.should_stop()
    }

    fn event(&mut self, event: &Event) {
        if matches!(event, Event::Step { .. } | Event::Warning(_)) {
            self.0.event(event);
        }
    }
}

pub fn run(args: DesignSpaceArgs) -> Result<()> {
    let (dir, settings) = args.settings()?;
    let mut status = StatusOnly(Console::stopping_on(super::train::stop_on_signals()));
    let n = settings.samples;
    let mut report = |p: &Progress| match p {
        Progress::Resumed { done, total } => {
            println!(
                "continuing the search in {}: {done} of {total} networks done",
                dir.display()
            )
        }
        Progress::Start {
            space,
            index,
            stages,
        } => println!(
            "{} {}/{n}: stem {}, stages (depth/width/group width/bottleneck ratio) {}",
            space.title(),
            index + 1,
            stages.stem_channels,
            describe(&stages.stages)
        ),
        Progress::Finished {
            sample,
            done,
            total,
        } => {
            clear_status_line();
            println!(
                "  test error {:.3}, train loss {:.3}, {} parameters, {:.1} s  [{done}/{total}]",
                sample.test_error, sample.train_loss, sample.params, sample.seconds
            )
        }
    };
    let result = design_space::run(&dir, &settings, &mut status, &mut report);
    let samples = match result {
        Ok(samples) => samples,
        Err(e) => {
            status.0.clear();
            return Err(e);
        }
    };
    for space in &settings.spaces {
        let mut errors: Vec<f64> = samples
            .iter()
            .filter(|s| s.space == *space)
            .map(|s| s.test_error)
            .collect();
        errors.sort_by(f64::total_cmp);
        if let (Some(best), Some(median)) = (errors.first(), errors.get(errors.len() / 2)) {
            println!(
                "{}: best test error {best:.3}, median {median:.3} over {} networks",
                space.title(),
                errors.len()
            );
        }
    }
    println!(
        "wrote {0}/samples.csv, {0}/edf.csv and {0}/edf.png",
        dir.display()
    );
    Ok(())
}
