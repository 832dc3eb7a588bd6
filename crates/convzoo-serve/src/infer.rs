//! What the API computes for an uploaded image: the top-5 classes (`/api/predict`), and with
//! them every top-level layer's output shape, time and first feature maps (`/api/inspect`).

use std::io::Cursor;
use std::path::Path;
use std::time::Instant;

use base64::Engine;
use burn::tensor::Tensor;
use convzoo_blocks::Probe;
use serde_json::{Value, json};

use crate::catalog::{Catalog, Entry};
use crate::error::{Error, Result};

/// Feature maps shown per layer.
pub const MAPS_PER_LAYER: usize = 8;

/// The model's input for the upload `bytes`, read as the run's training images were.
fn input(
    catalog: &Catalog,
    entry: &Entry,
    bytes: &[u8],
) -> Result<(Tensor<4>, std::sync::Arc<convzoo_run::Run>)> {
    let run = entry.run(catalog.device())?;
    let pixels =
        run.decode_image(bytes, Path::new("upload")).map_err(|e| {
            match image::guess_format(bytes) {
                Ok(_) => Error::BadImage(e.to_string()),
                Err(_) => Error::NotAnImage(e.to_string()),
            }
        })?;
    Ok((run.input(pixels, catalog.device()), run))
}

fn top5(run: &convzoo_run::Run, logits: Tensor<2>) -> Result<Value> {
    let ranked = run.rank(logits)?;
    Ok(ranked
        .into_iter()
        .take(5)
        .map(|(_, name, prob)| json!({"name": name, "prob": prob}))
        .collect())
}

/// `POST /api/predict`: `{"model", "run", "classes": [{"name", "prob"}], "ms"}`.
pub fn predict(catalog: &Catalog, entry: &Entry, bytes: &[u8]) -> Result<Value> {
    let started = Instant::now();
    let (x, run) = input(catalog, entry, bytes)?;
    let classes = top5(&run, run.model.forward(x))?;
    Ok(json!({
        "model": entry.spec.model,
        "run": entry.name,
        "classes": classes,
        "ms": started.elapsed().as_secs_f64() * 1e3,
    }))
}

/// `values` (`[C, H, W]` planes, `c` of them shown) as a PNG: grey for one channel, RGB for three;
/// each channel stretched from its minimum to its maximum.
fn png(values: &[f32], channels: usize, h: usize, w: usize) -> String {
    let plane = h * w;
    let stretch = |p: &[f32]| -> Vec<u8> {
        let (lo, hi) = p
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let span = if hi > lo { hi - lo } else { 1.0 };
        p.iter()
            .map(|&v| ((v - lo) / span * 255.0).round() as u8)
            .collect()
    };
    let img = if channels == 3 {
        let planes: Vec<Vec<u8>> = (0..3)
            .map(|c| stretch(&values[c * plane..(c + 1) * plane]))
            .collect();
        let rgb: Vec<u8> = (0..plane)
            .flat_map(|i| [planes[0][i], planes[1][i], planes[2][i]])
            .collect();
        image::DynamicImage::ImageRgb8(
            image::RgbImage::from_raw(w as u32, h as u32, rgb).expect("size"),
        )
    } else {
        let grey = stretch(&values[..plane]);
        image::DynamicImage::ImageLuma8(
            image::GrayImage::from_raw(w as u32, h as u32, grey).expect("size"),
        )
    };
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("PNG encoding to memory");
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// `POST /api/inspect`: the prediction, the input as the model sees it, and per top-level
/// layer its output shape, milliseconds and first feature maps.
pub fn inspect(catalog: &Catalog, entry: &Entry, bytes: &[u8]) -> Result<Value> {
    let started = Instant::now();
    let (x, run) = input(catalog, entry, bytes)?;
    let [_, c, h, w] = x.dims();
    let seen: Vec<f32> = x
        .clone()
        .into_data()
        .try_to_vec::<f32>()
        .map_err(convzoo_run::Error::burn)?;
    let mut probe = Probe::timed().with_outputs();
    let logits = run
        .model
        .forward_probed(x, &mut probe)
        .map_err(convzoo_run::Error::from)?;
    let classes = top5(&run, logits)?;
    let seconds = probe.seconds.unwrap_or_default();
    let outputs = probe.outputs.unwrap_or_default();
    let layers: Vec<Value> = probe
        .layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let maps: Vec<String> = match (layer.output_shape.as_slice(), outputs.get(i)) {
                (&[_, channels, lh, lw], Some(values)) if lh * lw > 1 => (0..channels
                    .min(MAPS_PER_LAYER))
                    .map(|ch| png(&values[ch * lh * lw..(ch + 1) * lh * lw], 1, lh, lw))
                    .collect(),
                _ => vec![],
            };
            json!({
                "name": layer.name,
                "layer": layer.kind,
                "shape": layer.output_shape,
                "ms": seconds.get(i).copied().unwrap_or(0.0) * 1e3,
                "maps": maps,
            })
        })
        .collect();
    Ok(json!({
        "model": entry.spec.model,
        "run": entry.name,
        "classes": classes,
        "ms": started.elapsed().as_secs_f64() * 1e3,
        "input": {"shape": [c, h, w], "png": png(&seen, c, h, w)},
        "layers": layers,
    }))
}
