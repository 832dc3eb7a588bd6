//! The comparison's tables: one row per model, each figure the median over the rounds and each
//! ratio the median of the rounds' own ratios, printed for a terminal or in BENCHMARKS.md's
//! Markdown format.

use super::compare::Comparison;
use super::measure::median;

/// One model's figures over every round.
pub(super) struct Row {
    model: String,
    batch: usize,
    train: f64,
    infer: f64,
    peak_mb: f64,
    torch_train: Option<f64>,
    torch_infer: Option<f64>,
    torch_peak_mb: Option<f64>,
    ort_infer: Option<f64>,
    /// Median ratios: train and infer against PyTorch, infer against ONNX Runtime.
    ratios: [Option<f64>; 3],
    /// Each round's ratios, in the same order.
    rounds: Vec<[Option<f64>; 3]>,
}

/// The median of the values that are there, if any is.
fn median_of(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.flatten().collect();
    (!v.is_empty()).then(|| median(v))
}

/// One row per model of the first round, in its order, from `all` (one entry per round).
pub(super) fn medians(all: &[Vec<Comparison>]) -> Vec<Row> {
    let Some(first) = all.first() else {
        return Vec::new();
    };
    first
        .iter()
        .map(|c| {
            let model = &c.ours.model;
            let runs: Vec<&Comparison> = all
                .iter()
                .filter_map(|round| round.iter().find(|r| &r.ours.model == model))
                .collect();
            let ratio = |ours: f64, theirs: Option<f64>| theirs.map(|t| ours / t);
            let rounds: Vec<[Option<f64>; 3]> = runs
                .iter()
                .map(|r| {
                    let torch = r.pytorch.as_ref();
                    [
                        ratio(
                            r.ours.train_images_per_sec,
                            torch.map(|t| t.train_images_per_sec),
                        ),
                        ratio(
                            r.ours.infer_images_per_sec,
                            torch.map(|t| t.infer_images_per_sec),
                        ),
                        ratio(
                            r.ours.infer_images_per_sec,
                            r.onnx.as_ref().map(|o| o.infer_images_per_sec),
                        ),
                    ]
                })
                .collect();
            let ours = |f: fn(&Comparison) -> Option<f64>| median_of(runs.iter().map(|r| f(r)));
            let mb = |bytes: u64| (bytes > 0).then_some(bytes as f64 / 1e6);
            Row {
                model: model.clone(),
                batch: c.ours.batch_size,
                train: ours(|r| Some(r.ours.train_images_per_sec)).unwrap_or(f64::NAN),
                infer: ours(|r| Some(r.ours.infer_images_per_sec)).unwrap_or(f64::NAN),
                peak_mb: ours(|r| Some(r.ours.peak_rss_bytes as f64 / 1e6)).unwrap_or(f64::NAN),
                torch_train: ours(|r| r.pytorch.as_ref().map(|t| t.train_images_per_sec)),
                torch_infer: ours(|r| r.pytorch.as_ref().map(|t| t.infer_images_per_sec)),
                torch_peak_mb: median_of(
                    runs.iter()
                        .map(|r| r.pytorch.as_ref().and_then(|t| mb(t.peak_rss_bytes))),
                ),
                ort_infer: ours(|r| r.onnx.as_ref().map(|o| o.infer_images_per_sec)),
                ratios: [0, 1, 2].map(|k| median_of(rounds.iter().map(|r| r[k]))),
                rounds,
            }
        })
        .collect()
}

/// The terminal table.
pub(super) fn print(rows: &[Row]) {
    println!(
        "{:<18} {:>6} {:>12} {:>12} {:>10} {:>12} {:>12} {:>8} {:>8} {:>10} {:>6}",
        "model",
        "batch",
        "train img/s",
        "infer img/s",
        "peak MB",
        "torch train",
        "torch infer",
        "train x",
        "infer x",
        "ORT infer",
        "x ORT"
    );
    let or_dash = |v: Option<f64>, digits: usize| match v {
        Some(v) => format!("{v:.digits$}"),
        None => "-".into(),
    };
    for r in rows {
        println!(
            "{:<18} {:>6} {:>12.1} {:>12.1} {:>10.0} {:>12} {:>12} {:>8} {:>8} {:>10} {:>6}",
            r.model,
            r.batch,
            r.train,
            r.infer,
            r.peak_mb,
            or_dash(r.torch_train, 1),
            or_dash(r.torch_infer, 1),
            or_dash(r.ratios[0], 2),
            or_dash(r.ratios[1], 2),
            or_dash(r.ort_infer, 1),
            or_dash(r.ratios[2], 2)
        );
    }
}

/// `v` as BENCHMARKS.md prints a throughput: thousands grouped and no decimals from 1,000 up,
/// one decimal below.
fn figure(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if (v * 10.0).round() < 10_000.0 {
        return format!("{v:.1}");
    }
    grouped(v.round() as u64)
}

/// `n` with its thousands separated by commas.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// The tables of BENCHMARKS.md: the medians, and with several rounds each round's ratios.
pub(super) fn markdown(all: &[Vec<Comparison>]) -> String {
    let rows = medians(all);
    let dash = |v: Option<f64>, f: fn(f64) -> String| v.map_or("-".into(), f);
    let ratio = |v: f64| format!("{v:.2}");
    let mb = |v: f64| grouped(v.round() as u64);
    let mut out = String::from(
        "| model | batch | train | PyTorch train | train x | infer | PyTorch infer | infer x | \
         ORT infer | infer x ORT | peak MB | PyTorch peak MB |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in &rows {
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.model,
            r.batch,
            figure(r.train),
            dash(r.torch_train, figure),
            dash(r.ratios[0], ratio),
            figure(r.infer),
            dash(r.torch_infer, figure),
            dash(r.ratios[1], ratio),
            dash(r.ort_infer, figure),
            dash(r.ratios[2], ratio),
            mb(r.peak_mb),
            dash(r.torch_peak_mb, mb),
        );
    }
    if all.len() > 1 {
        out += "\n| model | train x, each round | infer x, each round | infer x ORT, each round |\n\
                |---|---|---|---|\n";
        for r in &rows {
            let each = |k: usize| {
                r.rounds
                    .iter()
                    .map(|round| dash(round[k], ratio))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            out += &format!(
                "| {} | {} | {} | {} |\n",
                r.model,
                each(0),
                each(1),
                each(2)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::bench::measure::BenchResult;

    fn result(model: &str, backend: &str, train: f64, infer: f64, mb: u64) -> BenchResult {
        BenchResult {
            model: model.into(),
            backend: backend.into(),
            batch_size: 32,
            train_images_per_sec: train,
            infer_images_per_sec: infer,
            peak_rss_bytes: mb * 1_000_000,
        }
    }

    fn round(ours_train: f64, torch_train: f64) -> Vec<Comparison> {
        vec![Comparison {
            ours: result("alexnet", "flex", ours_train, 2000.0, 887),
            pytorch: Some(result("alexnet", "pytorch", torch_train, 1000.0, 1367)),
            onnx: Some(result("alexnet", "onnxruntime", 0.0, 4000.0, 0)),
        }]
    }

    #[test]
    fn figures_are_medians_and_ratios_medians_of_each_rounds_ratio() {
        // Rounds' train ratios 2.0, 0.5, 1.5: their median 1.5 is not 30 / 20.
        let all = vec![round(20.0, 10.0), round(10.0, 20.0), round(30.0, 20.0)];
        let md = markdown(&all);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(
            lines[2],
            "| alexnet | 32 | 20.0 | 20.0 | 1.50 | 2,000 | 1,000 | 2.00 | 4,000 | 0.50 | 887 | 1,367 |"
        );
        assert_eq!(
            lines[6],
            "| alexnet | 2.00 0.50 1.50 | 2.00 2.00 2.00 | 0.50 0.50 0.50 |"
        );
    }

    #[test]
    fn missing_peers_are_dashes_and_one_round_has_no_ratio_table() {
        let mut one = round(20.0, 10.0);
        one[0].pytorch = None;
        one[0].onnx = None;
        let md = markdown(&[one]);
        assert_eq!(md.lines().count(), 3, "{md}");
        assert!(
            md.ends_with("| alexnet | 32 | 20.0 | - | - | 2,000 | - | - | - | - | 887 | - |\n")
        );
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(
            (figure(999.94), figure(999.96)),
            ("999.9".into(), "1,000".into())
        );
    }
}
