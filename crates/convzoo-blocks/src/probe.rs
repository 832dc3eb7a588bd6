//! A probe that records per-layer output shapes and counts multiply-adds during a forward pass.
//!
//! Every block and model has `forward_probed(x, &mut Probe)`; the plain `forward` passes
//! [`Probe::off`], which records nothing. The model summary passes [`Probe::on`].

use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// One recorded layer: its name and the shape of its output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerShape {
    /// The layer's name within its model: its PyTorch key prefix (for example `net.3`).
    pub name: String,
    /// The PyTorch class it stands for (`Conv2d`, `Sequential`, ...).
    pub kind: String,
    /// The shape of the layer's output, batch dimension first.
    pub output_shape: Vec<usize>,
}

/// A convolution a recording probe ran: its input's shape and its geometry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvShape {
    /// `[batch, channels, height, width]` of the input.
    pub input: [usize; 4],
    /// Output channels.
    pub channels_out: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride.
    pub stride: [usize; 2],
    /// Zero padding `(before, after)` along height and width (`None`: `Same`).
    pub padding: Option<[(usize, usize); 2]>,
    /// Dilation.
    pub dilation: [usize; 2],
    /// Groups.
    pub groups: usize,
    /// Output height and width.
    pub output: [usize; 2],
}

impl ConvShape {
    /// Multiply-adds for one sample.
    pub fn macs(&self) -> u64 {
        let [_, c, ..] = self.input;
        let [kh, kw] = self.kernel;
        let [oh, ow] = self.output;
        (self.channels_out * oh * ow * (c / self.groups.max(1)) * kh * kw) as u64
    }
}

/// Records layer output shapes and multiply-adds (conv and linear layers) when enabled.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    enabled: bool,
    /// The layers recorded so far, in forward order.
    pub layers: Vec<LayerShape>,
    /// Multiply-adds per sample of every conv and linear layer run so far.
    pub macs: u64,
    /// Every convolution run so far, in order.
    pub convs: Vec<ConvShape>,
    /// With [`Probe::keep_outputs`], every recorded layer's output values (for debugging and
    /// layer-by-layer comparisons with other implementations).
    pub outputs: Option<Vec<Vec<f32>>>,
    /// With [`Probe::timed`], the seconds from the previous recorded layer (or the probe's
    /// creation) to each recorded layer's output, the device synchronised at each mark.
    pub seconds: Option<Vec<f64>>,
    mark: Option<std::time::Instant>,
}

impl Probe {
    /// A probe that records nothing (used by the plain `forward`).
    pub fn off() -> Self {
        Self::default()
    }

    /// A probe that records shapes and counts multiply-adds.
    pub fn on() -> Self {
        Self {
            enabled: true,
            ..Self::default()
        }
    }

    /// A recording probe that also keeps each recorded layer's output values.
    pub fn keep_outputs() -> Self {
        Self {
            enabled: true,
            outputs: Some(Vec::new()),
            ..Self::default()
        }
    }

    /// A recording probe that also times each recorded layer (synchronising the device at each
    /// layer, so the sum is slower than an unprobed forward). Create it just before the forward.
    pub fn timed() -> Self {
        Self {
            enabled: true,
            seconds: Some(Vec::new()),
            mark: Some(std::time::Instant::now()),
            ..Self::default()
        }
    }

    /// This probe, also keeping each recorded layer's output values (with [`Probe::timed`], the
    /// copies are not counted in the layers' times).
    pub fn with_outputs(mut self) -> Self {
        self.outputs = Some(Vec::new());
        self
    }

    /// Whether this probe records.
    pub fn is_on(&self) -> bool {
        self.enabled
    }

    /// Records `x` as the output of the layer `name` of class `kind` and passes it through.
    pub fn layer<const D: usize>(&mut self, name: &str, kind: &str, x: Tensor<D>) -> Tensor<D> {
        if self.enabled {
            self.layers.push(LayerShape {
                name: name.to_string(),
                kind: kind.to_string(),
                output_shape: x.dims().to_vec(),
            });
            if let (Some(seconds), Some(mark)) = (&mut self.seconds, &self.mark) {
                let _ = x.device().sync();
                seconds.push(mark.elapsed().as_secs_f64());
            }
            if let Some(outputs) = &mut self.outputs {
                let values = x.clone().into_data().convert::<f32>().try_to_vec::<f32>();
                outputs.push(values.unwrap_or_default());
            }
            if let Some(mark) = &mut self.mark {
                *mark = std::time::Instant::now();
            }
        }
        x
    }

    /// Runs `conv` on `x`, counting its multiply-adds per sample.
    pub fn conv(&mut self, conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
        let input = x.dims();
        let y = crate::conv::forward(conv, x);
        if self.enabled {
            let [c_out, c_in_per_group, kh, kw] = conv.weight.dims();
            let [_, _, h, w] = y.dims();
            self.macs += (c_out * h * w * c_in_per_group * kh * kw) as u64;
            self.convs.push(ConvShape {
                input,
                channels_out: c_out,
                kernel: [kh, kw],
                stride: conv.stride,
                padding: crate::conv::explicit_padding(conv),
                dilation: conv.dilation,
                groups: conv.groups,
                output: [h, w],
            });
        }
        y
    }

    /// Runs `linear` on `x`, counting its multiply-adds per sample.
    pub fn linear(&mut self, linear: &Linear, x: Tensor<2>) -> Tensor<2> {
        if self.enabled {
            self.macs += linear.weight.shape().num_elements() as u64;
        }
        linear.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn records_shapes_values_and_times_per_layer() {
        let device = Device::flex();
        let mut off = Probe::off();
        off.layer("a", "T", Tensor::<2>::zeros([2, 3], &device));
        assert!(off.layers.is_empty());
        let mut timed = Probe::timed();
        let x = timed.layer("a", "T", Tensor::<2>::ones([2, 3], &device));
        timed.layer("b", "T", x.sum_dim(1));
        let shapes: Vec<_> = timed
            .layers
            .iter()
            .map(|l| l.output_shape.clone())
            .collect();
        assert_eq!(shapes, [vec![2, 3], vec![2, 1]]);
        let seconds = timed.seconds.unwrap();
        assert_eq!(seconds.len(), 2);
        assert!(seconds.iter().all(|s| *s >= 0.0));
        let mut kept = Probe::keep_outputs();
        kept.layer("a", "T", Tensor::<1>::from_floats([1.0, 2.0], &device));
        assert_eq!(kept.outputs.unwrap(), [vec![1.0, 2.0]]);
    }
}
