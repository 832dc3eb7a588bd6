//! `convzoo export`: a run as an ONNX model (`--out model.onnx`) or its weights as safetensors
//! with d2l's PyTorch key names.

use std::path::PathBuf;

use clap::Args;
use convzoo_trainer::{Result, interop};

#[derive(Args)]
pub struct ExportArgs {
    /// Run directory
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// File to write: `.onnx` for an ONNX model (inference graph, opset 17, input `input`
    /// [N, C, H, W], output `logits`), any other extension for safetensors weights
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn run(args: ExportArgs) -> Result<()> {
    interop::export(&args.run, &args.out, &super::cpu()?)?;
    println!("wrote {}", args.out.display());
    Ok(())
}
