//! Output vectors that a kernel writes in full, allocated without the zero-fill that
//! `vec![0.0; n]` costs (a pass over memory the kernel then overwrites).
//!
//! In debug and test builds the buffer is filled with NaN before the kernel sees it, so a kernel
//! that leaves a value unwritten fails its tests (a NaN never compares close) instead of
//! returning whatever the allocator left there.

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// A vector of `len` values written by `fill`, which is given the uninitialised buffer.
///
/// # Safety
/// `fill` must write every element of the slice it is given.
pub(crate) unsafe fn written(len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut values = Vec::with_capacity(len);
    let buffer = &mut values.spare_capacity_mut()[..len];
    if cfg!(any(debug_assertions, test)) {
        buffer.fill(MaybeUninit::new(f32::NAN));
    }
    fill(buffer);
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

    #[test]
    fn values_left_unwritten_read_as_nan_in_tests() {
        // SAFETY: deliberately not: the test build fills the buffer with NaN first, which is
        // what this checks; the last value is never read as anything but NaN.
        let v = unsafe {
            written(3, |buf| {
                buf[0].write(1.0);
                buf[1].write(2.0);
            })
        };
        assert_eq!(v[..2], [1.0, 2.0]);
        assert!(v[2].is_nan());
    }
}
