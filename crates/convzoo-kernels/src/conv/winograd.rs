//! 3x3 stride-1 convolutions in inference by Winograd's minimal filtering F(2x2, 3x3) (training
//! keeps im2col: its rounding, a few ulp off the direct sum, moves the gradients of deep
//! networks further than the cross-backend test allows). Each 2x2 output tile
//! from a 4x4 input tile with 16 multiplications per input channel instead of 36, as 16 gemms
//! `[C_out, C_in] x [C_in, tiles]` between a weight transform and an output transform.
//!
//! With `B`, `G`, `A` the F(2, 3) matrices, a tile's output is `A^T [(G g G^T) . (B^T d B)] A`
//! summed over input channels (`.` element-wise). The transforms use only additions and halves,
//! so the result stays within a few ulp of the direct sum (the tests bound it against Burn's
//! convolution).

use rayon::prelude::*;

use crate::conv::{ConvGeometry, Epilogue};
use crate::runtime::gemm::{Strided, gemm_into};
use crate::runtime::tasks::{blocks, for_each_task, gemm_parallelism, per_task};

/// Tiles a gemm should at least have (late ResNet stages have 4 a sample: samples are grouped).
const MIN_TILES: usize = 256;

/// Whether F(2x2, 3x3) computes this convolution: a 3x3 kernel, stride 1, padding at most 2,
/// enough input and output channels that the gemms' saving outweighs the transforms, and outputs of 6x6
/// or more (smaller ones waste much of their tiles): where it measured faster than im2col, on
/// every kernel path since the transforms sweep whole rows of tiles (BENCHMARKS.md).
pub fn applies(g: &ConvGeometry) -> bool {
    let [h, w] = g.output();
    g.kernel == [3, 3]
        && g.stride == [1, 1]
        && g.padding.iter().all(|&(a, b)| a <= 2 && b <= 2)
        && g.channels_in >= MIN_CHANNELS_IN
        && g.channels_out >= MIN_CHANNELS_OUT
        && h >= 6
        && w >= 6
}

/// Input channels below which the transforms cost more than the gemms save.
const MIN_CHANNELS_IN: usize = 128;

/// Output channels below which the input transform is shared by too few (DenseNet's 32).
const MIN_CHANNELS_OUT: usize = 64;

/// Tiles per sample, along height and width.
fn tiles(g: &ConvGeometry) -> [usize; 2] {
    let [h, w] = g.output();
    [h.div_ceil(2), w.div_ceil(2)]
}

/// `G g G^T` for every `(o, c)`: `u[xi][o][c]`, `xi = 4 * row + col` of the 4x4 result.
fn weight_transform(g: &ConvGeometry, weight: &[f32]) -> Vec<f32> {
    let (co, ci) = (g.channels_out, g.channels_in);
    let mut u = vec![0.0f32; 16 * co * ci];
    // One output channel per task: u[xi][o][..] rows.
    let rows: Vec<Vec<[f32; 16]>> = (0..co)
        .into_par_iter()
        .map(|o| {
            (0..ci)
                .map(|c| {
                    let k = &weight[(o * ci + c) * 9..][..9];
                    // G k: 4x3.
                    let mut gk = [[0.0f32; 3]; 4];
                    for j in 0..3 {
                        let (a, b, d) = (k[j], k[3 + j], k[6 + j]);
                        gk[0][j] = a;
                        gk[1][j] = 0.5 * (a + b + d);
                        gk[2][j] = 0.5 * (a - b + d);
                        gk[3][j] = d;
                    }
                    // (G k) G^T: 4x4.
                    let mut t = [0.0f32; 16];
                    for (i, r) in gk.iter().enumerate() {
                        t[4 * i] = r[0];
                        t[4 * i + 1] = 0.5 * (r[0] + r[1] + r[2]);
                        t[4 * i + 2] = 0.5 * (r[0] - r[1] + r[2]);
                        t[4 * i + 3] = r[2];
                    }
                    t
                })
                .collect()
        })
        .collect();
    for (o, row) in rows.iter().enumerate() {
        for (c, t) in row.iter().enumerate() {
            for (xi, &v) in t.iter().enumerate() {
                u[(xi * co + o) * ci + c] = v;
            }
        }
    }
    u
}

crate::multiversion! {
    /// `B^T d B` for every input channel and tile of samples `n0..n0 + nb` into
    /// `v[xi][c][t]`, `t` running over the block's tiles (`ld` of them), sample-major.
    fn input_transform(g: &ConvGeometry, x: &[f32], n0: usize, nb: usize, v: &mut [f32], ld: usize)
        = input_transform_body;
}

/// [`input_transform`]: a plane at a time, each row of tiles as a whole. Tile `t` of a row
/// reads padded columns `2t..2t + 4`, which are `even[t], odd[t], even[t + 1], odd[t + 1]` of
/// its rows split into even and odd columns, so that every step is a contiguous sweep.
#[inline(always)]
fn input_transform_body(
    g: &ConvGeometry,
    x: &[f32],
    n0: usize,
    nb: usize,
    v: &mut [f32],
    ld: usize,
) {
    let [h, w] = g.input;
    let [th, tw] = tiles(g);
    let (ph, pw) = (g.padding[0].0, g.padding[1].0);
    let ci = g.channels_in;
    let n = tw + 1;
    // The plane's padded rows `0..2 * th + 2` (input row `r - ph`), each as `[even; n]` then
    // `[odd; n]`, zero outside the input.
    let mut split = vec![0.0f32; (2 * th + 2) * 2 * n];
    let mut padded = vec![0.0f32; 2 * n];
    // B^T d of one row of tiles: four rows, even and odd parts.
    let mut t = vec![0.0f32; 4 * 2 * n];
    for b in 0..nb {
        let sample = &x[(n0 + b) * ci * h * w..][..ci * h * w];
        for c in 0..ci {
            let plane = &sample[c * h * w..][..h * w];
            for (r, row) in split.chunks_exact_mut(2 * n).enumerate() {
                let Some(s) = r.checked_sub(ph).filter(|&s| s < h) else {
                    row.fill(0.0);
                    continue;
                };
                let len = w.min(2 * n - pw);
                padded.fill(0.0);
                padded[pw..][..len].copy_from_slice(&plane[s * w..][..len]);
                let (even, odd) = row.split_at_mut(n);
                for ((e, o), p) in even.iter_mut().zip(odd).zip(padded.chunks_exact(2)) {
                    *e = p[0];
                    *o = p[1];
                }
            }
            for ty in 0..th {
                let d = &split[2 * ty * 2 * n..][..4 * 2 * n];
                let (d0, rest) = d.split_at(2 * n);
                let (d1, rest) = rest.split_at(2 * n);
                let (d2, d3) = rest.split_at(2 * n);
                let (t0, rest) = t.split_at_mut(2 * n);
                let (t1, rest) = rest.split_at_mut(2 * n);
                let (t2, t3) = rest.split_at_mut(2 * n);
                for k in 0..2 * n {
                    t0[k] = d0[k] - d2[k];
                    t1[k] = d1[k] + d2[k];
                    t2[k] = d2[k] - d1[k];
                    t3[k] = d1[k] - d3[k];
                }
                let tile0 = b * th * tw + ty * tw;
                for (i, ti) in t.chunks_exact(2 * n).enumerate() {
                    let (e, o) = ti.split_at(n);
                    let (e0, e1, o0, o1) = (&e[..tw], &e[1..], &o[..tw], &o[1..]);
                    let at = |j: usize| ((4 * i + j) * ci + c) * ld + tile0;
                    for (dst, k) in v[at(0)..][..tw].iter_mut().zip(0..tw) {
                        *dst = e0[k] - e1[k];
                    }
                    for (dst, k) in v[at(1)..][..tw].iter_mut().zip(0..tw) {
                        *dst = o0[k] + e1[k];
                    }
                    for (dst, k) in v[at(2)..][..tw].iter_mut().zip(0..tw) {
                        *dst = e1[k] - o0[k];
                    }
                    for (dst, k) in v[at(3)..][..tw].iter_mut().zip(0..tw) {
                        *dst = o0[k] - o1[k];
                    }
                }
            }
        }
    }
}

crate::multiversion! {
    /// `A^T m A` for every output channel and tile of the block (samples `n0..n0 + nb`) from
    /// `m[xi][o][t]`, written into `y` (the block's `[nb, C_out, H_out, W_out]`), each plane
    /// finished by `epilogue` while it is in cache.
    fn output_transform(
        g: &ConvGeometry,
        m: &[f32],
        ld: usize,
        n0: usize,
        nb: usize,
        y: &mut [f32],
        epilogue: &Epilogue,
    ) = output_transform_body;
}

/// [`output_transform`]: a row of tiles at a time, its two output rows computed as even and
/// odd columns and then interleaved.
#[inline(always)]
fn output_transform_body(
    g: &ConvGeometry,
    m: &[f32],
    ld: usize,
    n0: usize,
    nb: usize,
    y: &mut [f32],
    epilogue: &Epilogue,
) {
    let [ho, wo] = g.output();
    let [th, tw] = tiles(g);
    let co = g.channels_out;
    // A^T m: two rows of four columns, `tw` tiles each.
    let mut r = vec![0.0f32; 8 * tw];
    let mut row = vec![0.0f32; 2 * tw];
    for b in 0..nb {
        let sample = &mut y[b * co * ho * wo..][..co * ho * wo];
        for o in 0..co {
            let plane = &mut sample[o * ho * wo..][..ho * wo];
            for ty in 0..th {
                let tile0 = b * th * tw + ty * tw;
                let at = |xi: usize| &m[(xi * co + o) * ld + tile0..][..tw];
                let (r0, r1) = r.split_at_mut(4 * tw);
                for j in 0..4 {
                    let (m0, m1, m2, m3) = (at(j), at(4 + j), at(8 + j), at(12 + j));
                    let (s0, s1) = (&mut r0[j * tw..][..tw], &mut r1[j * tw..][..tw]);
                    for k in 0..tw {
                        s0[k] = m0[k] + m1[k] + m2[k];
                        s1[k] = m1[k] - m2[k] - m3[k];
                    }
                }
                for (i, ri) in r.chunks_exact(4 * tw).enumerate() {
                    let oy = 2 * ty + i;
                    if oy >= ho {
                        continue;
                    }
                    let (c0, rest) = ri.split_at(tw);
                    let (c1, rest) = rest.split_at(tw);
                    let (c2, c3) = rest.split_at(tw);
                    for (k, pair) in row.chunks_exact_mut(2).enumerate() {
                        pair[0] = c0[k] + c1[k] + c2[k];
                        pair[1] = c1[k] - c2[k] - c3[k];
                    }
                    plane[oy * wo..][..wo].copy_from_slice(&row[..wo]);
                }
            }
            let offset = ((n0 + b) * co + o) * ho * wo;
            let residual = epilogue.residual.map(|r| &r[offset..][..ho * wo]);
            epilogue.apply(plane, o, residual);
        }
    }
}

/// Output `[N, C_out, H_out, W_out]` of a convolution that [`applies`], each value finished by
/// `epilogue` (as [`crate::conv::forward`]).
pub fn forward(g: &ConvGeometry, x: &[f32], weight: &[f32], epilogue: Epilogue) -> Vec<f32> {
    let (ci, co) = (g.channels_in, g.channels_out);
    let [ho, wo] = g.output();
    let pixels = ho * wo;
    let y_len = co * pixels;
    let [th, tw] = tiles(g);
    let per_sample = th * tw;
    let u = weight_transform(g, weight);
    let task = per_task(g.batch);
    let group = MIN_TILES.div_ceil(per_sample).clamp(1, task);
    let mut y = vec![0.0f32; g.batch * y_len];
    let parallelism = gemm_parallelism(g.batch);
    for_each_task(&mut y, y_len, g.batch, |start, end, y_task| {
        let mut v = vec![0.0f32; 16 * ci * group * per_sample];
        let mut m = vec![0.0f32; 16 * co * group * per_sample];
        for (n0, nb) in blocks(start, end, group) {
            let ld = nb * per_sample;
            input_transform(g, x, n0, nb, &mut v, ld);
            for xi in 0..16 {
                // m[xi][C_out, ld] = u[xi][C_out, C_in] * v[xi][C_in, ld]
                gemm_into(
                    &mut m[xi * co * ld..][..co * ld],
                    [co, ld, ci],
                    false,
                    Strided::new(&u[xi * co * ci..][..co * ci], ci, 1),
                    Strided::new(&v[xi * ci * ld..][..ci * ld], ld, 1),
                    parallelism,
                );
            }
            let y_block = &mut y_task[(n0 - start) * y_len..][..nb * y_len];
            output_transform(g, &m, ld, n0, nb, y_block, &epilogue);
        }
    });
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct sum, in f64.
    fn naive(g: &ConvGeometry, x: &[f32], weight: &[f32]) -> Vec<f32> {
        let [h, w] = g.input;
        let [ho, wo] = g.output();
        let (ci, co) = (g.channels_in, g.channels_out);
        let (ph, pw) = (g.padding[0].0 as isize, g.padding[1].0 as isize);
        let mut y = vec![0.0f32; g.batch * co * ho * wo];
        for n in 0..g.batch {
            for o in 0..co {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let mut acc = 0.0f64;
                        for c in 0..ci {
                            for i in 0..3 {
                                for j in 0..3 {
                                    let (r, s) = (oy as isize + i - ph, ox as isize + j - pw);
                                    if r >= 0 && s >= 0 && r < h as isize && s < w as isize {
                                        let xv =
                                            x[((n * ci + c) * h + r as usize) * w + s as usize];
                                        let wv = weight
                                            [((o * ci + c) * 3 + i as usize) * 3 + j as usize];
                                        acc += xv as f64 * wv as f64;
                                    }
                                }
                            }
                        }
                        y[((n * co + o) * ho + oy) * wo + ox] = acc as f32;
                    }
                }
            }
        }
        y
    }

    /// F(2x2, 3x3) against the direct sum on small geometries that `applies` would not pick
    /// (odd sizes, every padding up to 2, one sample and grouped samples).
    #[test]
    fn matches_the_direct_sum() {
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for (batch, ci, co, h, w, padding) in [
            (1, 3, 4, 5, 7, [(1, 1), (1, 1)]),
            (3, 5, 2, 4, 4, [(0, 0), (2, 2)]),
            (20, 2, 3, 3, 6, [(2, 1), (0, 2)]),
            (2, 4, 3, 13, 37, [(1, 1), (1, 0)]),
        ] {
            let g = ConvGeometry {
                groups: 1,
                batch,
                channels_in: ci,
                channels_out: co,
                input: [h, w],
                kernel: [3, 3],
                stride: [1, 1],
                padding,
            };
            let x: Vec<f32> = (0..batch * ci * h * w).map(|_| next()).collect();
            let weight: Vec<f32> = (0..co * ci * 9).map(|_| next()).collect();
            let ours = forward(&g, &x, &weight, Epilogue::default());
            let expected = naive(&g, &x, &weight);
            let worst = crate::testing::max_abs_diff(&ours, &expected);
            assert!(worst < 1e-6, "{g:?}: off by {worst}");
            // A bias, a residual and ReLU, applied plane by plane after the output transform.
            let bias: Vec<f32> = (0..co).map(|_| next()).collect();
            let residual: Vec<f32> = (0..expected.len()).map(|_| next()).collect();
            let epilogue = Epilogue {
                shift: Some(&bias),
                residual: Some(&residual),
                activation: crate::conv::Activation::Relu,
                ..Epilogue::default()
            };
            let fused = forward(&g, &x, &weight, epilogue);
            let pixels = expected.len() / batch / co;
            let finished: Vec<f32> = expected
                .iter()
                .zip(&residual)
                .enumerate()
                .map(|(i, (e, r))| (e + bias[i / pixels % co] + r).max(0.0))
                .collect();
            let worst = crate::testing::max_abs_diff(&fused, &finished);
            assert!(worst < 1e-6, "{g:?} with an epilogue: off by {worst}");
        }
    }
}
