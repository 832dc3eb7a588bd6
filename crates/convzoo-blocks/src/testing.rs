//! Helpers for tests across the workspace: tensor values, differences, closeness.

use burn::tensor::Tensor;

/// A tensor's values as `f32`, in row-major order.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("a float tensor")
}

/// The largest absolute difference of two equally long slices; infinite where a difference is
/// not a number (a NaN on either side, or infinities), so that no comparison with a limit passes
/// it (`f32::max` alone would drop a NaN).
///
/// # Panics
/// If the lengths differ.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .map(|d| if d.is_nan() { f32::INFINITY } else { d })
        .fold(0.0, f32::max)
}

/// Asserts that `ours` is within `tolerance` times the scale of `theirs` (its largest absolute
/// value, at least 1) everywhere, naming `what` and the first index that is not.
pub fn assert_close(what: &str, ours: &[f32], theirs: &[f32], tolerance: f32) {
    assert_eq!(ours.len(), theirs.len(), "{what}: length");
    let scale = theirs.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (a - b).abs() <= tolerance * scale,
            "{what}[{i}]: {a} vs {b} (tolerance {tolerance} x {scale})"
        );
    }
}
