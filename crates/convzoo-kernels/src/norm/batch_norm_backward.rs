//! The backward pass of [`crate::batch_norm_kernels`]: two passes, the per-channel gradient sums
//! and the per-sample input gradient, with the activation (and a residual) folded in.

use rayon::prelude::*;
use std::mem::MaybeUninit;

use crate::conv::Activation;
#[cfg(doc)]
use crate::norm::batch_norm::forward;
use crate::norm::batch_norm::{BnShape, LANES};

/// What [`backward`] needs of what followed the batch norm in [`forward`]: the activation, the
/// forward pass's output (after the activation), and whether a residual was added before it.
#[derive(Clone, Copy, Debug)]
pub struct After<'a> {
    /// The activation [`forward`] applied.
    pub activation: Activation,
    /// Its output; unread for [`Activation::Identity`].
    pub output: &'a [f32],
    /// Whether [`forward`] added a residual, whose gradient [`backward`] then returns.
    pub residual: bool,
}

/// Gradients of [`forward`]: of the input, `gamma`, `beta` and (if one was added) the residual.
#[derive(Debug)]
pub struct BnGrads {
    /// Of the input, `[N, C, ...]`.
    pub x: Vec<f32>,
    /// Of `gamma`, `[C]`.
    pub gamma: Vec<f32>,
    /// Of `beta`, `[C]`.
    pub beta: Vec<f32>,
    /// Of the residual: the output gradient taken back through the activation.
    pub residual: Option<Vec<f32>>,
}

/// Backward pass: the gradients of the input, `gamma`, `beta` (and the residual) from the output
/// gradient `dy` and the forward pass's batch statistics; `dy` is first taken back through the
/// activation in `after`, value by value in the same passes.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    s: &BnShape,
    x: &[f32],
    gamma: &[f32],
    mean: &[f32],
    variance: &[f32],
    epsilon: f64,
    dy: &[f32],
    after: After,
) -> BnGrads {
    let activation = after.activation;
    // Identity reads no output: `dy` stands in, of the right length.
    let y = match activation {
        Activation::Identity => dy,
        _ => after.output,
    };
    assert_eq!(
        x.len(),
        s.batch * s.channels * s.pixels,
        "batch norm: the input's shape"
    );
    assert_eq!(dy.len(), x.len(), "batch norm: the output gradient's shape");
    assert_eq!(y.len(), dy.len(), "batch norm: the activation's output");
    let count = s.count();
    let inv_std: Vec<f64> = variance
        .iter()
        .map(|&v| 1.0 / (v as f64 + epsilon).sqrt())
        .collect();
    // Per channel: sum(dy) and sum(dy * (x - mean)).
    let sums = s.channel_sums(|start, end, acc| {
        gradient_sums_isa(s, [x, dy, y], activation, start, end, mean, acc)
    });
    let beta_grad: Vec<f32> = sums.iter().map(|s| s[0] as f32).collect();
    let gamma_grad: Vec<f32> = (0..s.channels)
        .map(|c| (sums[c][1] * inv_std[c]) as f32)
        .collect();
    // dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat))
    //    = k * dy + j * (x - mean) + l, per channel.
    let sample = s.channels * s.pixels;
    let coef: Vec<[f32; 3]> = (0..s.channels)
        .map(|c| {
            let k = gamma[c] as f64 * inv_std[c];
            let mean_dy = sums[c][0] / count;
            let mean_dy_xc = sums[c][1] / count; // mean(dy * (x - mean))
            let j = -k * mean_dy_xc * inv_std[c] * inv_std[c];
            let l = -k * mean_dy;
            [k as f32, j as f32, l as f32]
        })
        .collect();
    let mut residual = after.residual.then(|| Vec::with_capacity(x.len()));
    let fill = |dx: &mut [MaybeUninit<f32>]| {
        let samples = dx
            .par_chunks_mut(sample)
            .zip(x.par_chunks(sample).zip(dy.par_chunks(sample)))
            .zip(y.par_chunks(sample));
        let Some(dr) = residual.as_mut() else {
            samples.for_each(|((out, (xs, ds)), ys)| {
                input_grad_sample_isa(s, [xs, ds, ys], activation, mean, &coef, out)
            });
            return;
        };
        // The residual's gradient from the same sample, while it is in cache.
        let dr = &mut dr.spare_capacity_mut()[..x.len()];
        samples
            .zip(dr.par_chunks_mut(sample))
            .for_each(|(((out, (xs, ds)), ys), dr)| {
                input_grad_sample_isa(s, [xs, ds, ys], activation, mean, &coef, out);
                through_sample_isa(activation, ds, ys, dr);
            });
    };
    // SAFETY: the samples cover the buffer and `input_grad_sample` writes each in full.
    let dx = unsafe { crate::runtime::uninit::written(x.len(), fill) };
    if let Some(dr) = residual.as_mut() {
        // SAFETY: `through_sample` wrote every value of every sample.
        unsafe { dr.set_len(x.len()) };
    }
    BnGrads {
        x: dx,
        gamma: gamma_grad,
        beta: beta_grad,
        residual,
    }
}

/// `dy` taken back through activation `A` (0 identity, 1 ReLU, 2 sigmoid) given its output `y`.
#[inline(always)]
fn through<const A: u8>(dy: f32, y: f32) -> f32 {
    match A {
        1 => {
            if y > 0.0 {
                dy
            } else {
                0.0
            }
        }
        2 => dy * y * (1.0 - y),
        _ => dy,
    }
}

/// `A` of [`through`] for an activation.
macro_rules! by_activation {
    ($activation:expr, $f:ident($($arg:expr),*)) => {
        match $activation {
            Activation::Identity => $f::<0>($($arg),*),
            Activation::Relu => $f::<1>($($arg),*),
            Activation::Sigmoid => $f::<2>($($arg),*),
        }
    };
}

/// `acc[c] += [sum(d), sum(d (x - mean[c]))]` over channel `c` of samples `start..end`, `d`
/// being `dy` taken back through the activation (as `shifted_sums`); `[x, dy, y]`.
#[inline(always)]
fn gradient_sums(
    s: &BnShape,
    xdy: [&[f32]; 3],
    activation: Activation,
    start: usize,
    end: usize,
    mean: &[f32],
    acc: &mut [[f64; 2]],
) {
    by_activation!(
        activation,
        gradient_sums_with(s, xdy, start, end, mean, acc)
    )
}

#[inline(always)]
fn gradient_sums_with<const A: u8>(
    s: &BnShape,
    [x, dy, y]: [&[f32]; 3],
    start: usize,
    end: usize,
    mean: &[f32],
    acc: &mut [[f64; 2]],
) {
    for n in start..end {
        for (c, acc) in acc.iter_mut().enumerate() {
            let m = mean[c];
            let (rx, rd, ry) = (s.row(x, n, c), s.row(dy, n, c), s.row(y, n, c));
            let (mut sum, mut dot) = ([0.0f32; LANES], [0.0f32; LANES]);
            let (cx, cd, cy) = (
                rx.chunks_exact(LANES),
                rd.chunks_exact(LANES),
                ry.chunks_exact(LANES),
            );
            let rest = (cx.remainder(), cd.remainder(), cy.remainder());
            // One accumulator array a loop (as `shifted_sums`), so that each vectorises.
            for (vd, vy) in cd.clone().zip(cy.clone()) {
                for l in 0..LANES {
                    sum[l] += through::<A>(vd[l], vy[l]);
                }
            }
            for ((vx, vd), vy) in cx.zip(cd).zip(cy) {
                for l in 0..LANES {
                    dot[l] += through::<A>(vd[l], vy[l]) * (vx[l] - m);
                }
            }
            let (mut a, mut b) = (sum.iter().sum::<f32>(), dot.iter().sum::<f32>());
            for ((&v, &d), &o) in rest.0.iter().zip(rest.1).zip(rest.2) {
                let d = through::<A>(d, o);
                a += d;
                b += d * (v - m);
            }
            acc[0] += a as f64;
            acc[1] += b as f64;
        }
    }
}

crate::multiversion! {
    /// [`gradient_sums`] for the CPU's path.
    fn gradient_sums_isa(
        s: &BnShape,
        xdy: [&[f32]; 3],
        activation: Activation,
        start: usize,
        end: usize,
        mean: &[f32],
        acc: &mut [[f64; 2]],
    ) = gradient_sums;
}

/// One sample of the input gradient: `out[c, :] = k d + j (x - mean) + l` with `coef[c] = [k,
/// j, l]` and `d` the output gradient taken back through the activation; `[x, dy, y]`.
#[inline(always)]
fn input_grad_sample(
    s: &BnShape,
    xdy: [&[f32]; 3],
    activation: Activation,
    mean: &[f32],
    coef: &[[f32; 3]],
    out: &mut [MaybeUninit<f32>],
) {
    by_activation!(activation, input_grad_sample_with(s, xdy, mean, coef, out))
}

#[inline(always)]
fn input_grad_sample_with<const A: u8>(
    s: &BnShape,
    [xs, ds, ys]: [&[f32]; 3],
    mean: &[f32],
    coef: &[[f32; 3]],
    out: &mut [MaybeUninit<f32>],
) {
    for (c, &[k, j, l]) in coef.iter().enumerate() {
        let m = mean[c];
        let range = c * s.pixels..(c + 1) * s.pixels;
        let inputs = xs[range.clone()]
            .iter()
            .zip(&ds[range.clone()])
            .zip(&ys[range.clone()]);
        for (o, ((&v, &d), &y)) in out[range].iter_mut().zip(inputs) {
            o.write(k * through::<A>(d, y) + j * (v - m) + l);
        }
    }
}

crate::multiversion! {
    /// [`input_grad_sample`] for the CPU's path.
    fn input_grad_sample_isa(
        s: &BnShape,
        xdy: [&[f32]; 3],
        activation: Activation,
        mean: &[f32],
        coef: &[[f32; 3]],
        out: &mut [MaybeUninit<f32>],
    ) = input_grad_sample;
}

/// `out = dy` taken back through the activation, given its output `y`.
#[inline(always)]
fn through_sample(activation: Activation, dy: &[f32], y: &[f32], out: &mut [MaybeUninit<f32>]) {
    by_activation!(activation, through_sample_with(dy, y, out))
}

#[inline(always)]
fn through_sample_with<const A: u8>(dy: &[f32], y: &[f32], out: &mut [MaybeUninit<f32>]) {
    for (o, (&d, &v)) in out.iter_mut().zip(dy.iter().zip(y)) {
        o.write(through::<A>(d, v));
    }
}

crate::multiversion! {
    /// [`through_sample`] for the CPU's path.
    fn through_sample_isa(activation: Activation, dy: &[f32], y: &[f32], out: &mut [MaybeUninit<f32>])
        = through_sample;
}
