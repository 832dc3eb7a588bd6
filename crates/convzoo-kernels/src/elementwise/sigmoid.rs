//! The logistic sigmoid on plain slices, in one parallel, vectorised pass each way.
//!
//! Flex's element-wise operations are scalar and single-threaded, and a sigmoid with a cheap
//! backward built from them (convzoo-blocks' `activation::sigmoid`) is still about ten passes over the
//! activation. Here the forward pass is one pass (`exp` by Cody-Waite range reduction and a
//! degree-6 polynomial, which the compiler vectorises), and the backward pass is one more,
//! `dy * s * (1 - s)` from the saved output.

use std::mem::MaybeUninit;

/// Values per rayon task.
const CHUNK: usize = 1 << 14;

/// `exp(t)` for `t` in `[-87, 88]` (clamped), within 2 ulp; branch-free so that loops over it
/// vectorise on the baseline x86-64 target (no `roundps`: rounding by the 1.5 * 2^23 trick);
/// its multiply-adds fused where `FUSED`.
#[inline(always)]
fn exp_clamped<const FUSED: bool>(t: f32) -> f32 {
    use crate::runtime::cpu::madd;
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let t = t.clamp(-87.0, 88.0);
    let rounded = madd::<FUSED>(t, LOG2E, ROUND);
    let n = rounded - ROUND;
    let r = madd::<FUSED>(-n, LN2_LO, madd::<FUSED>(-n, LN2_HI, t));
    let p = 1.987_569_1e-4_f32;
    let p = madd::<FUSED>(p, r, 1.398_199_9e-3);
    let p = madd::<FUSED>(p, r, 8.333_452e-3);
    let p = madd::<FUSED>(p, r, 4.166_579_6e-2);
    let p = madd::<FUSED>(p, r, 0.166_666_65);
    let p = madd::<FUSED>(p, r, 0.5);
    let e = madd::<FUSED>(p * r, r, r) + 1.0;
    // 2^n from the integer n in `rounded`'s low mantissa bits (integer operations only, which
    // vectorise where a float-to-int conversion with Rust's saturation does not).
    let bits = rounded
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(127);
    let scale = f32::from_bits(bits << 23);
    e * scale
}

#[inline(always)]
fn sigmoid_chunk<const FUSED: bool>(out: &mut [MaybeUninit<f32>], xs: &[f32]) {
    assert_eq!(out.len(), xs.len());
    for (o, &v) in out.iter_mut().zip(xs) {
        let s = 1.0 / (1.0 + exp_clamped::<FUSED>(-v));
        // Below -87 the true value is under f32's normal range: 0, not a subnormal.
        o.write(if v < -87.0 { 0.0 } else { s });
    }
}

#[inline(always)]
fn sigmoid_rows<const FUSED: bool>(row: &mut [f32]) {
    for v in row.iter_mut() {
        let x = *v;
        let s = 1.0 / (1.0 + exp_clamped::<FUSED>(-x));
        *v = if x < -87.0 { 0.0 } else { s };
    }
}

crate::multiversion! {
    /// The sigmoid in place, for the CPU's path.
    pub(crate) fn sigmoid_in_place(row: &mut [f32]) = sigmoid_rows::<FUSED>;
}

crate::multiversion! {
    /// [`sigmoid_chunk`] for the CPU's path.
    fn sigmoid_chunk_isa(out: &mut [MaybeUninit<f32>], xs: &[f32]) = sigmoid_chunk::<FUSED>;
}

#[inline(always)]
fn grad_chunk(out: &mut [MaybeUninit<f32>], ss: &[f32], ds: &[f32]) {
    assert!(out.len() == ss.len() && out.len() == ds.len());
    for ((o, &v), &d) in out.iter_mut().zip(ss).zip(ds) {
        o.write(d * v * (1.0 - v));
    }
}

crate::multiversion! {
    /// [`grad_chunk`] for the CPU's path.
    fn grad_chunk_isa(out: &mut [MaybeUninit<f32>], ss: &[f32], ds: &[f32]) = grad_chunk;
}

/// `1 / (1 + exp(-x))` over a slice.
pub fn sigmoid_values(x: &[f32]) -> Vec<f32> {
    let fill = |k: usize, out: &mut [MaybeUninit<f32>]| {
        sigmoid_chunk_isa(out, &x[k * CHUNK..][..out.len()])
    };
    // SAFETY: `sigmoid_chunk` writes every element of its chunk.
    unsafe { crate::runtime::uninit::written_in_chunks(x.len(), CHUNK, fill) }
}

/// `dy * s * (1 - s)` over slices.
pub fn sigmoid_grad(s: &[f32], dy: &[f32]) -> Vec<f32> {
    assert_eq!(s.len(), dy.len());
    let fill = |k: usize, out: &mut [MaybeUninit<f32>]| {
        let at = k * CHUNK..k * CHUNK + out.len();
        grad_chunk_isa(out, &s[at.clone()], &dy[at])
    };
    // SAFETY: `grad_chunk` writes every element of its chunk.
    unsafe { crate::runtime::uninit::written_in_chunks(s.len(), CHUNK, fill) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        fn check(exp: fn(f32) -> f32) {
            let mut worst = 0.0f64;
            let mut t = -87.0f32;
            while t <= 88.0 {
                let (ours, libm) = (exp(t) as f64, (t as f64).exp());
                worst = worst.max((ours - libm).abs() / libm);
                t += 0.001_37;
            }
            assert!(worst <= 2.5e-7, "worst relative error {worst:e}");
            // Clamped tails: no infinities, no NaN.
            assert!(exp(1e30).is_finite() && exp(-1e30) > 0.0);
        }
        check(exp_clamped::<false>);
        check(exp_clamped::<true>);
    }

    #[test]
    fn sigmoid_and_its_gradient_match_the_formula_on_every_path() {
        crate::testing::on_every_path(sigmoid_matches_the_formula);
    }

    fn sigmoid_matches_the_formula() {
        let x: Vec<f32> = (0..100_000)
            .map(|i| (i as f32 - 50_000.0) * 0.003)
            .collect();
        let dy: Vec<f32> = (0..x.len()).map(|i| (i % 7) as f32 - 3.0).collect();
        let s = sigmoid_values(&x);
        let g = sigmoid_grad(&s, &dy);
        for i in 0..x.len() {
            let exact = 1.0 / (1.0 + (-(x[i] as f64)).exp());
            assert!(
                (s[i] as f64 - exact).abs() <= 1.2e-7,
                "s({}) = {} vs {exact}",
                x[i],
                s[i]
            );
            let dexact = dy[i] as f64 * exact * (1.0 - exact);
            // 1 - s is exact to an ulp of 1 (6e-8) where s saturates, as in Burn's backward.
            let tolerance = 1e-6 * dexact.abs() + 1.5e-7 * (dy[i] as f64).abs();
            assert!(
                (g[i] as f64 - dexact).abs() <= tolerance,
                "ds({}) = {} vs {dexact}",
                x[i],
                g[i]
            );
        }
        assert_eq!(sigmoid_values(&[-200.0, 200.0]), vec![0.0, 1.0]);
    }
}
