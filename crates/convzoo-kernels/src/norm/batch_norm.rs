//! Training-mode batch normalisation on plain `f32` slices, two passes each way.
//!
//! Burn 0.22's default `batch_norm_train` (which flex does not override) is a dozen element-wise
//! operations and two transposing copies, each a single-threaded pass over the activation; here
//! the forward pass is one statistics pass (per channel, in parallel) and one normalising pass
//! (per sample, in parallel), and the backward pass likewise (`batch_norm_backward.rs`).

use rayon::prelude::*;

use crate::conv::Activation;
use std::mem::MaybeUninit;

pub use crate::norm::batch_norm_backward::{After, BnGrads, backward};

/// Layout of a batch-norm input: `[batch, channels, pixels]` (pixels = product of the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BnShape {
    /// Batch size.
    pub batch: usize,
    /// Channels.
    pub channels: usize,
    /// Values per channel and sample (`H W`; 1 after a linear layer).
    pub pixels: usize,
}

impl BnShape {
    pub(crate) fn count(&self) -> f64 {
        (self.batch * self.pixels) as f64
    }

    /// The values of channel `c`, one slice per sample.
    pub(crate) fn channel<'a>(
        &self,
        v: &'a [f32],
        c: usize,
    ) -> impl Iterator<Item = &'a [f32]> + 'a {
        let (stride, pixels) = (self.channels * self.pixels, self.pixels);
        (0..self.batch).map(move |n| &v[n * stride + c * pixels..][..pixels])
    }
}

/// `y[n, c, :] = activation(x[n, c, :] * scale[c] + shift[c] + residual[n, c, :])`, samples in
/// parallel (the residual, if any, added while the sample is in cache).
fn affine(
    s: &BnShape,
    x: &[f32],
    [scale, shift]: [&[f32]; 2],
    residual: Option<&[f32]>,
    activation: Activation,
) -> Vec<f32> {
    let sample = s.channels * s.pixels;
    let fill = |y: &mut [MaybeUninit<f32>]| {
        y.par_chunks_mut(sample)
            .zip(x.par_chunks(sample))
            .enumerate()
            .for_each(|(n, (ys, xs))| {
                affine_sample_isa(s, xs, scale, shift, ys);
                // SAFETY: `affine_sample` wrote every channel of the sample.
                let ys = unsafe { ys.assume_init_mut() };
                if let Some(r) = residual {
                    crate::runtime::rows::add_isa(ys, &r[n * sample..(n + 1) * sample]);
                }
                match activation {
                    Activation::Identity => {}
                    Activation::Relu => crate::elementwise::relu::relu_in_place(ys),
                    Activation::Sigmoid => crate::elementwise::sigmoid::sigmoid_in_place(ys),
                }
            })
    };
    // SAFETY: the samples cover the buffer and each is written in full.
    unsafe { crate::runtime::uninit::written(x.len(), fill) }
}

/// Forward pass in training mode, then `residual` (of the input's shape) added and `activation`
/// applied in the same pass: the output and the batch's per-channel mean and biased variance.
pub fn forward(
    s: &BnShape,
    x: &[f32],
    [gamma, beta]: [&[f32]; 2],
    epsilon: f64,
    residual: Option<&[f32]>,
    activation: Activation,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    assert_eq!(
        x.len(),
        s.batch * s.channels * s.pixels,
        "batch norm: the input's shape"
    );
    if let Some(r) = residual {
        assert_eq!(r.len(), x.len(), "batch norm: the residual's shape");
    }
    let count = s.count();
    // Shifted by the channel's first value so that E[x^2] - E[x]^2 does not cancel.
    let first: Vec<f32> = (0..s.channels).map(|c| x[c * s.pixels]).collect();
    let sums = (0..s.channels)
        .into_par_iter()
        .map(|c| {
            let mut acc = [0.0f64; 2];
            shifted_sums_isa(s, x, c, first[c], &mut acc);
            acc
        })
        .collect::<Vec<_>>();
    let mut mean = Vec::with_capacity(s.channels);
    let mut variance = Vec::with_capacity(s.channels);
    let mut scale = Vec::with_capacity(s.channels);
    let mut shift = Vec::with_capacity(s.channels);
    for c in 0..s.channels {
        let m = sums[c][0] / count;
        let var = (sums[c][1] / count - m * m).max(0.0);
        let m = m + first[c] as f64;
        let a = gamma[c] as f64 / (var + epsilon).sqrt();
        mean.push(m as f32);
        variance.push(var as f32);
        scale.push(a as f32);
        shift.push((beta[c] as f64 - m * a) as f32);
    }
    let y = affine(s, x, [&scale, &shift], residual, activation);
    (y, mean, variance)
}

/// Partial sums in [`LANES`] independent accumulators: a chain the compiler vectorises (one
/// accumulator would be a serial chain of dependent additions).
pub(crate) const LANES: usize = 16;

/// `acc += [sum(x - k), sum((x - k)^2)]` over channel `c` of every sample, each sample's sums
/// in `f32` lanes, added up in `f64`.
#[inline(always)]
fn shifted_sums(s: &BnShape, x: &[f32], c: usize, k: f32, acc: &mut [f64; 2]) {
    for row in s.channel(x, c) {
        let (mut sum, mut sq) = ([0.0f32; LANES], [0.0f32; LANES]);
        let chunks = row.chunks_exact(LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            for l in 0..LANES {
                let d = chunk[l] - k;
                sum[l] += d;
                sq[l] += d * d;
            }
        }
        let (mut a, mut b) = (sum.iter().sum::<f32>(), sq.iter().sum::<f32>());
        for &v in rest {
            let d = v - k;
            a += d;
            b += d * d;
        }
        acc[0] += a as f64;
        acc[1] += b as f64;
    }
}

crate::multiversion! {
    /// [`shifted_sums`] for the CPU's path.
    fn shifted_sums_isa(s: &BnShape, x: &[f32], c: usize, k: f32, acc: &mut [f64; 2])
        = shifted_sums;
}

/// One sample of [`affine`]: `ys[c, :] = xs[c, :] * scale[c] + shift[c]`.
#[inline(always)]
fn affine_sample(
    s: &BnShape,
    xs: &[f32],
    scale: &[f32],
    shift: &[f32],
    ys: &mut [MaybeUninit<f32>],
) {
    for c in 0..s.channels {
        let (a, b) = (scale[c], shift[c]);
        let range = c * s.pixels..(c + 1) * s.pixels;
        for (o, &v) in ys[range.clone()].iter_mut().zip(&xs[range]) {
            o.write(v * a + b);
        }
    }
}

crate::multiversion! {
    /// [`affine_sample`] for the CPU's path.
    fn affine_sample_isa(
        s: &BnShape,
        xs: &[f32],
        scale: &[f32],
        shift: &[f32],
        ys: &mut [MaybeUninit<f32>],
    )
        = affine_sample;
}
