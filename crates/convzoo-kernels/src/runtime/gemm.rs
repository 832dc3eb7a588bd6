//! [`gemm_into`]: one call of the `gemm` crate on row-major or transposed operands, with the
//! bounds checked before the unsafe call.

use std::mem::MaybeUninit;

/// A matrix operand of [`gemm_into`]: element `(r, c)` is `values[r * row + c * col]`.
#[derive(Clone, Copy)]
pub(crate) struct Strided<'a> {
    values: &'a [f32],
    row: usize,
    col: usize,
}

impl<'a> Strided<'a> {
    pub(crate) fn new(values: &'a [f32], row: usize, col: usize) -> Self {
        Self { values, row, col }
    }

    /// Whether an `rows x cols` matrix fits in `values`.
    fn holds(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.row + (cols - 1) * self.col < self.values.len()
    }
}

/// `dst = (dst if accumulate) + lhs * rhs` with `dst` row-major `[m, n]`, `lhs` `[m, k]` and
/// `rhs` `[k, n]`, by the `gemm` crate.
pub(crate) fn gemm_into(
    dst: &mut [f32],
    [m, n, k]: [usize; 3],
    accumulate: bool,
    lhs: Strided,
    rhs: Strided,
    parallelism: gemm::Parallelism,
) {
    gemm_rows(dst, n, [m, n, k], accumulate, lhs, rhs, parallelism);
}

/// [`gemm_into`] with `dst`'s rows `dst_row` values apart (`dst_row >= n`).
pub(crate) fn gemm_rows(
    dst: &mut [f32],
    dst_row: usize,
    [m, n, k]: [usize; 3],
    accumulate: bool,
    lhs: Strided,
    rhs: Strided,
    parallelism: gemm::Parallelism,
) {
    assert!(dst_row >= n && Strided::new(dst, dst_row, 1).holds(m, n));
    // SAFETY: `dst` holds the `m x n` matrix with rows `dst_row` apart (asserted).
    unsafe {
        gemm_raw(
            dst.as_mut_ptr(),
            dst_row,
            [m, n, k],
            accumulate,
            lhs,
            rhs,
            parallelism,
        )
    }
}

/// [`gemm_into`] (not accumulating) into an uninitialised `dst` of at least `m n` values, all
/// of which it writes.
pub(crate) fn gemm_uninit(
    dst: &mut [MaybeUninit<f32>],
    [m, n, k]: [usize; 3],
    lhs: Strided,
    rhs: Strided,
    parallelism: gemm::Parallelism,
) {
    assert!(dst.len() >= m * n && k > 0);
    // SAFETY: `dst` holds the row-major `m x n` matrix (asserted), and gemm without
    // accumulation only writes it (every value: the depth `k` is not zero).
    unsafe {
        gemm_raw(
            dst.as_mut_ptr().cast(),
            n,
            [m, n, k],
            false,
            lhs,
            rhs,
            parallelism,
        )
    }
}

/// The `gemm` crate's call.
///
/// # Safety
/// `dst` must be valid for writes (and, with `accumulate`, reads) of an `m x n` matrix whose rows
/// are `dst_row >= n` values apart.
unsafe fn gemm_raw(
    dst: *mut f32,
    dst_row: usize,
    [m, n, k]: [usize; 3],
    accumulate: bool,
    lhs: Strided,
    rhs: Strided,
    parallelism: gemm::Parallelism,
) {
    assert!(lhs.holds(m, k) && rhs.holds(k, n));
    // SAFETY: the assertion keeps every index gemm reads inside the operands, the caller's
    // contract every index it writes inside `dst`, and the destination's rows do not overlap.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_row as isize,
            accumulate,
            lhs.values.as_ptr(),
            lhs.col as isize,
            lhs.row as isize,
            rhs.values.as_ptr(),
            rhs.col as isize,
            rhs.row as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
