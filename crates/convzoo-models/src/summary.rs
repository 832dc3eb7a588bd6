//! Model summaries: per-layer output shapes, parameter counts and multiply-adds, like d2l's
//! layer summary; and the seed's GoogLeNet cost table, computed from real modules.

use std::fmt::Write;

use burn::tensor::{Device, Tensor};
use convzoo_blocks::init::{conv, conv_config};
use convzoo_blocks::{InceptionConfig, LayerShape, Probe, WeightInit, count_parameters};
use serde::Serialize;

use crate::ModelConfig;

/// The summary of one model for a batch of one image at its native input size.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Registry name.
    pub name: String,
    /// Input `[channels, height, width]`.
    pub input: [usize; 3],
    /// Number of trainable parameters.
    pub params: usize,
    /// Multiply-adds of the conv and linear layers for one image.
    pub macs: u64,
    /// Every top-level layer's output shape, in forward order (batch of one), named by its
    /// PyTorch key (`net.3`) and class (`Conv2d`), as d2l's `layer_summary` lists them.
    pub layers: Vec<LayerShape>,
}

/// Summarises the model of `config` at its registry input size, running on `device`.
pub fn summarize(config: &ModelConfig, device: &Device) -> Summary {
    let [_, h, w] = config.info().input;
    let c = config.in_channels();
    let model = config.init(device);
    let mut probe = Probe::on();
    model
        .forward_probed(Tensor::zeros([1, c, h, w], device), &mut probe)
        .expect("the registry input fits the model");
    Summary {
        name: config.name().to_string(),
        input: [c, h, w],
        params: count_parameters(&model),
        macs: probe.macs,
        layers: probe.layers,
    }
}

impl Summary {
    /// A text table: one row per layer, then the totals.
    pub fn to_table(&self) -> String {
        let [c, h, w] = self.input;
        let mut out = format!("{} (input {c}x{h}x{w})\n", self.name);
        let width = self
            .layers
            .iter()
            .map(|l| l.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let kinds = self
            .layers
            .iter()
            .map(|l| l.kind.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(out, "  {:width$}  {:kinds$}  output shape", "layer", "kind");
        for layer in &self.layers {
            let _ = writeln!(
                out,
                "  {:width$}  {:kinds$}  {:?}",
                layer.name, layer.kind, layer.output_shape
            );
        }
        let _ = writeln!(
            out,
            "  params: {}  multiply-adds: {:.1} M",
            group_thousands(self.params as u64),
            self.macs as f64 / 1e6
        );
        out
    }
}

/// `61706` -> `61,706`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// One row of the seed's GoogLeNet cost table.
#[derive(Clone, Debug, Serialize)]
pub struct SeedRow {
    /// What the row measures.
    pub block: String,
    /// Parameters.
    pub params: usize,
    /// Multiply-adds for one 28x28 output map.
    pub macs: u64,
}

impl SeedRow {
    /// Parameters in millions, truncated to two decimals as the book prints them.
    pub fn params_m(&self) -> f64 {
        (self.params as f64 / 1e4).floor() / 100.0
    }

    /// Multiply-adds in millions, truncated to whole millions as the book prints them.
    pub fn macs_m(&self) -> u64 {
        self.macs / 1_000_000
    }
}

/// The seed's table: an Inception block of GoogLeNet's stage 3 (192 input channels at 28x28)
/// against one 3x3 and one 5x5 convolution from 192 to 256 channels.
pub fn seed_table(device: &Device) -> Vec<SeedRow> {
    let x = || Tensor::<4>::zeros([1, 192, 28, 28], device);
    let inception = InceptionConfig::new(192, 64, (96, 128), (16, 32), 32).init(device);
    let mut probe = Probe::on();
    inception.forward_probed(x(), &mut probe);
    let mut rows = vec![SeedRow {
        block: "Inception(192 -> 64, (96, 128), (16, 32), 32)".into(),
        params: count_parameters(&inception),
        macs: probe.macs,
    }];
    for k in [3, 5] {
        let layer = conv(
            &conv_config(192, 256, k, 1, k / 2),
            WeightInit::Default,
            device,
        );
        let mut probe = Probe::on();
        probe.conv(&layer, x());
        rows.push(SeedRow {
            block: format!("conv {k}x{k}, 192 -> 256"),
            params: count_parameters(&layer),
            macs: probe.macs,
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(group_thousands(61_706), "61,706");
        assert_eq!(group_thousands(128_806_154), "128,806,154");
        assert_eq!(group_thousands(706), "706");
    }
}
