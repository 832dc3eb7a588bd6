//! Architectures as data: a [`Sequential`] of [`Layer`]s, as PyTorch's `nn.Sequential`.
//!
//! A model is one `Sequential` built from its table; its forward pass, its summary, its
//! multiply-add count and its PyTorch `state_dict` keys all come from walking it. A layer's
//! PyTorch key is the name it was pushed under ([`Sequential::push_named`], as PyTorch's
//! `add_module`) or its position ([`Sequential::push`], as `nn.Sequential(...)` numbers its
//! children), never a table kept elsewhere.

use crate::activation::{relu, sigmoid};
use crate::any_batch_norm::AnyBatchNorm;
use crate::conv::Activation;
use crate::dense::DenseBlock;
use crate::dropout::dropout;
pub use crate::features::Features;
use crate::inception::Inception;
use crate::probe::Probe;
use crate::residual::Residual;
use crate::resnext::ResNeXtBlock;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AdaptiveAvgPool2d, AvgPool2d, MaxPool2d};
use burn::nn::{Dropout, Linear};
use burn::tensor::Tensor;

/// `[N, C, H, W] -> [N, C H W]` (PyTorch's `nn.Flatten`).
#[derive(Module, Debug, Default)]
pub struct Flatten;

/// One layer of a [`Sequential`]: a Burn layer, an activation, or one of d2l's blocks.
///
/// Its PyTorch class name is [`Layer::kind`].
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Layer {
    /// `nn.Conv2d` (through the flex kernels where they apply).
    Conv(Conv2d),
    /// `nn.Linear`.
    Linear(Linear),
    /// `nn.BatchNorm2d` on maps, `nn.BatchNorm1d` on vectors.
    BatchNorm(AnyBatchNorm),
    /// `nn.ReLU`.
    Relu(burn::nn::Relu),
    /// `nn.Sigmoid` (computed once, with a saved-output backward).
    Sigmoid(burn::nn::Sigmoid),
    /// `nn.MaxPool2d`.
    MaxPool(MaxPool2d),
    /// `nn.AvgPool2d`.
    AvgPool(AvgPool2d),
    /// `nn.AdaptiveAvgPool2d((1, 1))`.
    GlobalAvgPool(AdaptiveAvgPool2d),
    /// `nn.Flatten`.
    Flatten(Flatten),
    /// `nn.Dropout`.
    Dropout(Dropout),
    /// A nested `nn.Sequential`.
    Seq(Sequential),
    /// GoogLeNet's Inception block.
    Inception(Inception),
    /// ResNet's residual block.
    Residual(Residual),
    /// ResNeXt's block (grouped bottleneck).
    ResNeXt(ResNeXtBlock),
    /// DenseNet's dense block.
    Dense(DenseBlock),
}

impl Layer {
    /// The PyTorch class this layer stands for (`Conv2d`, `BatchNorm1d`, `Sequential`, ...);
    /// `maps` says whether its input is feature maps (it decides `BatchNorm2d`/`1d`).
    pub fn kind(&self, maps: bool) -> &'static str {
        match self {
            Self::Conv(_) => "Conv2d",
            Self::Linear(_) => "Linear",
            Self::BatchNorm(_) if maps => "BatchNorm2d",
            Self::BatchNorm(_) => "BatchNorm1d",
            Self::Relu(_) => "ReLU",
            Self::Sigmoid(_) => "Sigmoid",
            Self::MaxPool(_) => "MaxPool2d",
            Self::AvgPool(_) => "AvgPool2d",
            Self::GlobalAvgPool(_) => "AdaptiveAvgPool2d",
            Self::Flatten(_) => "Flatten",
            Self::Dropout(_) => "Dropout",
            Self::Seq(_) => "Sequential",
            Self::Inception(_) => "Inception",
            Self::Residual(_) => "Residual",
            Self::ResNeXt(_) => "ResNeXtBlock",
            Self::Dense(_) => "DenseBlock",
        }
    }

    /// Applies the layer, counting multiply-adds into `probe` (nested layers are not recorded).
    pub fn forward_probed(&self, x: Features, probe: &mut Probe) -> Features {
        let kind = self.kind(matches!(x, Features::Maps(_)));
        match (self, x) {
            (Self::Conv(c), x) => Features::Maps(probe.conv(c, x.maps(kind))),
            (Self::Linear(l), x) => Features::Vectors(probe.linear(l, x.vectors(kind))),
            (Self::BatchNorm(bn), Features::Maps(x)) => Features::Maps(bn.forward(x)),
            (Self::BatchNorm(bn), Features::Vectors(x)) => Features::Vectors(bn.forward(x)),
            (Self::Relu(_), Features::Maps(x)) => Features::Maps(relu(x)),
            (Self::Relu(_), Features::Vectors(x)) => Features::Vectors(relu(x)),
            (Self::Sigmoid(_), Features::Maps(x)) => Features::Maps(sigmoid(x)),
            (Self::Sigmoid(_), Features::Vectors(x)) => Features::Vectors(sigmoid(x)),
            (Self::Dropout(d), Features::Maps(x)) => Features::Maps(dropout(d, x)),
            (Self::Dropout(d), Features::Vectors(x)) => Features::Vectors(dropout(d, x)),
            (Self::MaxPool(p), x) => Features::Maps(crate::conv::max_pool(p, x.maps(kind))),
            (Self::AvgPool(p), x) => Features::Maps(crate::conv::avg_pool(p, x.maps(kind))),
            (Self::GlobalAvgPool(p), x) => Features::Maps(p.forward(x.maps(kind))),
            (Self::Flatten(_), x) => Features::Vectors(x.maps(kind).flatten::<2>(1, 3)),
            (Self::Seq(s), x) => s.run(x, probe),
            (Self::Inception(b), x) => Features::Maps(b.forward_probed(x.maps(kind), probe)),
            (Self::Residual(b), x) => Features::Maps(b.forward_probed(x.maps(kind), probe)),
            (Self::ResNeXt(b), x) => Features::Maps(b.forward_probed(x.maps(kind), probe)),
            (Self::Dense(b), x) => Features::Maps(b.forward_probed(x.maps(kind), probe)),
        }
    }

    /// [`forward_probed`](Self::forward_probed) on feature maps, for blocks whose branches are
    /// single layers or short sequences of them.
    pub fn forward_maps(&self, x: Tensor<4>, probe: &mut Probe) -> Tensor<4> {
        let kind = self.kind(true);
        self.forward_probed(Features::Maps(x), probe).maps(kind)
    }
}

/// `impl From<$module> for Layer` for each variant that wraps a module.
macro_rules! layer_from {
    ($($module:ty => $variant:ident),* $(,)?) => {
        $(
            impl From<$module> for Layer {
                fn from(m: $module) -> Self {
                    Self::$variant(m)
                }
            }
        )*
    };
}

layer_from!(
    Conv2d => Conv,
    Linear => Linear,
    AnyBatchNorm => BatchNorm,
    MaxPool2d => MaxPool,
    AvgPool2d => AvgPool,
    Dropout => Dropout,
    Sequential => Seq,
    Inception => Inception,
    Residual => Residual,
    ResNeXtBlock => ResNeXt,
    DenseBlock => Dense,
);

/// Layers applied in order, each under a name: its position unless pushed with a name
/// (PyTorch's `nn.Sequential` and `add_module`).
///
/// # Shapes
/// - input: what the first layer takes
/// - output: what the last layer gives
#[derive(Module, Debug, Default)]
pub struct Sequential {
    /// The layers, in order.
    pub layers: Vec<Layer>,
    /// Each layer's name (its PyTorch key under this sequence).
    #[module(skip)]
    names: Vec<String>,
}

impl Sequential {
    /// An empty sequence.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `layer` under its position (`"0"`, `"1"`, ...).
    pub fn push(mut self, layer: impl Into<Layer>) -> Self {
        self.names.push(self.layers.len().to_string());
        self.layers.push(layer.into());
        self
    }

    /// Appends `layer` under `name`.
    pub fn push_named(mut self, name: impl Into<String>, layer: impl Into<Layer>) -> Self {
        self.names.push(name.into());
        self.layers.push(layer.into());
        self
    }

    /// Appends a ReLU.
    pub fn relu(self) -> Self {
        self.push(Layer::Relu(burn::nn::Relu))
    }

    /// Appends a sigmoid.
    pub fn sigmoid(self) -> Self {
        self.push(Layer::Sigmoid(burn::nn::Sigmoid))
    }

    /// Appends a flatten.
    pub fn flatten(self) -> Self {
        self.push(Layer::Flatten(Flatten))
    }

    /// Appends a global average pool.
    pub fn global_avg_pool(self) -> Self {
        let pool = burn::nn::pool::AdaptiveAvgPool2dConfig::new([1, 1]).init();
        self.push(Layer::GlobalAvgPool(pool))
    }

    /// The layers with their names.
    pub fn named(&self) -> impl Iterator<Item = (&str, &Layer)> {
        self.names.iter().map(String::as_str).zip(&self.layers)
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there is no layer.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Applies every layer in order.
    pub fn forward(&self, x: Features) -> Features {
        self.run(x, &mut Probe::off())
    }

    /// Applies every layer in order, recording each of them (not the layers nested in them)
    /// in `probe` under `prefix.name`.
    pub fn forward_probed(&self, x: Features, probe: &mut Probe, prefix: &str) -> Features {
        if !probe.is_on() {
            return self.run(x, probe);
        }
        let mut x = x;
        for (name, layer) in self.named() {
            let kind = layer.kind(matches!(x, Features::Maps(_)));
            x = layer.forward_probed(x, probe);
            x = x.record(probe, &format!("{prefix}.{name}"), kind);
        }
        x
    }

    /// Applies the layers in order; in inference ([`crate::conv::fusing`]) a convolution with
    /// the batch norm and ReLU or sigmoid after it as one layer ([`crate::conv::fused`]), and a batch norm
    /// with the ReLU after it.
    pub(crate) fn run(&self, x: Features, probe: &mut Probe) -> Features {
        let mut x = x;
        let mut i = 0;
        let at = |k: usize| self.layers.get(k);
        while i < self.layers.len() {
            x = match (&self.layers[i], x) {
                (Layer::Conv(c), Features::Maps(m)) if crate::conv::fusing(&m, probe) => {
                    let bn = match at(i + 1) {
                        Some(Layer::BatchNorm(bn)) => Some(bn),
                        _ => None,
                    };
                    i += 1 + usize::from(bn.is_some());
                    let activation = match at(i) {
                        Some(Layer::Relu(_)) => Activation::Relu,
                        Some(Layer::Sigmoid(_)) => Activation::Sigmoid,
                        _ => Activation::Identity,
                    };
                    i += usize::from(activation != Activation::Identity);
                    Features::Maps(crate::conv::fused(c, bn, None, activation, m))
                }
                // Batch norm and the activation after it in one layer (in training the
                // activation inside the kernel's passes, in inference ReLU in the affine pass).
                (Layer::BatchNorm(bn), x)
                    if !probe.is_on()
                        && matches!(at(i + 1), Some(Layer::Relu(_) | Layer::Sigmoid(_))) =>
                {
                    let activation = match at(i + 1) {
                        Some(Layer::Sigmoid(_)) => Activation::Sigmoid,
                        _ => Activation::Relu,
                    };
                    i += 2;
                    match x {
                        Features::Maps(m) => Features::Maps(bn.forward_activation(m, activation)),
                        Features::Vectors(v) => {
                            Features::Vectors(bn.forward_activation(v, activation))
                        }
                    }
                }
                (layer, x) => {
                    i += 1;
                    layer.forward_probed(x, probe)
                }
            };
        }
        x
    }

    /// The PyTorch key of the tensor at `path`, a path of this sequence's tensors as Burn's
    /// store names them without enum variants (`layers.1.layers.0.conv1.weight`): each
    /// `layers.<i>` becomes the i-th layer's name (`b2.0.conv1.weight`).
    pub fn torch_key(&self, path: &str) -> String {
        let segments: Vec<&str> = path.split('.').collect();
        let mut out = Vec::with_capacity(segments.len());
        self.rename(&segments, &mut out);
        out.join(".")
    }

    fn rename(&self, segments: &[&str], out: &mut Vec<String>) {
        match segments {
            ["layers", index, rest @ ..] => match index.parse::<usize>() {
                Ok(i) if i < self.layers.len() => {
                    out.push(self.names[i].clone());
                    match &self.layers[i] {
                        Layer::Seq(inner) => inner.rename(rest, out),
                        _ => drop_sequence_fields(rest, out),
                    }
                }
                _ => out.extend(segments.iter().map(|s| s.to_string())),
            },
            _ => out.extend(segments.iter().map(|s| s.to_string())),
        }
    }
}

/// Inside blocks, nested sequences are unnamed, so `layers.<i>` is simply `<i>`.
fn drop_sequence_fields(segments: &[&str], out: &mut Vec<String>) {
    out.extend(
        segments
            .iter()
            .filter(|s| **s != "layers")
            .map(|s| s.to_string()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::{WeightInit, conv, conv_config, linear};
    use burn::tensor::Device;

    #[test]
    fn runs_in_order_and_names_layers_like_pytorch() {
        let device = Device::flex();
        let inner = Sequential::new()
            .push(conv(
                &conv_config(1, 2, 3, 1, 1),
                WeightInit::Xavier,
                &device,
            ))
            .relu();
        let net = Sequential::new()
            .push(inner)
            .push_named("head", Sequential::new().flatten())
            .push(linear(2 * 4 * 4, 3, WeightInit::Xavier, &device));
        let names: Vec<&str> = net.named().map(|(n, _)| n).collect();
        assert_eq!(names, ["0", "head", "2"]);
        let mut probe = Probe::on();
        let y = net.forward_probed(
            Features::Maps(Tensor::zeros([2, 1, 4, 4], &device)),
            &mut probe,
            "net",
        );
        assert_eq!(y.dims(), [2, 3]);
        let recorded: Vec<(&str, &str)> = probe
            .layers
            .iter()
            .map(|l| (l.name.as_str(), l.kind.as_str()))
            .collect();
        assert_eq!(
            recorded,
            [
                ("net.0", "Sequential"),
                ("net.head", "Sequential"),
                ("net.2", "Linear")
            ]
        );
        assert_eq!(probe.macs, 2 * 9 * 16 + 32 * 3);
        assert_eq!(net.torch_key("layers.0.layers.0.weight"), "0.0.weight");
        assert_eq!(net.torch_key("layers.2.bias"), "2.bias");
    }

    #[test]
    #[should_panic(expected = "Linear needs [N, F] vectors")]
    fn a_linear_layer_before_flatten_says_so() {
        let device = Device::flex();
        let net = Sequential::new().push(linear(4, 3, WeightInit::Xavier, &device));
        net.forward(Features::Maps(Tensor::zeros([1, 1, 2, 2], &device)));
    }
}
