//! CPU kernels for convzoo on Burn's flex backend, with their Burn extension glue.
//!
//! Burn backend extensions whose autodiff implementations replace flex's slowest training
//! paths with kernels written here, on plain slices, parallel over the rayon pool; each
//! kernel's module keeps its forward, backward and naive reference side by side:
//!
//! - [`conv2d`]: forward pass, input and weight gradients by per-sample im2col and gemms of the
//!   natural shape ([`conv_kernels`]), where Burn's default weight gradient is a convolution over
//!   the channel axis with narrow gemms; stride-1 convolutions with few output channels by a sum
//!   of pointwise gemms over the kernel's taps on a padded copy of the input (`taps.rs`).
//! - [`avg_pool2d`]: unpadded average pooling, one parallel pass each way.
//! - [`sigmoid`]: one vectorised parallel pass forward, one backward (from the saved output).
//! - [`max_pool2d`]: max pooling with windows clipped to the input; in training the maxima and
//!   their indices in one branch-free pass, tap by tap, over the plane split by stride phase.
//! - [`relu`]: one parallel pass forward, one backward (from the saved output).
//! - Inference on flex without autodiff ([`fusing`]): [`conv2d_fused`], a convolution whose
//!   output pass also applies its bias or the batch norm after it, a residual and a ReLU; and
//!   [`channel_affine`], a batch norm in inference with an optional ReLU; on the AVX2 and
//!   portable paths, 3x3 stride-1 convolutions with many channels by Winograd's F(2x2, 3x3)
//!   (`winograd.rs`; training keeps im2col, [`conv_kernels::forward_inference`]).
//! - [`batch_norm_train`]: training-mode batch norm in two parallel passes each way
//!   ([`batch_norm_kernels`]) instead of Burn's default composition of a dozen single-threaded
//!   element-wise operations, with the activation after it in the same passes, and
//!   [`batch_norm_train_residual`] with a residual added before the activation as well.
//!
//! All fall back to Burn's operations off flex, for other dtypes and for unsupported options.
//! The models reach them through `convzoo-blocks` (feature `flex-kernels`: `conv::forward`,
//! `conv::avg_pool`, `activation::sigmoid`, `AnyBatchNorm`), which re-exports this crate as
//! `convzoo_blocks::flex`; measured figures are in `BENCHMARKS.md`.
//!
//! # Example
//! ```
//! use burn::tensor::{Device, Tensor};
//!
//! let device = Device::flex();
//! let x = Tensor::<4>::ones([2, 3, 4, 4], &device);
//! // Unpadded 2x2 average pooling, stride 2, by the kernel written here.
//! let y = convzoo_kernels::avg_pool2d(x, [2, 2], [2, 2]);
//! assert_eq!(y.dims(), [2, 3, 2, 2]);
//! ```

#![warn(missing_docs)]

mod avg_pool;
mod avg_pool_2x2;
mod batch_norm;
mod batch_norm_backward;
pub mod batch_norm_kernels;
mod cat;
mod conv;
pub mod conv_kernels;
pub mod cpu;
mod direct;
mod direct_weight_grad;
mod epilogue;
mod im2col;
mod infer;
mod matmul;
mod max_pool;
mod max_pool_grid;
pub mod peak;
mod relu;
mod sigmoid;
mod taps;
mod tasks;
mod uninit;
mod winograd;

pub use avg_pool::{FlexAvgPool, PoolGeometry, avg_pool_backward, avg_pool_forward, avg_pool2d};
pub use batch_norm::{FlexBatchNorm, batch_norm_train, batch_norm_train_residual};
pub use cat::{FlexCat, cat_channels, cat_values};
pub use conv::{FlexConv, conv2d};
pub use conv_kernels::Activation;
pub use cpu::{Isa, KERNELS_ENV, isa, set_isa};
pub use infer::{FlexInfer, channel_affine, channel_affine_values, conv2d_fused, fusing};
pub use max_pool::{FlexMaxPool, MaxPoolGeometry, max_pool_backward, max_pool_forward, max_pool2d};
pub use peak::fma_peak;
pub use relu::{FlexRelu, relu, relu_grad, relu_values};
pub use sigmoid::{FlexSigmoid, sigmoid, sigmoid_applies, sigmoid_grad, sigmoid_values};

use burn::backend::DispatchDevice;
use burn::backend::flex::FlexTensor;
use burn::tensor::{Device, Shape, TensorData};
use std::sync::atomic::{AtomicU8, Ordering};

/// 0: not decided yet (read `CONVZOO_FLEX_KERNELS`), 1: on, 2: off.
static STATE: AtomicU8 = AtomicU8::new(0);

/// Whether the kernels run: on unless [`set_enabled`]`(false)` was called or the environment
/// variable `CONVZOO_FLEX_KERNELS` is `0`, `off` or `false` (Burn's own operations then run, for
/// comparisons and as a fallback).
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let off = std::env::var("CONVZOO_FLEX_KERNELS")
                .is_ok_and(|v| matches!(v.trim(), "0" | "off" | "false"));
            STATE.store(if off { 2 } else { 1 }, Ordering::Relaxed);
            !off
        }
    }
}

/// Turns the kernels on or off for the whole process (see [`enabled`]).
pub fn set_enabled(on: bool) {
    STATE.store(if on { 1 } else { 2 }, Ordering::Relaxed);
}

fn flex_tensor(values: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Whether the kernels are [`enabled`] and `device` is flex (with or without autodiff).
fn on_flex(device: &Device) -> bool {
    if !enabled() {
        return false;
    }
    match device.as_dispatch() {
        DispatchDevice::Flex(_) => true,
        DispatchDevice::Autodiff(inner) => matches!(&**inner, DispatchDevice::Flex(_)),
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Test helpers.
#[cfg(test)]
mod testing {
    use burn::tensor::{Device, Tensor, TensorData};
    use rand::{SeedableRng, rngs::StdRng};
    use rand_distr::{Distribution, Normal};

    /// Runs `check` on every kernel path the CPU has, then restores the path.
    pub fn on_every_path(check: impl Fn()) {
        let before = crate::isa();
        for isa in crate::Isa::supported_all() {
            crate::set_isa(isa).unwrap();
            check();
        }
        crate::set_isa(before).unwrap();
    }

    /// A tensor's values as `f32`, in row-major order.
    pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// A tensor of `dims` drawn from N(`mean`, `std`²) by a generator seeded with `seed`.
    ///
    /// The draw depends on `seed` alone: Burn's `Device::seed` sets one process-wide generator
    /// that tests running side by side draw from in turn, so their inputs would change with
    /// the order the test threads run in.
    pub fn normal<const D: usize>(
        dims: [usize; D],
        mean: f32,
        std: f32,
        seed: u64,
        device: &Device,
    ) -> Tensor<D> {
        let mut rng = StdRng::seed_from_u64(seed);
        let normal = Normal::new(mean, std).unwrap();
        let count = dims.iter().product();
        let values: Vec<f32> = (0..count).map(|_| normal.sample(&mut rng)).collect();
        Tensor::from_data(TensorData::new(values, dims), device)
    }

    /// `n` values in `[-0.5, 0.5)` from a multiplicative hash of their index and `seed`.
    pub fn pattern(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let v = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed);
                (v >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    /// Calls `term(x_at, w_at, y_at)` for every product of a convolution (groups 1, dilation 1)
    /// by its definition: input `x_at` (`[N, C_in, H, W]`) times weight `w_at`
    /// (`[C_out, C_in, k_h, k_w]`) adds to output `y_at` (`[N, C_out, H_out, W_out]`).
    pub fn conv_terms(
        g: &crate::conv_kernels::ConvGeometry,
        mut term: impl FnMut(usize, usize, usize),
    ) {
        let ([h, w], [kh, kw], [sh, sw]) = (g.input, g.kernel, g.stride);
        let [(pt, _), (pl, _)] = g.padding;
        let [ho, wo] = g.output();
        let (ci, co) = (g.channels_in, g.channels_out);
        for n in 0..g.batch {
            for o in 0..co {
                for (r, s) in (0..ho).flat_map(|r| (0..wo).map(move |s| (r, s))) {
                    let y_at = ((n * co + o) * ho + r) * wo + s;
                    for c in 0..ci {
                        for (i, j) in (0..kh).flat_map(|i| (0..kw).map(move |j| (i, j))) {
                            let ih = (r * sh + i).checked_sub(pt).filter(|&v| v < h);
                            let iw = (s * sw + j).checked_sub(pl).filter(|&v| v < w);
                            if let (Some(ih), Some(iw)) = (ih, iw) {
                                let x_at = ((n * ci + c) * h + ih) * w + iw;
                                term(x_at, ((o * ci + c) * kh + i) * kw + j, y_at);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The largest absolute difference of two slices of equal length; a NaN difference (a NaN
    /// on one side only, or on both) counts as infinite.
    pub fn max_abs_diff(ours: &[f32], theirs: &[f32]) -> f32 {
        assert_eq!(ours.len(), theirs.len(), "lengths differ");
        ours.iter()
            .zip(theirs)
            .map(|(a, b)| (a - b).abs())
            .map(|d| if d.is_nan() { f32::INFINITY } else { d })
            .fold(0.0, f32::max)
    }

    /// Asserts `ours` within `tolerance` of `theirs`, relative to the larger of 1 and
    /// `theirs`' largest magnitude (the blocks' `testing::assert_close`, which this crate
    /// cannot depend on).
    pub fn assert_close(what: &str, ours: &[f32], theirs: &[f32], tolerance: f32) {
        assert_within(what, ours, theirs, theirs, tolerance);
    }

    /// Asserts `ours` within `tolerance` of `theirs`, relative to the larger of 1 and the
    /// largest of `magnitude`: for a sum, the sum of its terms' magnitudes, which bounds its
    /// rounding error where cancellation leaves the result itself small.
    pub fn assert_within(
        what: &str,
        ours: &[f32],
        theirs: &[f32],
        magnitude: &[f32],
        tolerance: f32,
    ) {
        assert_eq!(ours.len(), theirs.len(), "{what}: length");
        let scale = magnitude.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let worst = max_abs_diff(ours, theirs);
        assert!(
            worst <= tolerance * scale,
            "{what}: off by {worst} (tolerance {tolerance} x {scale})"
        );
    }
}
