//! `convzoo-serve`: the local web page and JSON API for convzoo runs. Errors print one line and
//! exit with status 1 (2 for a bad flag).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use burn::tensor::Device;
use clap::Parser;
use convzoo_serve::{Catalog, Error, Limits, serve};

/// Serve a page that classifies a drawing or a photo with a trained run and shows every layer,
/// the runs' curves, and a JSON API (POST /api/predict?run=ID with an image's bytes).
#[derive(Parser)]
#[command(name = "convzoo-serve", version)]
struct Args {
    /// A run directory to serve (repeatable)
    #[arg(long, value_name = "DIR")]
    run: Vec<PathBuf>,
    /// A folder of run directories (e.g. runs/): every one in it, listed at start
    #[arg(long, value_name = "DIR")]
    runs: Option<PathBuf>,
    /// Address to listen on (127.0.0.1: this machine only)
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0: any free port, printed at start)
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Largest request body accepted, in MiB
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    max_body_mib: u32,
    /// Threads that run requests (the models run there; more requests wait in the queue)
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    workers: u16,
}

fn run(args: Args) -> Result<(), Error> {
    let mut dirs = args.run.clone();
    if let Some(folder) = &args.runs {
        dirs.extend(Catalog::list_folder(folder)?);
    }
    let device = Device::flex();
    let catalog = Catalog::open(&dirs, &device)?;
    let addr = format!("{}:{}", args.host, args.port);
    let server = tiny_http::Server::http(&addr).map_err(|e| Error::Bind {
        addr: addr.clone(),
        reason: e.to_string(),
    })?;
    let bound = server
        .server_addr()
        .to_ip()
        .map_or(addr.clone(), |a| a.to_string());
    for e in &catalog.runs {
        let state = if e.finished() { "" } else { " (training)" };
        println!(
            "run {}: {} ({}){state}",
            e.id,
            e.dir.display(),
            e.spec.model
        );
    }
    println!("serving http://{bound}/ (Ctrl-C stops)");
    let limits = Limits {
        max_body: args.max_body_mib as usize * 1024 * 1024,
        workers: args.workers as usize,
    };
    serve(Arc::new(catalog), server, limits);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
