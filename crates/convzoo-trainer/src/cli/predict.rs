//! `convzoo predict`: the top-5 classes of image files, with a finished run.

use std::path::PathBuf;

use clap::Args;
use convzoo_trainer::{Result, infer};

#[derive(Args)]
pub struct PredictArgs {
    /// Run directory
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// Images (PNG, JPEG, BMP, WebP), read as the run's training images were (channels, size,
    /// normalisation)
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
}

pub fn run(args: PredictArgs) -> Result<()> {
    let results = infer::predict(&args.run, &args.images, 5)?;
    for (path, top) in args.images.iter().zip(results) {
        println!("{}", path.display());
        for p in top {
            println!("  {:>7.2}%  {}  {}", p.probability * 100.0, p.class, p.name);
        }
    }
    Ok(())
}
