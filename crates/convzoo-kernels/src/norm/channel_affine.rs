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
    channel_affine_parts(&[x], &[scale.len()], rest, scale, shift, relu)
}

/// [`channel_affine_values`] of the concatenation of `parts` along the channel axis, read where
/// the parts lie: part `k` is `[N, channels[k], rest]`, and `scale` and `shift` have a value for
/// each channel of the concatenation (DenseNet's batch norms, whose input is every earlier
/// layer's output).
pub fn channel_affine_parts(
    parts: &[&[f32]],
    channels: &[usize],
    rest: usize,
    scale: &[f32],
    shift: &[f32],
    relu: bool,
) -> Vec<f32> {
    let total: usize = channels.iter().sum();
    assert!(parts.len() == channels.len() && scale.len() == total && shift.len() == total);
    assert!(rest > 0 && total > 0, "channel affine of no values");
    let batch = parts.iter().map(|p| p.len()).sum::<usize>() / (total * rest);
    assert!(
        parts
            .iter()
            .zip(channels)
            .all(|(p, c)| p.len() == batch * c * rest),
        "channel affine parts of {channels:?} channels"
    );
    // Each channel of the concatenation: its part and its channel there.
    let at: Vec<(usize, usize)> = (channels.iter().enumerate())
        .flat_map(|(k, &c)| (0..c).map(move |i| (k, i)))
        .collect();
    let chunk_rows = (1usize << 15).div_ceil(rest);
    let fill = |y: &mut [MaybeUninit<f32>]| {
        y.par_chunks_mut(chunk_rows * rest)
            .enumerate()
            .for_each(|(t, out)| {
                for (r, o) in out.chunks_mut(rest).enumerate() {
                    let row = t * chunk_rows + r;
                    let (n, c) = (row / total, row % total);
                    let (k, i) = at[c];
                    let x = &parts[k][(n * channels[k] + i) * rest..][..rest];
                    affine_row_isa(o, x, scale[c], shift[c], relu);
                }
            })
    };
    // SAFETY: the chunks of `y` cover it in rows of `rest` values, each written in full by
    // `affine_row` from a part's row of the same length.
    unsafe { crate::runtime::uninit::written(batch * total * rest, fill) }
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
