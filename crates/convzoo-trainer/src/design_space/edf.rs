//! The error empirical distribution function of a design space (d2l section 8.8):
//! `F(e) = (1/n) #{i : e_i < e}`, the share of its sampled networks with an error below `e`,
//! as a CSV and a plot of one step curve per space.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Sample;
use super::space::Space;
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::plot::{ensure_font, png_bytes};

/// The step points of the EDF of `errors`: `(e, F(e))` just after each error, sorted.
pub fn edf(errors: &[f64]) -> Vec<(f64, f64)> {
    let mut sorted = errors.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, &e)| (e, (i + 1) as f64 / n))
        .collect()
}

/// Each space with the test errors of its finished samples.
fn errors_by_space(samples: &[Sample]) -> Vec<(Space, Vec<f64>)> {
    let mut spaces: Vec<Space> = samples.iter().map(|s| s.space).collect();
    spaces.sort();
    spaces.dedup();
    spaces
        .into_iter()
        .map(|space| {
            let errors = samples
                .iter()
                .filter(|s| s.space == space)
                .map(|s| s.test_error)
                .collect();
            (space, errors)
        })
        .collect()
}

/// `edf.csv`: `space,error,fraction`, the step points of every space's EDF.
pub fn csv(samples: &[Sample]) -> String {
    let mut out = String::from("space,error,fraction\n");
    for (space, errors) in errors_by_space(samples) {
        for (e, f) in edf(&errors) {
            out.push_str(&format!("{},{e:.6},{f:.6}\n", space.title()));
        }
    }
    out
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, samples: &[Sample]) -> Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| Error::Plot(e.to_string());
    root.fill(&WHITE).map_err(err)?;
    let curves = errors_by_space(samples);
    let all = curves.iter().flat_map(|(_, e)| e.iter().copied());
    let (lo, hi) = all.fold((1.0f64, 0.0f64), |(lo, hi), e| (lo.min(e), hi.max(e)));
    let (lo, hi) = ((lo - 0.02).max(0.0), (hi + 0.02).min(1.0).max(lo + 0.05));
    let mut chart = ChartBuilder::on(&root)
        .caption("Error EDF of AnyNet design spaces", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(lo..hi, 0.0..1.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("test error")
        .y_desc("cumulative share of networks")
        .draw()
        .map_err(err)?;
    let colors = [BLUE, RED, GREEN, MAGENTA, BLACK];
    for (space, errors) in &curves {
        let color = colors[*space as usize];
        // A step curve: flat until each error, then up by 1/n.
        let mut points = vec![(lo, 0.0)];
        let mut below = 0.0;
        for (e, f) in edf(errors) {
            points.extend([(e, below), (e, f)]);
            below = f;
        }
        points.push((hi, below));
        let label = format!("{} (n={})", space.title(), errors.len());
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Writes `edf.csv`, `edf.svg` and `edf.png` into `dir`, atomically.
pub fn write(dir: &Path, samples: &[Sample]) -> Result<()> {
    write_atomic(&dir.join("edf.csv"), csv(samples).as_bytes())?;
    ensure_font()?;
    let (w, h) = (720u32, 480u32);
    let mut svg = String::new();
    draw(
        SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area(),
        samples,
    )?;
    write_atomic(&dir.join("edf.svg"), svg.as_bytes())?;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    draw(
        BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area(),
        samples,
    )?;
    let png = png_bytes(&rgb, w, h, "edf.png")?;
    Ok(write_atomic(&dir.join("edf.png"), &png)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edf_steps_up_by_one_over_n_at_each_error() {
        assert_eq!(
            edf(&[0.3, 0.1, 0.2, 0.4]),
            [(0.1, 0.25), (0.2, 0.5), (0.3, 0.75), (0.4, 1.0)]
        );
        assert!(edf(&[]).is_empty());
    }
}
