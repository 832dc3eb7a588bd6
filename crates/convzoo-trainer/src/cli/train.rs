//! `convzoo train`: a new run from d2l's recipe, a config file and flags, or `--resume`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Args;
use convzoo_trainer::config::Overrides;
use convzoo_trainer::{Error, Result, UsageError, backend, train};

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
    let mut console = Console::stopping_on(stop_on_signals());
    let result = train(args, &mut console);
    if result.is_err() {
        console.clear();
    }
    result
}

fn train(args: TrainArgs, console: &mut Console) -> Result<()> {
    if let Some(dir) = args.resume {
        if let Some(flag) = args.overrides.given().first() {
            return Err(Error::Usage(UsageError::FlagWithResume { flag }));
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
    train::start_with(config, args.out.as_deref(), console)?;
    Ok(())
}

/// A flag that the first SIGINT or SIGTERM sets (the run then stops after its step, with a
/// checkpoint); a second one ends the process at once with status 130. If the handlers cannot
/// be installed, the signals keep their default action.
pub(super) fn stop_on_signals() -> Arc<AtomicBool> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // The shutdown check first: it sees the flag the first signal set.
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)));
    }
    stop
}
