//! AlexNet (Krizhevsky, Sutskever & Hinton, 2012, "ImageNet classification with deep
//! convolutional neural networks"), d2l section 8.1.
//!
//! d2l's version for 1-channel 224x224 Fashion-MNIST: the first convolution pads by 1 (so 224
//! becomes 54), there is no local response normalisation, and the classifier ends in 10 classes.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use convzoo_blocks::init::{conv, conv_config, linear};
use convzoo_blocks::{Probe, WeightInit};

/// Configuration of [`AlexNet`].
#[derive(Config, Debug)]
pub struct AlexNetConfig {
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Number of classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Dropout probability in the classifier.
    #[config(default = 0.5)]
    pub dropout: f64,
    /// Weight initialisation.
    #[config(default = "WeightInit::Xavier")]
    pub init: WeightInit,
}

/// d2l's AlexNet on 224x224 images.
///
/// # Shapes
/// - input: `[N, in_channels, 224, 224]`
/// - output: `[N, num_classes]`
#[derive(Module, Debug)]
pub struct AlexNet {
    convs: Vec<Conv2d>,
    pool: MaxPool2d,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    dropout: Dropout,
}

/// (out channels, kernel, stride, padding, max-pool after) of the five convolutions.
const CONVS: [(usize, usize, usize, usize, bool); 5] = [
    (96, 11, 4, 1, true),
    (256, 5, 1, 2, true),
    (384, 3, 1, 1, false),
    (384, 3, 1, 1, false),
    (256, 3, 1, 1, true),
];

impl AlexNetConfig {
    /// Creates the model on `device`.
    pub fn init(&self, device: &Device) -> AlexNet {
        let mut c_in = self.in_channels;
        let convs = CONVS
            .iter()
            .map(|&(c_out, k, s, p, _)| {
                let layer = conv(&conv_config(c_in, c_out, k, s, p), self.init, device);
                c_in = c_out;
                layer
            })
            .collect();
        AlexNet {
            convs,
            pool: MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).init(),
            fc1: linear(256 * 5 * 5, 4096, self.init, device),
            fc2: linear(4096, 4096, self.init, device),
            fc3: linear(4096, self.num_classes, self.init, device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl AlexNet {
    /// [`forward`](crate::Model::forward) with a probe recording every layer.
    pub fn forward_probed(&self, x: Tensor<4>, p: &mut Probe) -> Tensor<2> {
        // N x 96 x 54 x 54 -> pool 26; 256 x 26 -> pool 12; 384, 384, 256 x 12 -> pool 5
        let mut x = x;
        for (i, (layer, &(.., pooled))) in self.convs.iter().zip(CONVS.iter()).enumerate() {
            x = p.conv(layer, x);
            x = p.layer(&format!("conv{}", i + 1), x);
            x = p.layer(&format!("relu{}", i + 1), relu(x));
            if pooled {
                x = p.layer(&format!("maxpool{}", i + 1), self.pool.forward(x));
            }
        }
        let x = p.layer("flatten", x.flatten::<2>(1, 3)); // N x 6400
        let x = p.linear(&self.fc1, x);
        let x = p.layer("fc1", x);
        let x = p.layer("relu6", relu(x));
        let x = p.layer("dropout1", self.dropout.forward(x));
        let x = p.linear(&self.fc2, x);
        let x = p.layer("fc2", x);
        let x = p.layer("relu7", relu(x));
        let x = p.layer("dropout2", self.dropout.forward(x));
        let x = p.linear(&self.fc3, x);
        p.layer("fc3", x) // N x num_classes
    }
}
