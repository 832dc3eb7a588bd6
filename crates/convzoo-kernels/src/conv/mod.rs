//! Convolutions and their gradients on plain `f32` slices, NCHW, dilation 1, any groups.
//!
//! [`plan`] picks the algorithm for a geometry and a pass; [`forward`], [`forward_inference`],
//! [`input_grad`] and [`weight_grad`] run what it picks:
//!
//! - `im2col.rs`: per-sample patch matrices (laid out by `patches.rs`) and one gemm, the general
//!   case;
//! - `direct.rs`, `direct_weight_grad.rs`: sums in registers on a zero-padded sample;
//! - `taps.rs`: a pointwise gemm per kernel tap on one padded copy of the input;
//! - `winograd.rs`: Winograd's F(2x2, 3x3), in inference;
//! - `transposed.rs`: the input gradient as a forward convolution of the output gradient;
//! - `grouped.rs`: a grouped convolution as one ordinary convolution per group, each planned
//!   on one group's geometry.
//!
//! Every output value is finished by an [`Epilogue`] (bias or batch-norm scale and shift, a
//! residual, an activation) in the pass that writes it.

mod direct;
mod direct_weight_grad;
mod epilogue;
mod geometry;
mod grouped;
mod im2col;
pub(crate) mod patches;
mod plan;
mod taps;
mod transposed;
mod winograd;

pub use epilogue::{Activation, Epilogue};
pub use geometry::ConvGeometry;
pub use plan::{Algorithm, Pass, plan};

use crate::runtime::tasks::sum_over_tasks;

/// The sum of `row`, in 16 interleaved partial sums (so that it vectorises).
#[inline(always)]
fn row_sum(row: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let mut chunks = row.chunks_exact(16);
    for chunk in &mut chunks {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l += v;
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// Bias gradient `[C_out]` of a convolution from its output gradient `dy`
/// (`[N, C_out, H_out W_out]`): the sum over samples and pixels, samples split across the pool.
pub fn bias_grad(g: &ConvGeometry, dy: &[f32]) -> Vec<f32> {
    let (co, pixels) = (g.channels_out, g.pixels());
    let sample = co * pixels;
    sum_over_tasks(g.batch, co, |start, end| {
        let mut acc = vec![0.0f32; co];
        for dy_n in dy[start * sample..end * sample].chunks_exact(sample) {
            for (a, row) in acc.iter_mut().zip(dy_n.chunks_exact(pixels)) {
                *a += row_sum(row);
            }
        }
        acc
    })
}

/// Weight gradient `[C_out, C_in / groups k_h k_w]` of a convolution from its input `x`
/// (`[N, C_in, H, W]`) and output gradient `dy` (`[N, C_out, H_out, W_out]`), by the algorithm
/// [`plan`] picks.
pub fn weight_grad(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    if g.groups > 1 {
        return grouped::weight_grad(g, x, dy);
    }
    match plan(g, Pass::WeightGrad) {
        Algorithm::Direct => direct_weight_grad::weight_grad(g, x, dy),
        Algorithm::Taps => taps::weight_grad(g, x, dy),
        _ => im2col::weight_grad(g, x, dy),
    }
}

/// [`forward`] for inference, by the algorithm [`plan`] picks: also Winograd's F(2x2, 3x3)
/// (fewer multiplications, a few ulp apart from the direct sum). Training keeps [`forward`], so
/// that its gradients stay those of the direct sum.
pub fn forward_inference(
    g: &ConvGeometry,
    x: &[f32],
    weight: &[f32],
    epilogue: Epilogue,
) -> Vec<f32> {
    check_residual(g, &epilogue);
    if g.groups > 1 {
        return grouped::forward(g, x, weight, epilogue, true);
    }
    match plan(g, Pass::Inference) {
        Algorithm::Winograd => winograd::forward(g, x, weight, epilogue),
        Algorithm::Direct => direct::forward(g, x, weight, epilogue),
        Algorithm::Taps => taps::forward(g, x, weight, epilogue),
        _ => im2col::forward(g, x, weight, epilogue),
    }
}

/// Panics unless the epilogue's residual, if any, has the output's shape.
fn check_residual(g: &ConvGeometry, epilogue: &Epilogue) {
    if let Some(res) = epilogue.residual {
        let len = g.batch * g.channels_out * g.pixels();
        assert_eq!(res.len(), len, "residual of the output's shape");
    }
}

/// Output `[N, C_out, H_out, W_out]` of a convolution of `x` (`[N, C_in, H, W]`) with `weight`
/// (`[C_out, C_in / groups k_h k_w]`), each value finished by `epilogue`, by the algorithm
/// [`plan`] picks for training.
pub fn forward(g: &ConvGeometry, x: &[f32], weight: &[f32], epilogue: Epilogue) -> Vec<f32> {
    check_residual(g, &epilogue);
    if g.groups > 1 {
        return grouped::forward(g, x, weight, epilogue, false);
    }
    match plan(g, Pass::Forward) {
        Algorithm::Direct => direct::forward(g, x, weight, epilogue),
        Algorithm::Taps => taps::forward(g, x, weight, epilogue),
        _ => im2col::forward(g, x, weight, epilogue),
    }
}

/// Input gradient `[N, C_in, H, W]` of a convolution from its weight
/// (`[C_out, C_in / groups k_h k_w]`) and output gradient `dy` (`[N, C_out, H_out, W_out]`), by
/// the algorithm [`plan`] picks.
pub fn input_grad(g: &ConvGeometry, weight: &[f32], dy: &[f32]) -> Vec<f32> {
    if g.groups > 1 {
        return grouped::input_grad(g, weight, dy);
    }
    match plan(g, Pass::InputGrad) {
        Algorithm::Taps => taps::input_grad(g, weight, dy),
        Algorithm::Transposed => {
            let t = transposed::geometry(g);
            forward(
                &t,
                dy,
                &transposed::flipped_weight(g, weight),
                Epilogue::default(),
            )
        }
        _ => im2col::input_grad(g, weight, dy),
    }
}
