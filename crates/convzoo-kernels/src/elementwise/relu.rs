//! The ReLU on plain slices: `max(x, 0)` in one parallel, vectorised pass, and its gradient,
//! `dy` where the saved output is positive, in one more.

use std::mem::MaybeUninit;

/// Values per rayon task.
const CHUNK: usize = 1 << 15;

/// `max(v, 0)`, NaN kept (as PyTorch's ReLU).
#[inline(always)]
pub(crate) fn relu_value(v: f32) -> f32 {
    if v < 0.0 { 0.0 } else { v }
}

#[inline(always)]
fn relu_chunk(out: &mut [MaybeUninit<f32>], xs: &[f32]) {
    assert_eq!(out.len(), xs.len());
    for (o, &v) in out.iter_mut().zip(xs) {
        o.write(relu_value(v));
    }
}

crate::multiversion! {
    /// [`relu_chunk`] for the CPU's path.
    fn relu_chunk_isa(out: &mut [MaybeUninit<f32>], xs: &[f32]) = relu_chunk;
}

#[inline(always)]
fn relu_rows(row: &mut [f32]) {
    // `v + 0.0` where the value stays: storing `v` back unchanged would let the compiler store
    // only the zeros, with masked stores (`vmaskmovps`), which are slow on AMD's cores. The sum
    // is `v` itself but for -0, which becomes +0.
    for v in row.iter_mut() {
        *v = if *v < 0.0 { 0.0 } else { *v + 0.0 };
    }
}

crate::multiversion! {
    /// `max(v, 0)` in place, for the CPU's path.
    pub(crate) fn relu_in_place(row: &mut [f32]) = relu_rows;
}

#[inline(always)]
fn grad_chunk(out: &mut [MaybeUninit<f32>], ys: &[f32], ds: &[f32]) {
    assert!(out.len() == ys.len() && out.len() == ds.len());
    for ((o, &y), &d) in out.iter_mut().zip(ys).zip(ds) {
        o.write(if y > 0.0 { d } else { 0.0 });
    }
}

crate::multiversion! {
    /// [`grad_chunk`] for the CPU's path.
    fn grad_chunk_isa(out: &mut [MaybeUninit<f32>], ys: &[f32], ds: &[f32]) = grad_chunk;
}

/// `max(x, 0)` over a slice.
pub fn relu_values(x: &[f32]) -> Vec<f32> {
    let fill =
        |k: usize, out: &mut [MaybeUninit<f32>]| relu_chunk_isa(out, &x[k * CHUNK..][..out.len()]);
    // SAFETY: `relu_chunk` writes every element of its chunk.
    unsafe { crate::runtime::uninit::written_in_chunks(x.len(), CHUNK, fill) }
}

/// The ReLU's input gradient from its output `y`: `dy` where `y > 0`, else 0.
pub fn relu_grad(y: &[f32], dy: &[f32]) -> Vec<f32> {
    assert_eq!(y.len(), dy.len());
    let fill = |k: usize, out: &mut [MaybeUninit<f32>]| {
        let at = k * CHUNK..k * CHUNK + out.len();
        grad_chunk_isa(out, &y[at.clone()], &dy[at])
    };
    // SAFETY: `grad_chunk` writes every element of its chunk.
    unsafe { crate::runtime::uninit::written_in_chunks(y.len(), CHUNK, fill) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_keeps_nan_and_zeroes_negatives() {
        crate::testing::on_every_path(|| {
            assert!(relu_values(&[f32::NAN])[0].is_nan());
            assert_eq!(relu_values(&[-0.5, 0.0, 2.0]), vec![0.0, 0.0, 2.0]);
            assert_eq!(
                relu_grad(&[0.0, 1.0, 3.0], &[5.0, 6.0, 7.0]),
                vec![0.0, 6.0, 7.0]
            );
        });
    }
}
