//! `bench peak` and `bench layers`: the machine's FMA peak and the largest convolutions beside
//! it, printed as a table or JSON.

use convzoo_trainer::Result;
#[cfg(not(feature = "flex"))]
use convzoo_trainer::{Error, UsageError};

#[cfg(not(feature = "flex"))]
use super::Common;
#[cfg(feature = "flex")]
use super::{Common, cpu_name, peak, to_json};

/// `bench peak`: the FMA loop's GFLOP/s per kernel path, on one thread and on all.
#[cfg(feature = "flex")]
pub(super) fn peak(json: bool) -> Result<()> {
    use convzoo_blocks::flex::{Isa, isa};
    use peak::fma_peak;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rows: Vec<(Isa, f64, f64)> = Isa::supported_all()
        .into_iter()
        .map(|i| (i, fma_peak(i, 1, 0.5), fma_peak(i, threads, 0.5)))
        .collect();
    if json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|(i, one, all)| {
                serde_json::json!({"path": i.name(), "gflops_1_thread": one,
                    "threads": threads, "gflops_all_threads": all})
            })
            .collect();
        let out = serde_json::json!({"cpu": cpu_name(), "peak": rows, "kernels": isa().name()});
        println!("{}", to_json(&out, true));
        return Ok(());
    }
    println!(
        "fp32 peak of an FMA loop (12 accumulators), {}, {threads} threads",
        cpu_name()
    );
    println!(
        "{:10}  {:>10}  {:>10}  GFLOP/s",
        "path",
        "1 thread",
        format!("{threads} threads")
    );
    for (i, one, all) in rows {
        println!("{:10}  {one:>10.1}  {all:>10.1}", i.name());
    }
    println!(
        "the kernels take the {} path (CONVZOO_KERNELS=avx512|avx2|portable forces one)",
        isa().name()
    );
    Ok(())
}

#[cfg(not(feature = "flex"))]
pub(super) fn peak(_json: bool) -> Result<()> {
    Err(Error::Usage(UsageError::BackendNotCompiled {
        name: "flex".into(),
        feature: "flex",
    }))
}

/// `bench layers`: the largest convolutions of each model beside the machine's peak.
#[cfg(feature = "flex")]
pub(super) fn layers(args: &Common) -> Result<()> {
    use convzoo_blocks::flex::isa;
    use peak::fma_peak;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let peak = fma_peak(isa(), threads, 0.5);
    let names: Vec<&str> = if args.model == "all" {
        vec!["vgg11", "resnet18"]
    } else {
        args.model.split(',').collect()
    };
    let mut all = Vec::new();
    for name in names {
        let info = convzoo_models::find(name)?;
        let batch = args.batch_size.unwrap_or(info.bench_batch);
        let speeds = super::layers::conv_speeds(name, batch, 4, args.steps)?;
        if !args.json {
            println!(
                "{name}, batch {batch}: the largest convolutions; peak {peak:.0} GFLOP/s ({} \
                 path, {threads} threads, {})",
                isa().name(),
                cpu_name()
            );
            println!(
                "  {:34}  {:>8}  {:>26}  {:>26}  {:>26}  {:>26}",
                "convolution", "GMACs", "forward", "inference", "input grad", "weight grad"
            );
        }
        for s in &speeds {
            let [_, c, h, w] = s.shape.input;
            let [kh, kw] = s.shape.kernel;
            let groups = match s.shape.groups {
                1 => String::new(),
                g => format!(", {g} groups"),
            };
            let label = format!(
                "{c}->{} {kh}x{kw}/{} at {h}x{w}{groups}",
                s.shape.channels_out, s.shape.stride[0]
            );
            let [fa, ia, ga, wa] = s.algorithms;
            let cell =
                |g: f64, algorithm: &str| format!("{g:.0} ({:.0}%) {algorithm}", 100.0 * g / peak);
            if !args.json {
                println!(
                    "  {label:34}  {:>8.2}  {:>26}  {:>26}  {:>26}  {:>26}",
                    s.macs as f64 / 1e9,
                    cell(s.forward, fa),
                    cell(s.inference, ia),
                    cell(s.input_grad, ga),
                    cell(s.weight_grad, wa)
                );
            }
        }
        all.push(serde_json::json!({"model": name, "batch": batch, "convolutions": speeds}));
    }
    if args.json {
        let out = serde_json::json!({"cpu": cpu_name(), "peak_gflops": peak, "path": isa().name(),
            "threads": threads, "models": all});
        println!("{}", to_json(&out, true));
    }
    Ok(())
}

#[cfg(not(feature = "flex"))]
pub(super) fn layers(_args: &Common) -> Result<()> {
    peak(false)
}
