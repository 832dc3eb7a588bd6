//! A stride-1 convolution's input gradient as the convolution of its output gradient with the
//! flipped, channel-swapped weight: `dx = conv(dy, flip(W)^T)` with padding `k - 1 - p`.

use super::ConvGeometry;

/// Output pixels up to which a stride-1 input gradient runs as this convolution: there im2col's
/// patch-matrix gradient is a tall gemm of few columns, and col2im adds back runs of two or three
/// values (ResNet-18's 3x3 stage).
const MAX_PIXELS: usize = 25;

/// Whether the input gradient runs as [`geometry`]'s convolution: stride 1, padding smaller
/// than the kernel, and outputs of at most [`MAX_PIXELS`] pixels.
pub(crate) fn applies(g: &ConvGeometry) -> bool {
    let fits = (0..2).all(|d| {
        let (before, after) = g.padding[d];
        g.stride[d] == 1 && before < g.kernel[d] && after < g.kernel[d]
    });
    fits && g.pixels() <= MAX_PIXELS
}

/// For a convolution that [`applies`]: the convolution of its output gradient that gives its
/// input gradient, `dx = conv(dy, flip(W)^T)` with the channels swapped and the padding
/// `k - 1 - p` on each side.
pub(crate) fn geometry(g: &ConvGeometry) -> ConvGeometry {
    ConvGeometry {
        groups: g.groups,
        batch: g.batch,
        channels_in: g.channels_out,
        channels_out: g.channels_in,
        input: g.output(),
        kernel: g.kernel,
        stride: [1, 1],
        padding: [0, 1].map(|d| {
            let (before, after) = g.padding[d];
            (g.kernel[d] - 1 - before, g.kernel[d] - 1 - after)
        }),
    }
}

/// The weight of [`geometry`]'s convolution, `[C_in, C_out k_h k_w]`: `W[o, c, i, j]` at
/// `[c, o, k_h - 1 - i, k_w - 1 - j]`.
pub(crate) fn flipped_weight(g: &ConvGeometry, weight: &[f32]) -> Vec<f32> {
    let [kh, kw] = g.kernel;
    let (ci, co) = (g.channels_in, g.channels_out);
    let mut t = vec![0.0f32; weight.len()];
    for o in 0..co {
        for c in 0..ci {
            let src = &weight[(o * ci + c) * kh * kw..][..kh * kw];
            let dst = &mut t[(c * co + o) * kh * kw..][..kh * kw];
            for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
                *d = *s;
            }
        }
    }
    t
}
