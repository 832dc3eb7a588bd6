//! [`gemm_into`]: one call of the `gemm` crate on row-major or transposed operands, with the
//! bounds checked before the unsafe call.

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
    assert!(lhs.holds(m, k) && rhs.holds(k, n));
    // SAFETY: the assertions keep every index gemm reads or writes inside its slice, and the
    // destination's rows do not overlap.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
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
