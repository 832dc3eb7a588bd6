//! `convzoo export`: a run's weights as safetensors with d2l's PyTorch key names.

use std::path::PathBuf;

use clap::Args;
use convzoo_trainer::{Result, interop};

#[derive(Args)]
pub struct ExportArgs {
    /// Run directory
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// Safetensors file to write
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn run(args: ExportArgs) -> Result<()> {
    interop::export(&args.run, &args.out, &super::cpu()?)?;
    println!("wrote {}", args.out.display());
    Ok(())
}
