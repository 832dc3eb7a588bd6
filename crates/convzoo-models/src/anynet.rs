//! AnyNet (Radosavovic et al., 2020, "Designing network design spaces"), d2l section 8.8: a
//! stem, stages of ResNeXt blocks, a head. The stages are data ([`AnyNetStage`]: depth, width,
//! group width, bottleneck ratio), so any AnyNet trains from a configuration file
//! ([`AnyNetStages`], registry model `anynet`); `regnetx32` is d2l's RegNetX-32.

use burn::config::Config;
use burn::tensor::Device;
use convzoo_blocks::init::{conv, conv_config, linear};
use convzoo_blocks::{AnyBatchNorm, BatchNormKind, ResNeXtBlockConfig, Sequential, WeightInit};
use serde::{Deserialize, Serialize};

use crate::registry::{Arch, Architecture, ModelInfo, Recipe, common_fields};
use crate::{Error, SizeRule};

/// One stage of an AnyNet: `depth` ResNeXt blocks of `width` channels; the first halves the
/// size with a strided 1x1 shortcut.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnyNetStage {
    /// Number of blocks.
    pub depth: usize,
    /// Output channels of every block.
    pub width: usize,
    /// Channels per group of the grouped 3x3 convolutions (d2l's `groups`).
    pub group_width: usize,
    /// Bottleneck ratio (d2l's `bot_mul`).
    pub bot_mul: f64,
}

/// RegNetX-32's stages: depths (4, 6), widths (32, 80), group width 16, bottleneck ratio 1.
pub const REGNETX32_STAGES: [AnyNetStage; 2] = [
    AnyNetStage {
        depth: 4,
        width: 32,
        group_width: 16,
        bot_mul: 1.0,
    },
    AnyNetStage {
        depth: 6,
        width: 80,
        group_width: 16,
        bot_mul: 1.0,
    },
];

/// `regnetx32`: d2l's RegNetX-32 (stem 32 channels), trained at lr 0.05, batch 128, 96x96.
pub const REGNETX32: ModelInfo = ModelInfo {
    name: "regnetx32",
    title: "RegNetX-32",
    d2l_section: "8.8",
    input: [1, 96, 96],
    recipe: Recipe::d2l(0.05, 128, 96),
    bench_batch: 64,
    pytorch: Some("regnetx32"),
    config: || Arch::AnyNet(AnyNetConfig::new(32, REGNETX32_STAGES.to_vec())),
};

/// Configuration of an AnyNet (any input size: it ends in global pooling; d2l uses 96x96).
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`
/// - output: `[N, num_classes]`
#[derive(Config, Debug)]
pub struct AnyNetConfig {
    /// Output channels of the stem (a 3x3 stride-2 convolution, batch norm, ReLU).
    pub stem_channels: usize,
    /// The stages, in order.
    pub stages: Vec<AnyNetStage>,
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Number of classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
    /// Batch-norm implementation.
    #[config(default = "BatchNormKind::Burn")]
    pub batch_norm: BatchNormKind,
}

/// `anynet`: an AnyNet whose stem width and stages a user gives (`convzoo train --anynet
/// FILE`); without them, RegNetX-32's.
pub const ANYNET: ModelInfo = ModelInfo {
    name: "anynet",
    title: "AnyNet",
    d2l_section: "8.8",
    input: [1, 96, 96],
    recipe: Recipe::d2l(0.05, 128, 96),
    bench_batch: 64,
    pytorch: None,
    config: || Arch::AnyNet(AnyNetConfig::new(32, REGNETX32_STAGES.to_vec())),
};

/// The part of an AnyNet a user writes in a file (JSON): `{"stem_channels": 32, "stages":
/// [{"depth": 4, "width": 32, "group_width": 16, "bot_mul": 1.0}, ...]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnyNetStages {
    /// Output channels of the stem.
    pub stem_channels: usize,
    /// The stages, in order.
    pub stages: Vec<AnyNetStage>,
}

impl AnyNetStages {
    /// Reads them from JSON and checks them ([`AnyNetConfig::check`]): an unknown key, a
    /// missing one or a bad value is an error naming it.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let stages: Self = serde_json::from_str(text).map_err(|e| Error::Architecture {
            model: "anynet".into(),
            reason: e.to_string(),
        })?;
        AnyNetConfig::new(stages.stem_channels, stages.stages.clone()).check()?;
        Ok(stages)
    }
}

impl AnyNetConfig {
    /// This configuration with the stem width and stages of `s`.
    pub fn with_stages_of(self, s: &AnyNetStages) -> Self {
        Self {
            stem_channels: s.stem_channels,
            stages: s.stages.clone(),
            ..self
        }
    }

    /// The blocks of stage `index` (from 0), in order.
    fn stage_blocks(&self, index: usize) -> Vec<ResNeXtBlockConfig> {
        let mut c_in = match index {
            0 => self.stem_channels,
            i => self.stages[i - 1].width,
        };
        let s = self.stages[index];
        (0..s.depth)
            .map(|b| {
                let block = ResNeXtBlockConfig::new(c_in, s.width, s.group_width)
                    .with_bot_mul(s.bot_mul)
                    .with_use_1x1conv(b == 0)
                    .with_stride(if b == 0 { 2 } else { 1 })
                    .with_init(self.init)
                    .with_batch_norm(self.batch_norm);
                c_in = s.width;
                block
            })
            .collect()
    }

    /// Whether the network can be built: a stem and at least one stage, every stage at least
    /// one block of at least one channel, and every block's bottleneck and groups valid. The
    /// error names the stage (from 1, as d2l's `stage1`) and the value.
    pub fn check(&self) -> Result<(), Error> {
        let bad = |reason: String| {
            Err(Error::Architecture {
                model: "anynet".into(),
                reason,
            })
        };
        if self.stem_channels == 0 {
            return bad("stem_channels is 0; the stem needs at least one channel".into());
        }
        if self.stages.is_empty() {
            return bad("no stages; an AnyNet needs at least one".into());
        }
        for (i, s) in self.stages.iter().enumerate() {
            let stage = i + 1;
            if s.depth == 0 {
                return bad(format!(
                    "stage{stage}: depth 0; a stage needs at least one block"
                ));
            }
            if s.width == 0 {
                return bad(format!("stage{stage}: width 0"));
            }
            if !(s.bot_mul.is_finite() && s.bot_mul > 0.0) {
                return bad(format!(
                    "stage{stage}: bot_mul {} must be a positive number",
                    s.bot_mul
                ));
            }
            if let Some(problem) = self.stage_blocks(i).iter().find_map(|b| b.problem()) {
                return bad(format!("stage{stage}: {problem}"));
            }
        }
        Ok(())
    }
}

impl Architecture for AnyNetConfig {
    common_fields!();

    fn set_batch_norm(&mut self, kind: BatchNormKind) {
        self.batch_norm = kind;
    }

    fn size_rule(&self) -> SizeRule {
        SizeRule::AtLeast(1)
    }

    /// # Panics
    /// If [`check`](AnyNetConfig::check) fails (configurations from files are checked when
    /// read).
    fn build(&self, device: &Device) -> Sequential {
        if let Err(e) = self.check() {
            panic!("{e}");
        }
        let c = self.stem_channels;
        let stem = Sequential::new()
            .push(conv(
                &conv_config(self.in_channels, c, 3, 2, 1),
                self.init,
                device,
            ))
            .push(AnyBatchNorm::new(self.batch_norm, c, device))
            .relu();
        let mut net = Sequential::new().push(stem);
        for i in 0..self.stages.len() {
            let stage = self
                .stage_blocks(i)
                .iter()
                .fold(Sequential::new(), |stage, b| stage.push(b.init(device)));
            net = net.push_named(format!("stage{}", i + 1), stage);
        }
        let width = self.stages.last().map_or(c, |s| s.width);
        let head = Sequential::new().global_avg_pool().flatten().push(linear(
            width,
            self.num_classes,
            self.init,
            device,
        ));
        net.push_named("head", head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(depth: usize, width: usize, group_width: usize, bot_mul: f64) -> AnyNetStage {
        AnyNetStage {
            depth,
            width,
            group_width,
            bot_mul,
        }
    }

    fn error(stages: Vec<AnyNetStage>) -> String {
        AnyNetConfig::new(16, stages)
            .check()
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_stages_are_named_with_their_value() {
        let ok = stage(1, 16, 8, 1.0);
        assert!(error(vec![ok, stage(0, 32, 8, 1.0)]).contains("stage2: depth 0"));
        assert!(error(vec![stage(1, 16, 8, 0.01)]).contains("stage1: the bottleneck"));
        assert!(error(vec![ok, stage(2, 32, 64, 1.0)]).contains("stage2: group width 64"));
        // 50 / 16 = 3 groups do not divide 50.
        assert!(error(vec![stage(1, 50, 16, 1.0)]).contains("stage1: 3 groups"));
        assert!(error(vec![stage(1, 16, 8, -1.0)]).contains("stage1: bot_mul -1"));
        assert!(error(vec![]).contains("no stages"));
    }

    #[test]
    fn reads_a_file_and_refuses_unknown_keys() {
        let text = r#"{"stem_channels": 8, "stages": [
            {"depth": 2, "width": 16, "group_width": 8, "bot_mul": 0.5}]}"#;
        let config = AnyNetStages::from_json(text).unwrap();
        assert_eq!(config.stages, [stage(2, 16, 8, 0.5)]);
        let typo = text.replace("\"depth\"", "\"deep\"");
        let err = AnyNetStages::from_json(&typo).unwrap_err().to_string();
        assert!(err.contains("unknown field `deep`"), "{err}");
        assert!(!err.contains('\n'));
        let zero = text.replace("\"depth\": 2", "\"depth\": 0");
        let err = AnyNetStages::from_json(&zero).unwrap_err().to_string();
        assert!(err.contains("stage1: depth 0"), "{err}");
    }
}
