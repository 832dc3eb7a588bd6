//! `convzoo import`: PyTorch weights (d2l's key names) into a new run directory.

use std::path::PathBuf;

use clap::Args;
use convzoo_trainer::{Result, interop};

#[derive(Args)]
pub struct ImportArgs {
    /// Model name
    #[arg(long)]
    model: String,
    /// PyTorch weights: a state_dict from torch.save (.pt, .pth) or .safetensors
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// Run directory to create [default: runs/MODEL-TIME]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(args: ImportArgs) -> Result<()> {
    convzoo_models::find(&args.model)?;
    let run = interop::import(&args.model, &args.from, args.out.as_deref(), &super::cpu()?)?;
    println!("imported {} into {}", args.from.display(), run.display());
    Ok(())
}
