//! The confusion matrix of a model on a test set: per-class accuracy, a text table and a PNG
//! (`confusion.png`, drawn with plotters).

use std::path::Path;

use burn::tensor::Device;
use convzoo_datasets::{ImageBatcher, ImageSet, batch_ranges};
use convzoo_models::Model;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::files::write_atomic;

/// Counts of (true class, predicted class).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confusion {
    /// Class names, by label.
    pub classes: Vec<String>,
    /// `counts[truth][predicted]`.
    pub counts: Vec<Vec<u64>>,
}

impl Confusion {
    /// Runs `model` (in inference mode, on `device`) over `set` and counts its predictions.
    pub fn of(
        model: &Model,
        set: &ImageSet,
        batcher: &ImageBatcher,
        batch_size: usize,
        device: &Device,
    ) -> Result<Confusion> {
        let n = set.classes().len();
        let mut counts = vec![vec![0u64; n]; n];
        let order: Vec<usize> = (0..set.len()).collect();
        for r in batch_ranges(set.len(), batch_size) {
            let batch = batcher.batch_indices(set, &order[r.clone()], device, 0);
            let predicted = model
                .forward(batch.images)
                .argmax(1)
                .into_data()
                .convert::<i64>()
                .try_into_vec::<i64>()
                .map_err(Error::burn)?;
            for (&i, p) in order[r].iter().zip(predicted) {
                // A model with more outputs than classes (an imported one) counts as wrong.
                let p = (p as usize).min(n - 1);
                counts[set.label(i)][p] += 1;
            }
        }
        Ok(Confusion {
            classes: set.classes().to_vec(),
            counts,
        })
    }

    /// Images counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// The share of images classified correctly.
    pub fn accuracy(&self) -> f64 {
        let right: u64 = (0..self.counts.len()).map(|i| self.counts[i][i]).sum();
        right as f64 / self.total().max(1) as f64
    }

    /// Per class: (images of the class, share classified correctly).
    pub fn per_class(&self) -> Vec<(u64, f64)> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let n: u64 = row.iter().sum();
                (n, row[i] as f64 / n.max(1) as f64)
            })
            .collect()
    }

    /// Per-class accuracy, then the matrix (rows: true class, columns: predicted), as text.
    pub fn table(&self) -> String {
        let width = self
            .classes
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(5)
            .max(5);
        let mut out = format!("{:width$}  images  accuracy\n", "class");
        for (name, (n, acc)) in self.classes.iter().zip(self.per_class()) {
            out += &format!("{name:width$}  {n:>6}  {acc:>8.4}\n");
        }
        let cell = self
            .counts
            .iter()
            .flatten()
            .map(|c| c.to_string().len())
            .max()
            .unwrap_or(1)
            .max(self.classes.len().to_string().len())
            + 2;
        let labels: Vec<String> = (0..self.classes.len())
            .map(|i| format!("{i} {}", self.classes[i]))
            .collect();
        let width = labels.iter().map(String::len).max().unwrap_or(1);
        out += &format!(
            "\nconfusion (rows: true class, columns: predicted)\n{:width$}",
            ""
        );
        for j in 0..self.classes.len() {
            out += &format!("{j:>cell$}");
        }
        out.push('\n');
        for (label, row) in labels.iter().zip(&self.counts) {
            out += &format!("{label:width$}");
            for c in row {
                out += &format!("{c:>cell$}");
            }
            out.push('\n');
        }
        out
    }

    /// Draws the matrix as a PNG (cell shade: share of the true class), written atomically.
    pub fn write_png(&self, path: &Path, title: &str) -> Result<()> {
        crate::plot::ensure_font()?;
        let n = self.classes.len().max(1);
        let side = (60 + 36 * n).clamp(320, 1400) as u32;
        let (w, h) = (side + 160, side + 120);
        let mut pixels = vec![0u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
            self.draw(root, title)
                .map_err(|e| Error::Plot(format!("confusion matrix: {e}")))?;
        }
        let png = crate::plot::png_bytes(&pixels, w, h, "confusion.png")?;
        Ok(write_atomic(path, &png)?)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
        title: &str,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let n = self.classes.len();
        let label = |i: &usize| self.classes.get(*i).cloned().unwrap_or_default();
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(70)
            .y_label_area_size(130)
            .build_cartesian_2d((0..n).into_segmented(), (0..n).into_segmented())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("predicted")
            .y_desc("true class")
            .x_labels(n)
            .y_labels(n)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => label(i),
                _ => String::new(),
            })
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => label(&(n - 1 - i)),
                _ => String::new(),
            })
            .draw()?;
        for (t, row) in self.counts.iter().enumerate() {
            let total = row.iter().sum::<u64>().max(1) as f64;
            for (p, &count) in row.iter().enumerate() {
                let share = count as f64 / total;
                let shade = (255.0 * (1.0 - share)) as u8;
                // Rows are drawn top-down: class 0 at the top.
                let y = n - 1 - t;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(p), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(p + 1), SegmentValue::Exact(y + 1)),
                    ],
                    RGBColor(shade, shade, 255).filled(),
                )))?;
                chart.draw_series(std::iter::once(Text::new(
                    count.to_string(),
                    (SegmentValue::CenterOf(p), SegmentValue::CenterOf(y)),
                    ("sans-serif", 13)
                        .into_font()
                        .color(if share > 0.6 { &WHITE } else { &BLACK }),
                )))?;
            }
        }
        root.present()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_per_class_and_table() {
        let c = Confusion {
            classes: vec!["cat".into(), "dog".into()],
            counts: vec![vec![3, 1], vec![0, 4]],
        };
        assert_eq!(c.total(), 8);
        assert_eq!(c.accuracy(), 7.0 / 8.0);
        assert_eq!(c.per_class(), vec![(4, 0.75), (4, 1.0)]);
        let t = c.table();
        assert!(t.contains("cat         4    0.7500"), "{t}");
        assert!(t.contains("\n0 cat  3  1\n"), "{t}");
    }
}
