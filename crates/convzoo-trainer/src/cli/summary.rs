//! `convzoo summary`: per-layer shapes, parameters and multiply-adds; the seed's cost table.

use clap::Args;
use convzoo_models::{ModelConfig, REGISTRY, SeedRow, group_thousands, seed_table, summarize};
use convzoo_trainer::Result;
use serde::Serialize;

#[derive(Args)]
pub struct SummaryArgs {
    /// Model name, or `all`
    #[arg(long, default_value = "all")]
    model: String,
    /// Print JSON instead of tables
    #[arg(long)]
    json: bool,
    /// Print the seed's GoogLeNet cost table (Inception vs 3x3 and 5x5 convolutions)
    #[arg(long, conflicts_with = "model")]
    seed_table: bool,
}

/// A row of the seed table in JSON, with the book's rounded figures (keys in this order).
#[derive(Serialize)]
struct SeedRowJson<'a> {
    block: &'a str,
    macs: u64,
    macs_m: u64,
    params: usize,
    params_m: f64,
}

impl<'a> From<&'a SeedRow> for SeedRowJson<'a> {
    fn from(r: &'a SeedRow) -> Self {
        SeedRowJson {
            block: &r.block,
            macs: r.macs,
            macs_m: r.macs_m(),
            params: r.params,
            params_m: r.params_m(),
        }
    }
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).expect("summaries serialise")
}

pub fn run(args: SummaryArgs) -> Result<()> {
    let device = super::cpu()?;
    if args.seed_table {
        let rows = seed_table(&device);
        if args.json {
            let json: Vec<SeedRowJson> = rows.iter().map(SeedRowJson::from).collect();
            println!("{}", to_json(&json));
        } else {
            println!(
                "{:<48} {:>10} {:>18}",
                "block (28x28 output)", "params (M)", "multiply-adds (M)"
            );
            for r in rows {
                println!("{:<48} {:>10.2} {:>18}", r.block, r.params_m(), r.macs_m());
            }
        }
        return Ok(());
    }
    let names: Vec<&str> = if args.model == "all" {
        REGISTRY.iter().map(|m| m.name).collect()
    } else {
        vec![args.model.as_str()]
    };
    let mut summaries = Vec::new();
    for name in names {
        let config = ModelConfig::from_name(name)?;
        let s = summarize(&config, &device);
        if !args.json {
            println!("{}", s.to_table());
        }
        summaries.push(s);
    }
    if args.json {
        println!("{}", to_json(&summaries));
    } else if summaries.len() > 1 {
        println!("{:<18} {:>13} {:>16}", "model", "params", "multiply-adds");
        for s in &summaries {
            println!(
                "{:<18} {:>13} {:>14.1} M",
                s.name,
                group_thousands(s.params as u64),
                s.macs as f64 / 1e6
            );
        }
    }
    Ok(())
}
