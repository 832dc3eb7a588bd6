//! Builds a registry model by name and prints its summary: d2l's layer summary (the output
//! shape after every layer), the parameter count and the multiply-adds for one image, as
//! `convzoo summary --model NAME` does.
//!
//! ```text
//! cargo run --release -p convzoo-models --example summary -- resnet18
//! ```
//!
//! The name defaults to `lenet`; an unknown name is a one-line error listing the choices
//! (exit status 2).

use std::process::ExitCode;

use burn::tensor::Device;
use convzoo_models::{ModelConfig, summarize};

fn main() -> ExitCode {
    let name = std::env::args_os()
        .nth(1)
        .map_or_else(|| "lenet".to_string(), |a| a.to_string_lossy().into_owned());
    let config = match ModelConfig::from_name(&name) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    let info = config.info();
    let recipe = info.recipe;
    println!(
        "{} (d2l section {}): recipe lr {}, batch size {}, {} epochs at {}x{}",
        info.title,
        info.d2l_section,
        recipe.lr,
        recipe.batch_size,
        recipe.epochs,
        recipe.resize,
        recipe.resize
    );
    let summary = summarize(&config, &Device::flex());
    print!("{}", summary.to_table());
    ExitCode::SUCCESS
}
