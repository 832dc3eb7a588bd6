//! Row operations the kernels share: the window arithmetic of strided rows, short copies,
//! strided gathers and in-place adds, each compiled for the CPU's path where it loops.

/// The output columns `ow` whose input column `ow * stride + j - pad` lies inside `[0, width)`.
pub(crate) fn valid_columns(
    w_out: usize,
    width: usize,
    stride: usize,
    j: usize,
    pad: usize,
) -> (usize, usize) {
    let lo = pad.saturating_sub(j).div_ceil(stride).min(w_out);
    // Largest ow with ow * stride + j < width + pad.
    let hi = if width + pad > j {
        ((width + pad - j - 1) / stride + 1).min(w_out)
    } else {
        0
    };
    (lo, hi.max(lo))
}

/// `dst.copy_from_slice(src)`, with the short runs of small planes (LeNet's rows of 10 to 32
/// values) done inline by fixed-size, possibly overlapping moves instead of a call to
/// `memmove` each.
#[inline(always)]
pub(crate) fn copy_run<T: Copy>(dst: &mut [T], src: &[T]) {
    let n = dst.len();
    assert_eq!(n, src.len());
    fn block<const B: usize, T: Copy>(dst: &mut [T], src: &[T], at: usize) {
        let d: &mut [T; B] = (&mut dst[at..at + B]).try_into().unwrap();
        *d = src[at..at + B].try_into().unwrap();
    }
    match n {
        0 => {}
        1..4 => (0..n).for_each(|k| dst[k] = src[k]),
        4..8 => {
            block::<4, T>(dst, src, 0);
            block::<4, T>(dst, src, n - 4);
        }
        8..=16 => {
            block::<8, T>(dst, src, 0);
            block::<8, T>(dst, src, n - 8);
        }
        17..=32 => {
            block::<16, T>(dst, src, 0);
            block::<16, T>(dst, src, n - 16);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// `dst[k] = src[k * stride]` (`src` long enough): stride 1 a copy, stride 2 (the stems' and
/// the downsampling convolutions') an indexed loop without the iterator's per-step checks.
#[inline(always)]
pub(crate) fn gather_every(dst: &mut [f32], src: &[f32], stride: usize) {
    let n = dst.len();
    if n == 0 {
        return;
    }
    if stride == 1 {
        dst.copy_from_slice(&src[..n]);
        return;
    }
    if stride == 2 {
        let src = &src[..2 * n - 1];
        for (k, d) in dst.iter_mut().enumerate() {
            *d = src[2 * k];
        }
        return;
    }
    for (d, v) in dst.iter_mut().zip(src.iter().step_by(stride)) {
        *d = *v;
    }
}

crate::multiversion! {
    /// [`gather_every`] for the CPU's path.
    pub(crate) fn gather_every_isa(dst: &mut [f32], src: &[f32], stride: usize) = gather_every;
}

#[inline(always)]
fn add(dst: &mut [f32], src: &[f32]) {
    dst.iter_mut().zip(src).for_each(|(d, v)| *d += v);
}

crate::multiversion! {
    /// `dst += src`, for the CPU's path.
    pub(crate) fn add_isa(dst: &mut [f32], src: &[f32]) = add;
}
