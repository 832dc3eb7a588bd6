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

use crate::conv_kernels::{ConvGeometry, Epilogue};
use crate::matmul::{Strided, gemm_into};
use crate::tasks::{blocks, for_each_task, gemm_parallelism, per_task};

/// Tiles a gemm should at least have (late ResNet stages have 4 a sample: samples are grouped).
const MIN_TILES: usize = 256;

/// Whether F(2x2, 3x3) computes this convolution: a 3x3 kernel, stride 1, padding at most 2,
/// enough input and output channels that the gemms' saving outweighs the transforms, and outputs of 6x6
/// or more (smaller ones waste much of their tiles). Where it measured faster than im2col
/// (`bench --layers`; BENCHMARKS.md): not on the AVX-512 path, whose gemms are twice as fast
/// while the transforms stay bound by memory.
pub fn applies(g: &ConvGeometry) -> bool {
    let [h, w] = g.output();
    crate::cpu::isa() != crate::cpu::Isa::Avx512
        && g.kernel == [3, 3]
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

/// `B^T d B` for every input channel and tile of samples `n0..n0 + nb` into `v[xi][c][t]`,
/// `t` running over the block's tiles (`ld` of them), sample-major.
fn input_transform(g: &ConvGeometry, x: &[f32], n0: usize, nb: usize, v: &mut [f32], ld: usize) {
    let [h, w] = g.input;
    let [th, tw] = tiles(g);
    let (ph, pw) = (g.padding[0].0 as isize, g.padding[1].0 as isize);
    let ci = g.channels_in;
    for b in 0..nb {
        let sample = &x[(n0 + b) * ci * h * w..][..ci * h * w];
        for c in 0..ci {
            let plane = &sample[c * h * w..][..h * w];
            for ty in 0..th {
                for tx in 0..tw {
                    let (r0, c0) = (2 * ty as isize - ph, 2 * tx as isize - pw);
                    let mut d = [[0.0f32; 4]; 4];
                    let inside = r0 >= 0 && c0 >= 0 && r0 + 4 <= h as isize && c0 + 4 <= w as isize;
                    for (i, row) in d.iter_mut().enumerate() {
                        let r = r0 + i as isize;
                        if inside {
                            let s = &plane[r as usize * w + c0 as usize..][..4];
                            row.copy_from_slice(s);
                        } else if r >= 0 && r < h as isize {
                            for (j, val) in row.iter_mut().enumerate() {
                                let cc = c0 + j as isize;
                                if cc >= 0 && cc < w as isize {
                                    *val = plane[r as usize * w + cc as usize];
                                }
                            }
                        }
                    }
                    // B^T d: rows.
                    let mut t = [[0.0f32; 4]; 4];
                    for j in 0..4 {
                        t[0][j] = d[0][j] - d[2][j];
                        t[1][j] = d[1][j] + d[2][j];
                        t[2][j] = d[2][j] - d[1][j];
                        t[3][j] = d[1][j] - d[3][j];
                    }
                    // (B^T d) B: columns.
                    let tile = b * th * tw + ty * tw + tx;
                    for (i, r) in t.iter().enumerate() {
                        let out = [r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3]];
                        for (j, &val) in out.iter().enumerate() {
                            v[((4 * i + j) * ci + c) * ld + tile] = val;
                        }
                    }
                }
            }
        }
    }
}

/// `A^T m A` for every output channel and tile of the block from `m[xi][o][t]`, written into
/// the block's samples of `y` (`[N, C_out, H_out, W_out]`, starting at sample `n0 - y_start`
/// of `y`).
fn output_transform(g: &ConvGeometry, m: &[f32], ld: usize, nb: usize, y: &mut [f32]) {
    let [ho, wo] = g.output();
    let [th, tw] = tiles(g);
    let co = g.channels_out;
    for b in 0..nb {
        let sample = &mut y[b * co * ho * wo..][..co * ho * wo];
        for o in 0..co {
            let plane = &mut sample[o * ho * wo..][..ho * wo];
            for ty in 0..th {
                for tx in 0..tw {
                    let tile = b * th * tw + ty * tw + tx;
                    let at = |xi: usize| m[(xi * co + o) * ld + tile];
                    // A^T m: 2x4.
                    let column = |j: usize| (at(j), at(4 + j), at(8 + j), at(12 + j));
                    let r: [[f32; 4]; 2] = [
                        std::array::from_fn(|j| {
                            let (m0, m1, m2, _) = column(j);
                            m0 + m1 + m2
                        }),
                        std::array::from_fn(|j| {
                            let (_, m1, m2, m3) = column(j);
                            m1 - m2 - m3
                        }),
                    ];
                    for (i, row) in r.iter().enumerate() {
                        let oy = 2 * ty + i;
                        if oy >= ho {
                            continue;
                        }
                        let pair = [row[0] + row[1] + row[2], row[1] - row[2] - row[3]];
                        for (j, &val) in pair.iter().enumerate() {
                            let ox = 2 * tx + j;
                            if ox < wo {
                                plane[oy * wo + ox] = val;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Output `[N, C_out, H_out, W_out]` of a convolution that [`applies`], each value finished by
/// `epilogue` (as [`crate::conv_kernels::forward`]).
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
            output_transform(g, &m, ld, nb, y_block);
            for b in 0..nb {
                for o in 0..co {
                    let row = &mut y_block[b * y_len + o * pixels..][..pixels];
                    let res = epilogue
                        .residual
                        .map(|r| &r[(n0 + b) * y_len + o * pixels..][..pixels]);
                    epilogue.apply(row, o, res);
                }
            }
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
        ] {
            let g = ConvGeometry {
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
        }
    }
}
