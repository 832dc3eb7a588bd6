//! The commands of the `convzoo` binary, one module each, with their flags; `console` prints
//! what a training run reports.

mod bench;
mod console;
mod design_space;
mod eval;
mod export;
mod import;
mod infer;
mod models;
mod predict;
mod summary;
mod train;

use burn::tensor::Device;
use clap::{Parser, Subcommand};
use convzoo_trainer::{Result, backend};

#[derive(Parser)]
#[command(
    name = "convzoo",
    version,
    about = "The CNNs of d2l's modern-CNN chapter on Burn: train, evaluate, predict, summarise"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Train a model with d2l's recipe (flags override it), on Fashion-MNIST or --data
    Train(Box<train::TrainArgs>),
    /// Test accuracy of a finished run, per class, and its confusion matrix
    Eval(eval::EvalArgs),
    /// Top-5 classes for image files, with a finished run
    Predict(predict::PredictArgs),
    /// Per-layer output shapes, parameters and multiply-adds
    Summary(summary::SummaryArgs),
    /// Import PyTorch weights (d2l's key names) into a new run directory
    Import(import::ImportArgs),
    /// Export a run as an ONNX model (--out FILE.onnx) or as safetensors with d2l's PyTorch keys
    Export(export::ExportArgs),
    /// Run a model on the tensor `input` of a safetensors file; write `logits`
    Infer(infer::InferArgs),
    /// List the models with their inputs and d2l recipes
    Models,
    /// Compare AnyNet design spaces (d2l 8.8): train networks drawn from each briefly, write
    /// the error EDF of each space as a CSV and a plot; rerun to continue a stopped search
    DesignSpace(design_space::DesignSpaceArgs),
    /// Throughput per model; subcommands: compare (beside PyTorch and ONNX Runtime), profile,
    /// breakdown, peak, layers
    Bench(bench::BenchArgs),
}

impl Command {
    /// Runs the command.
    pub fn run(self) -> Result<()> {
        match self {
            Command::Train(args) => train::run(*args),
            Command::Eval(args) => eval::run(args),
            Command::Predict(args) => predict::run(args),
            Command::Summary(args) => summary::run(args),
            Command::Import(args) => import::run(args),
            Command::Export(args) => export::run(args),
            Command::Infer(args) => infer::run(args),
            Command::Models => models::run(),
            Command::DesignSpace(args) => design_space::run(args),
            Command::Bench(args) => bench::run(args),
        }
    }
}

/// The default CPU device, for the commands without a `--backend`.
fn cpu() -> Result<Device> {
    backend::device(backend::default_backend())
}
