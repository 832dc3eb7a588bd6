//! Batch normalisation on plain slices: training mode (batch statistics, two parallel passes
//! each way, with the activation and an optional residual in the same passes) and inference
//! (a per-channel affine map).

pub mod batch_norm;
mod batch_norm_backward;
pub mod channel_affine;
