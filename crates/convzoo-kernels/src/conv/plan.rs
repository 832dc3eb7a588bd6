//! The choice of convolution algorithm: one function, [`plan`], from a geometry and a pass to
//! the algorithm that runs it. Each algorithm's module says where it applies (`applies`); the
//! order in which they are tried is here and nowhere else.
//!
//! Every algorithm runs on every CPU path (AVX-512, AVX2 + FMA, portable): the path chooses the
//! micro-kernels inside an algorithm, not the algorithm.

use super::{ConvGeometry, direct, taps, transposed, winograd};

/// A pass of a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pass {
    /// The forward pass in training (its gradients must be those of the direct sum).
    Forward,
    /// The forward pass in inference (a few ulp may differ from the direct sum).
    Inference,
    /// The input gradient.
    InputGrad,
    /// The weight gradient.
    WeightGrad,
}

impl Pass {
    /// Every pass, in the order above.
    pub const ALL: [Pass; 4] = [
        Pass::Forward,
        Pass::Inference,
        Pass::InputGrad,
        Pass::WeightGrad,
    ];
}

/// An algorithm that computes a pass of a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Per-sample patch matrices and one gemm (`im2col.rs`): the general case.
    Im2col,
    /// Sums in registers on the zero-padded sample (`direct.rs`, `direct_weight_grad.rs`):
    /// stride 1 and few output channels (LeNet's 5x5 layers, DenseNet's 3x3 layers forward);
    /// the weight gradient only with few input values per output as well (LeNet's).
    Direct,
    /// A pointwise gemm per kernel tap on one padded copy of the input (`taps.rs`): stride 1,
    /// few output channels, large planes (DenseNet's 3x3 layers' gradients, ResNet-18's first
    /// stage).
    Taps,
    /// Winograd's F(2x2, 3x3) (`winograd.rs`): 3x3 stride-1 convolutions with many channels,
    /// in inference only.
    Winograd,
    /// The input gradient as the convolution of the output gradient with the flipped weight
    /// (`transposed.rs`), itself planned as a forward pass: stride 1, small planes.
    Transposed,
}

impl Algorithm {
    /// A short name, as `bench layers` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Im2col => "im2col",
            Algorithm::Direct => "direct",
            Algorithm::Taps => "taps",
            Algorithm::Winograd => "winograd",
            Algorithm::Transposed => "transposed",
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The algorithm that computes `pass` of the convolution `g`; for a grouped convolution, the one
/// that computes each group (`grouped.rs` runs them one by one).
pub fn plan(g: &ConvGeometry, pass: Pass) -> Algorithm {
    if g.groups > 1 {
        return plan(&g.group(), pass);
    }
    match pass {
        Pass::Inference if winograd::applies(g) => Algorithm::Winograd,
        Pass::Forward | Pass::Inference if direct::applies(g) => Algorithm::Direct,
        Pass::WeightGrad if direct::weight_grad_applies(g) => Algorithm::Direct,
        _ if taps::applies(g) => Algorithm::Taps,
        Pass::InputGrad if transposed::applies(g) => Algorithm::Transposed,
        _ => Algorithm::Im2col,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A square convolution: `batch` 8, `c_in -> c_out`, `size`x`size` input, `k`x`k` kernel.
    fn conv(
        c_in: usize,
        c_out: usize,
        size: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> ConvGeometry {
        ConvGeometry {
            groups: 1,
            batch: 8,
            channels_in: c_in,
            channels_out: c_out,
            input: [size, size],
            kernel: [k, k],
            stride: [stride, stride],
            padding: [(pad, pad), (pad, pad)],
        }
    }

    fn passes(g: &ConvGeometry) -> [Algorithm; 4] {
        Pass::ALL.map(|pass| plan(g, pass))
    }

    use Algorithm::*;

    #[test]
    fn lenets_5x5_layers_go_direct_except_the_input_gradient() {
        // LeNet's first layer: 1 -> 6, 5x5, padding 2, at 28x28.
        assert_eq!(
            passes(&conv(1, 6, 28, 5, 1, 2)),
            [Direct, Direct, Im2col, Direct]
        );
        // LeNet's second: 6 -> 16, 5x5, at 14x14.
        assert_eq!(
            passes(&conv(6, 16, 14, 5, 1, 0)),
            [Direct, Direct, Im2col, Direct]
        );
    }

    #[test]
    fn grouped_convolutions_take_the_algorithm_of_one_group() {
        // RegNetX-32's second stage: 80 -> 80 in 5 groups at 6x6 is five 16 -> 16 convolutions.
        let grouped = ConvGeometry {
            groups: 5,
            ..conv(80, 80, 6, 3, 1, 1)
        };
        assert_eq!(passes(&grouped), passes(&conv(16, 16, 6, 3, 1, 1)));
        // Depthwise: one channel a group.
        let depthwise = ConvGeometry {
            groups: 32,
            ..conv(32, 32, 24, 3, 1, 1)
        };
        assert_eq!(passes(&depthwise), passes(&conv(1, 1, 24, 3, 1, 1)));
    }

    #[test]
    fn few_output_channels_go_direct_forward_and_on_large_planes_by_taps_backward() {
        // DenseNet's 3x3 layers' gradients (64+ -> 32 at 24x24; their forward passes go direct),
        // ResNet-18's first stage (64 -> 64).
        assert_eq!(
            passes(&conv(96, 32, 24, 3, 1, 1)),
            [Direct, Direct, Taps, Taps]
        );
        assert_eq!(passes(&conv(64, 64, 24, 3, 1, 1)), [Taps; 4]);
    }

    #[test]
    fn wide_3x3_layers_infer_by_winograd_and_train_by_im2col() {
        // ResNet-18's third stage: 256 -> 256 at 6x6, 128 -> 128 at 12x12.
        assert_eq!(
            passes(&conv(128, 128, 12, 3, 1, 1)),
            [Im2col, Winograd, Im2col, Im2col]
        );
        // Too few output channels (DenseNet's 32): no Winograd.
        assert_eq!(plan(&conv(128, 32, 24, 3, 1, 1), Pass::Inference), Direct);
        // Outputs under 6x6 waste their tiles.
        assert_eq!(plan(&conv(256, 256, 4, 3, 1, 1), Pass::Inference), Im2col);
    }

    #[test]
    fn small_planes_take_the_input_gradient_as_a_transposed_convolution() {
        // ResNet-18's last stage: 512 -> 512, 3x3 at 3x3.
        assert_eq!(
            passes(&conv(512, 512, 3, 3, 1, 1)),
            [Im2col, Im2col, Transposed, Im2col]
        );
        // Strided: never transposed.
        assert_eq!(plan(&conv(256, 512, 6, 3, 2, 1), Pass::InputGrad), Im2col);
    }

    #[test]
    fn everything_else_is_im2col() {
        // VGG-11's 64 -> 128 at 112x112, AlexNet's 11x11 stride 4, a strided 1x1 shortcut.
        assert_eq!(passes(&conv(64, 128, 112, 3, 1, 1)), [Im2col; 4]);
        assert_eq!(passes(&conv(1, 96, 224, 11, 4, 1)), [Im2col; 4]);
        assert_eq!(passes(&conv(64, 128, 24, 1, 2, 0)), [Im2col; 4]);
    }
}
