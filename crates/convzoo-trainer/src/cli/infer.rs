//! `convzoo infer`: a model on the tensor `input` of a safetensors file, writing `logits`.

use std::path::PathBuf;

use clap::Args;
use convzoo_trainer::{Result, interop};

#[derive(Args)]
pub struct InferArgs {
    /// Model name
    #[arg(long)]
    model: String,
    /// Weights: a run directory, a .bpk file, or PyTorch weights (.safetensors, .pt, .pth)
    #[arg(long, value_name = "PATH")]
    weights: PathBuf,
    /// Safetensors file with the tensor `input`, f32 [N, C, H, W]
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Safetensors file to write the tensor `logits` to, f32 [N, classes]
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
}

pub fn run(args: InferArgs) -> Result<()> {
    convzoo_models::find(&args.model)?;
    let dims = interop::infer(
        &args.model,
        &args.weights,
        &args.input,
        &args.output,
        &super::cpu()?,
    )?;
    println!("wrote logits {dims:?} to {}", args.output.display());
    Ok(())
}
