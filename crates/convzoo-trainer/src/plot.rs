//! The training curves (train loss, train acc, test acc per epoch, as d2l plots them), as SVG
//! and PNG, drawn with plotters.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::metrics::{EpochMetrics, Metrics};

/// Fonts tried, in order, for the plots' text (plotters draws text with a font it is given).
const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// Registers a font for plotters' text, once; an error names the fonts looked for.
pub(crate) fn ensure_font() -> Result<()> {
    static FONT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *FONT.get_or_init(|| {
        FONTS
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .is_some_and(|bytes| {
                register_font(
                    "sans-serif",
                    FontStyle::Normal,
                    Box::leak(bytes.into_boxed_slice()),
                )
                .is_ok()
            })
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Plot(format!(
            "no font found for the plots (looked for {}); install fonts-dejavu-core",
            FONTS[0]
        )))
    }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, m: &Metrics) -> Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| Error::Plot(e.to_string());
    root.fill(&WHITE).map_err(err)?;
    let last = m.epochs.len().max(2) as f64;
    let top = m
        .epochs
        .iter()
        .map(|e| e.train_loss)
        .fold(1.0f64, f64::max)
        .min(10.0)
        * 1.05;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{} on {}", m.model, m.backend), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(1f64..last, 0f64..top)
        .map_err(err)?;
    chart.configure_mesh().x_desc("epoch").draw().map_err(err)?;
    type Series = (&'static str, RGBColor, fn(&EpochMetrics) -> f64);
    let series: [Series; 3] = [
        ("train loss", RGBColor(31, 119, 180), |e| e.train_loss),
        ("train acc", RGBColor(255, 127, 14), |e| e.train_acc),
        ("test acc", RGBColor(44, 160, 44), |e| e.test_acc),
    ];
    for (name, color, value) in series {
        let points: Vec<(f64, f64)> = m
            .epochs
            .iter()
            .map(|e| (e.epoch as f64, value(e).min(top)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Writes `curves.svg` and `curves.png` into `dir`, atomically.
pub fn write_curves(dir: &Path, m: &Metrics) -> Result<()> {
    ensure_font()?;
    let (w, h) = (720u32, 480u32);
    let mut svg = String::new();
    draw(
        SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area(),
        m,
    )?;
    write_atomic(&dir.join("curves.svg"), svg.as_bytes())?;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    draw(
        BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area(),
        m,
    )?;
    let png = png_bytes(&rgb, w, h, "curves.png")?;
    Ok(write_atomic(&dir.join("curves.png"), &png)?)
}

/// Encodes `w` x `h` RGB pixels as PNG bytes (`what` names the file in an error).
pub(crate) fn png_bytes(rgb: &[u8], w: u32, h: u32, what: &str) -> Result<Vec<u8>> {
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(rgb, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| Error::Plot(format!("{what}: {e}")))?;
    Ok(png)
}

use image::ImageEncoder;
