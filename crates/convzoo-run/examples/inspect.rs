//! Opens a finished run directory (as `convzoo train` / `cargo xtask train` leave it, e.g.
//! `runs/lenet-20261128-162437`), prints its configuration and per-epoch metrics, and, given an
//! image file, the model's three most probable classes for it.
//!
//! ```text
//! cargo run --release -p convzoo-run --example inspect -- RUN_DIR [IMAGE]
//! ```
//!
//! Errors (no such directory, a run without final weights, a bad image) are one line on
//! stderr and a non-zero exit status.

use std::path::PathBuf;
use std::process::ExitCode;

use burn::module::Module;
use burn::tensor::Device;
use convzoo_run::{Metrics, Result, Run};

fn inspect(dir: PathBuf, image: Option<PathBuf>) -> Result<()> {
    let device = Device::flex();
    let run = Run::open(&dir, &device)?;
    let spec = &run.spec;
    println!("run {}", run.dir.display());
    println!(
        "  model {} ({} parameters), trained on {}",
        spec.model,
        run.model.num_params(),
        spec.backend
    );
    println!(
        "  images {:?} resized to {}x{}, batch size {}",
        run.info.shape, spec.resize, spec.resize, spec.batch_size
    );
    println!("  classes: {}", run.info.classes.join(", "));

    match Metrics::read(&dir)? {
        Some(metrics) => {
            let epochs = metrics.epochs.len();
            for epoch in &metrics.epochs {
                println!("  {}", epoch.line(epochs));
            }
        }
        None => println!("  no metrics.json: no epoch has finished"),
    }

    if let Some(path) = image {
        let x = run.input(run.read_image(&path)?, &device);
        let ranked = run.rank(run.model.forward(x))?;
        println!("{}:", path.display());
        for (_, class, p) in ranked.iter().take(3) {
            println!("  {class:<12} {:5.1} %", p * 100.0);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!(
            "usage: inspect RUN_DIR [IMAGE]  (a run directory such as runs/lenet-20261128-162437)"
        );
        return ExitCode::from(2);
    };
    match inspect(dir, args.next().map(PathBuf::from)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
