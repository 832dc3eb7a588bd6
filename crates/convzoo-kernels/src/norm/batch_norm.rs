//! Training-mode batch normalisation on plain `f32` slices, two passes each way.
//!
//! Burn 0.22's default `batch_norm_train` (which flex does not override) is a dozen element-wise
//! operations and two transposing copies, each a single-threaded pass over the activation; here
//! the forward pass is one statistics pass (over the samples in memory order, in parallel) and one normalising pass
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

    /// Row `c` of sample `n` of `v` (`[N, C, pixels]`).
    #[inline(always)]
    pub(crate) fn row<'a>(&self, v: &'a [f32], n: usize, c: usize) -> &'a [f32] {
        &v[(n * self.channels + c) * self.pixels..][..self.pixels]
    }

    /// Per-channel pairs of sums over the whole batch: `work(start, end, acc)` adds those of
    /// samples `start..end` into `acc` (`[C]`), which reads them sample after sample (the order
    /// they lie in memory); the batch is split in tasks of consecutive samples, in parallel.
    pub(crate) fn channel_sums(
        &self,
        work: impl Fn(usize, usize, &mut [[f64; 2]]) + Sync + Send,
    ) -> Vec<[f64; 2]> {
        let task = crate::runtime::tasks::per_task(self.batch);
        let partials: Vec<Vec<[f64; 2]>> = (0..self.batch)
            .into_par_iter()
            .step_by(task)
            .map(|start| {
                let mut acc = vec![[0.0f64; 2]; self.channels];
                work(start, (start + task).min(self.batch), &mut acc);
                acc
            })
            .collect();
        let mut total = vec![[0.0f64; 2]; self.channels];
        for p in partials {
            for (t, v) in total.iter_mut().zip(p) {
                t[0] += v[0];
                t[1] += v[1];
            }
        }
        total
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
    let sums = s.channel_sums(|start, end, acc| shifted_sums_isa(s, x, start, end, &first, acc));
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

/// `acc[c] += [sum(x - k[c]), sum((x - k[c])^2)]` over channel `c` of samples `start..end`,
/// each row's sums in `f32` lanes, added up in `f64`.
#[inline(always)]
fn shifted_sums(s: &BnShape, x: &[f32], start: usize, end: usize, k: &[f32], acc: &mut [[f64; 2]]) {
    for n in start..end {
        for (c, acc) in acc.iter_mut().enumerate() {
            let k = k[c];
            let row = s.row(x, n, c);
            // One accumulator array a loop: with two, the compiler pairs them lane by lane
            // into two-wide vectors instead of filling each vector with lanes of one.
            let (mut sum, mut sq) = ([0.0f32; LANES], [0.0f32; LANES]);
            let chunks = row.chunks_exact(LANES);
            let rest = chunks.remainder();
            for chunk in chunks.clone() {
                for l in 0..LANES {
                    sum[l] += chunk[l] - k;
                }
            }
            for chunk in chunks {
                for l in 0..LANES {
                    let d = chunk[l] - k;
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
}

crate::multiversion! {
    /// [`shifted_sums`] for the CPU's path.
    fn shifted_sums_isa(
        s: &BnShape,
        x: &[f32],
        start: usize,
        end: usize,
        k: &[f32],
        acc: &mut [[f64; 2]],
    ) = shifted_sums;
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
