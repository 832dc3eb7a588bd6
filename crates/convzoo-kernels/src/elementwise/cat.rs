//! Feature maps concatenated along the channel axis, samples copied in parallel.

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// The concatenation of `parts` (each `[batch, len_i]` flattened, `lens[i]` values a sample)
/// along the second axis.
pub fn cat_values(parts: &[&[f32]], lens: &[usize], batch: usize) -> Vec<f32> {
    assert!(parts.len() == lens.len() && parts.iter().zip(lens).all(|(p, l)| p.len() == l * batch));
    let sample: usize = lens.iter().sum();
    let fill = |out: &mut [MaybeUninit<f32>]| {
        out.par_chunks_mut(sample.max(1))
            .enumerate()
            .for_each(|(n, dst)| {
                let mut at = 0;
                for (part, &len) in parts.iter().zip(lens) {
                    dst[at..at + len].write_copy_of_slice(&part[n * len..][..len]);
                    at += len;
                }
            })
    };
    // SAFETY: every sample's `sample` values are written, part after part.
    unsafe { crate::runtime::uninit::written(batch * sample, fill) }
}
