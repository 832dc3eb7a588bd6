//! CPU kernels for convzoo on Burn's flex backend, with their Burn extension glue.
//!
//! Burn backend extensions whose implementations replace flex's slowest paths with kernels
//! written here, on plain slices, parallel over the rayon pool. The crate is laid out by role:
//!
//! - [`conv`]: convolutions and their gradients. `plan` maps a geometry and a pass to an
//!   algorithm (im2col and a gemm, sums in registers, a gemm per kernel tap, Winograd's
//!   F(2x2, 3x3) in inference, the input gradient as a transposed convolution); one file each.
//! - [`norm`]: batch norm in training (two parallel passes each way, the activation and a
//!   residual in the same passes) and in inference (a per-channel affine map).
//! - [`pool`]: unpadded average pooling (2x2 stride 2 by its own pass) and max pooling with
//!   windows clipped to the input.
//! - [`elementwise`]: ReLU, the sigmoid, channel concatenation.
//! - `ext/`: the Burn glue — one backend extension per operation ([`conv2d`], [`relu`],
//!   [`batch_norm_train`], ...), the saved-output autodiff step ReLU and the sigmoid share,
//!   and the fallback to Burn's operations where the kernels do not apply.
//! - [`runtime`]: the CPU path ([`Isa`]: AVX-512, AVX2 + FMA or portable, chosen at run time),
//!   task splitting over the rayon pool, uninitialised output buffers and the gemm wrapper.
//!
//! Each kernel is tested against a reference (a naive sum, the definition, or Burn's own
//! operation) on every CPU path the machine has. The models reach the kernels through
//! `convzoo-blocks` (feature `flex-kernels`), which re-exports this crate as
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
//!
//! // Which algorithm computes a convolution's pass:
//! use convzoo_kernels::conv::{Algorithm, ConvGeometry, Pass, plan};
//! let lenet_conv1 = ConvGeometry {
//!     batch: 256,
//!     channels_in: 1,
//!     channels_out: 6,
//!     input: [28, 28],
//!     kernel: [5, 5],
//!     stride: [1, 1],
//!     padding: [(2, 2), (2, 2)],
//!     groups: 1,
//! };
//! assert_eq!(plan(&lenet_conv1, Pass::Forward), Algorithm::Direct);
//! ```

#![warn(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod conv;
pub mod elementwise;
mod ext;
pub mod norm;
pub mod pool;
pub mod runtime;

pub use conv::Activation;
pub use elementwise::cat::cat_values;
pub use elementwise::relu::{relu_grad, relu_values};
pub use elementwise::sigmoid::{sigmoid_grad, sigmoid_values};
pub use ext::*;
pub use norm::channel_affine::channel_affine_values;
pub use pool::avg_pool::{PoolGeometry, avg_pool_backward, avg_pool_forward};
pub use pool::max_pool::{MaxPoolGeometry, max_pool_backward, max_pool_forward};
pub use runtime::cpu::{Isa, KERNELS_ENV, isa, set_isa};

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

    /// Calls `term(x_at, w_at, y_at)` for every product of a convolution (dilation 1) by its
    /// definition: input `x_at` (`[N, C_in, H, W]`) times weight `w_at`
    /// (`[C_out, C_in / groups, k_h, k_w]`) adds to output `y_at` (`[N, C_out, H_out, W_out]`);
    /// output channel `o` reads the input channels of its group, `o / (C_out / groups)`.
    pub fn conv_terms(g: &crate::conv::ConvGeometry, mut term: impl FnMut(usize, usize, usize)) {
        let ([h, w], [kh, kw], [sh, sw]) = (g.input, g.kernel, g.stride);
        let [(pt, _), (pl, _)] = g.padding;
        let [ho, wo] = g.output();
        let (ci, co) = (g.channels_in, g.channels_out);
        let (ci_group, co_group) = (ci / g.groups, co / g.groups);
        for n in 0..g.batch {
            for o in 0..co {
                let first = o / co_group * ci_group;
                for (r, s) in (0..ho).flat_map(|r| (0..wo).map(move |s| (r, s))) {
                    let y_at = ((n * co + o) * ho + r) * wo + s;
                    for c in 0..ci_group {
                        for (i, j) in (0..kh).flat_map(|i| (0..kw).map(move |j| (i, j))) {
                            let ih = (r * sh + i).checked_sub(pt).filter(|&v| v < h);
                            let iw = (s * sw + j).checked_sub(pl).filter(|&v| v < w);
                            if let (Some(ih), Some(iw)) = (ih, iw) {
                                let x_at = ((n * ci + first + c) * h + ih) * w + iw;
                                term(x_at, ((o * ci_group + c) * kh + i) * kw + j, y_at);
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
