//! `convzoo eval`: the test accuracy of a finished run, per class, and its confusion matrix
//! (printed, and drawn in the run's `confusion.png`).

use std::path::PathBuf;

use clap::Args;
use convzoo_trainer::{Result, infer};

use super::console::Console;

#[derive(Args)]
pub struct EvalArgs {
    /// Run directory
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// Test on the first N images only (0: all)
    #[arg(long, default_value_t = 0)]
    limit_test: usize,
    /// Directory with the (Fashion-)MNIST files [default: the run's, else search]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Evaluate on this dataset's test set instead (fashion-mnist, mnist, folder:PATH,
    /// cifar10:PATH; it must have the run's classes and image shape) [default: the run's]
    #[arg(long, value_name = "SPEC", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<convzoo_datasets::DataSpec>()))]
    data: Option<convzoo_datasets::DataSpec>,
    /// Burn backend (flex, ndarray, wgpu or wgpu:ADAPTER, ...; see `train --help`) [default: the run's]
    #[arg(long)]
    backend: Option<String>,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let eval = infer::evaluate(
        &args.run,
        args.limit_test,
        (args.data, args.data_dir),
        args.backend.as_deref(),
        &mut Console::new(),
    )?;
    let c = &eval.confusion;
    println!(
        "{}: test acc {:.4} on {} images ({})",
        eval.config.model,
        c.accuracy(),
        c.total(),
        args.run.display()
    );
    println!();
    print!("{}", c.table());
    let png = args.run.join("confusion.png");
    let title = format!("{} on {}", eval.config.model, eval.config.data.title());
    c.write_png(&png, &title)?;
    println!("\nconfusion matrix drawn in {}", png.display());
    Ok(())
}
