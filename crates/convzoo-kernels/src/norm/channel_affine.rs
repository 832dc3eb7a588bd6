//! A batch norm in inference on plain slices: a per-channel affine map, with the ReLU after it
//! in the same pass.

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// `relu?(x * scale[c] + shift[c])` over `x` laid out `[N, C, rest]`: rows of `rest` values,
/// row `r` of channel `r % C`.
pub fn channel_affine_values(
    x: &[f32],
    rest: usize,
    scale: &[f32],
    shift: &[f32],
    relu: bool,
) -> Vec<f32> {
    let channels = scale.len();
    assert!(shift.len() == channels && rest > 0 && x.len().is_multiple_of(channels * rest));
    let chunk_rows = (1usize << 15).div_ceil(rest);
    let fill = |y: &mut [MaybeUninit<f32>]| {
        y.par_chunks_mut(chunk_rows * rest)
            .zip(x.par_chunks(chunk_rows * rest))
            .enumerate()
            .for_each(|(t, (out, xs))| {
                for (r, (o, v)) in out.chunks_mut(rest).zip(xs.chunks(rest)).enumerate() {
                    let c = (t * chunk_rows + r) % channels;
                    affine_row_isa(o, v, scale[c], shift[c], relu);
                }
            })
    };
    // SAFETY: the chunks of `y` and `x` pair up over the whole length, and each row of `rest`
    // values is written in full by `affine_row`.
    unsafe { crate::runtime::uninit::written(x.len(), fill) }
}

#[inline(always)]
fn affine_row(out: &mut [MaybeUninit<f32>], x: &[f32], a: f32, b: f32, relu: bool) {
    assert_eq!(out.len(), x.len());
    if relu {
        for (o, v) in out.iter_mut().zip(x) {
            o.write(crate::elementwise::relu::relu_value(v * a + b));
        }
    } else {
        for (o, v) in out.iter_mut().zip(x) {
            o.write(v * a + b);
        }
    }
}

crate::multiversion! {
    /// [`affine_row`] for the CPU's path.
    fn affine_row_isa(out: &mut [MaybeUninit<f32>], x: &[f32], a: f32, b: f32, relu: bool)
        = affine_row;
}
