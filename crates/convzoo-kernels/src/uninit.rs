//! Output vectors that a kernel writes in full, allocated without the zero-fill that
//! `vec![0.0; n]` costs (a pass over memory the kernel then overwrites).

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// A vector of `len` values written by `fill`, which is given the uninitialised buffer.
///
/// # Safety
/// `fill` must write every element of the slice it is given.
pub(crate) unsafe fn written(len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut values = Vec::with_capacity(len);
    fill(&mut values.spare_capacity_mut()[..len]);
    // SAFETY: the caller's `fill` wrote all `len` elements.
    unsafe { values.set_len(len) };
    values
}

/// [`written`] in parallel: chunk `k` of `chunk` values (the last one shorter) is written by
/// `fill(k, values)`.
///
/// # Safety
/// `fill` must write every element of each chunk it is given.
pub(crate) unsafe fn written_in_chunks(
    len: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync + Send,
) -> Vec<f32> {
    let all = |values: &mut [MaybeUninit<f32>]| {
        values
            .par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(k, part)| fill(k, part))
    };
    // SAFETY: the chunks cover the buffer and the caller's `fill` writes each in full.
    unsafe { written(len, all) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_fill_wrote() {
        // SAFETY: every element is written.
        let v = unsafe {
            written(5, |buf| {
                for (i, b) in buf.iter_mut().enumerate() {
                    b.write(i as f32);
                }
            })
        };
        assert_eq!(v, [0.0, 1.0, 2.0, 3.0, 4.0]);
    }
}
