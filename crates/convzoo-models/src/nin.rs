//! Network in Network (Lin, Chen & Yan, 2013), d2l section 8.3.
//!
//! Three NiN blocks with max-pooling, dropout, and a last NiN block with one channel per class
//! whose global average is the logit: no fully connected layer.

use burn::config::Config;
use burn::nn::DropoutConfig;
use burn::nn::pool::MaxPool2dConfig;
use burn::tensor::Device;
use convzoo_blocks::{NinBlockConfig, Sequential, WeightInit};

use crate::SizeRule;
use crate::registry::{Arch, Architecture, ModelInfo, Recipe, common_fields};

/// `nin`: d2l's NiN.
pub const NIN: ModelInfo = ModelInfo {
    name: "nin",
    title: "Network in Network",
    d2l_section: "8.3",
    input: [1, 224, 224],
    recipe: Recipe::d2l(0.1, 128, 224),
    bench_batch: 32,
    pytorch: Some("nin"),
    config: || Arch::NiN(NiNConfig::new()),
};

/// (kernel, stride, padding) of the four blocks' first convolutions; the first three blocks are
/// followed by a 3x3 max-pool with stride 2.
const BLOCKS: [(usize, usize, usize); 4] = [(11, 4, 0), (5, 1, 2), (3, 1, 1), (3, 1, 1)];

/// Configuration of d2l's NiN (224x224 in d2l; it ends in global pooling, so any size from
/// the smallest the layers allow, 67x67, works).
///
/// # Shapes
/// - input: `[N, in_channels, H, W]`, H and W >= 67
/// - output: `[N, num_classes]`
#[derive(Config, Debug)]
pub struct NiNConfig {
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Number of classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Dropout probability before the last block.
    #[config(default = 0.5)]
    pub dropout: f64,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
}

/// The side of the last block's output for an input side `s`, if every layer fits.
fn output_side(s: usize) -> Option<usize> {
    let pool = |x: usize| x.checked_sub(3).map(|x| x / 2 + 1);
    let mut x = s;
    for (i, (k, stride, p)) in BLOCKS.into_iter().enumerate() {
        x = (x + 2 * p).checked_sub(k)? / stride + 1;
        if i < 3 {
            x = pool(x)?;
        }
    }
    Some(x)
}

impl Architecture for NiNConfig {
    common_fields!();

    fn set_dropout(&mut self, p: f64) {
        self.dropout = p;
    }

    fn size_rule(&self) -> SizeRule {
        let smallest = (1..1024).find(|&s| output_side(s).is_some());
        SizeRule::AtLeast(smallest.expect("NiN takes some input size below 1024"))
    }

    fn build(&self, device: &Device) -> Sequential {
        let channels = [96, 256, 384, self.num_classes];
        let mut net = Sequential::new();
        let mut c_in = self.in_channels;
        for (i, ((k, s, p), c)) in BLOCKS.into_iter().zip(channels).enumerate() {
            if i == 3 {
                net = net.push(DropoutConfig::new(self.dropout).init());
            }
            let block = NinBlockConfig::new(c_in, c, k, s, p).with_init(self.init);
            net = net.push(block.init(device));
            if i < 3 {
                net = net.push(MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).init());
            }
            c_in = c;
        }
        net.global_avg_pool().flatten() // N x classes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_input_is_what_the_layers_allow() {
        assert_eq!(NiNConfig::new().size_rule(), SizeRule::AtLeast(67));
        assert_eq!(output_side(224), Some(5));
    }
}
