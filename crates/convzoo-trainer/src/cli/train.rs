//! `convzoo train`: a new run from d2l's recipe, a config file and flags, or `--resume`.

use std::path::PathBuf;

use clap::Args;
use convzoo_trainer::config::Overrides;
use convzoo_trainer::{Error, Result, backend, train};

use super::console::Console;

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    overrides: Overrides,
    /// JSON file of settings (same names as the flags, with underscores); flags override it
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run directory to create [default: runs/MODEL-TIME]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Continue the run in DIR from its last checkpoint, with its saved configuration
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "out"])]
    resume: Option<PathBuf>,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let mut console = Console::new();
    let result = train(args, &mut console);
    if result.is_err() {
        console.clear();
    }
    result
}

fn train(args: TrainArgs, console: &mut Console) -> Result<()> {
    if let Some(dir) = args.resume {
        if let Some(flag) = args.overrides.given().first() {
            return Err(Error::FlagWithResume { flag });
        }
        return train::resume_with(&dir, console);
    }
    let file = match &args.config {
        Some(path) => Overrides::from_file(path)?,
        None => Overrides::default(),
    };
    let config = file
        .then(args.overrides)
        .resolve(backend::default_backend())?;
    backend::device(&config.backend)?;
    train::start_with(config, args.out.as_deref(), console)?;
    Ok(())
}
