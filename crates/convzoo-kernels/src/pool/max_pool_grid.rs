//! Max pooling's training pass: each window's maximum and where it is, in one branch-free pass
//! per tap over the plane split by stride phase ([`forward_with_indices`]).

use rayon::prelude::*;

use crate::pool::max_pool::MaxPoolGeometry;

/// The maxima of planes `x` into `y` and their indices into `indices` (as
/// [`crate::max_pool_forward`] with indices), `task` planes a rayon task, each task with one
/// scratch.
pub(crate) fn forward_with_indices(
    g: &MaxPoolGeometry,
    x: &[f32],
    y: &mut [f32],
    indices: &mut [u32],
    task: usize,
) {
    let ([h, w], [ho, wo]) = (g.input, g.output());
    let tasks = y
        .par_chunks_mut(task * ho * wo)
        .zip(indices.par_chunks_mut(task * ho * wo))
        .zip(x.par_chunks(task * h * w));
    tasks.for_each(|((out, idx), input)| {
        let mut scratch = GridScratch::new(g);
        let planes = out.chunks_mut(ho * wo).zip(idx.chunks_mut(ho * wo));
        for ((out, idx), input) in planes.zip(input.chunks(h * w)) {
            pool_grid_indices_isa(g, input, out, idx, &mut scratch);
        }
    });
}

/// Scratch of [`pool_grid_indices`] for one plane: the padded plane (minus infinity where
/// padding) split into `s_h s_w` phases, phase `(r, q)` holding the padded rows `r, r + s_h, ...`
/// and columns `q, q + s_w, ...` (each with `k_w` values past its end, read by the grid's last
/// columns); the running maxima and where each tap lies from its window's corner, on the output
/// grid; and each tap's `(i, j)`; and where the phases lie.
pub(crate) struct GridScratch {
    phase: Phases,
    phases: Vec<f32>,
    best: Vec<f32>,
    taps: Vec<i32>,
    tap_offsets: Vec<[usize; 2]>,
}

/// Where the phases of [`GridScratch`] lie: columns of a phase, values between phases.
#[derive(Clone, Copy)]
struct Phases {
    cols: usize,
    stride: usize,
}

impl Phases {
    fn new(g: &MaxPoolGeometry) -> Self {
        let [hp, wp] = [0, 1].map(|d| g.input[d] + 2 * g.padding[d]);
        let (rows, cols) = (hp.div_ceil(g.stride[0]), wp.div_ceil(g.stride[1]));
        Self {
            cols,
            stride: rows * cols + g.kernel[1],
        }
    }
}

impl GridScratch {
    fn new(g: &MaxPoolGeometry) -> Self {
        let p = Phases::new(g);
        let [kh, kw] = g.kernel;
        let grid = g.output()[0] * p.cols;
        Self {
            phase: p,
            phases: vec![f32::NEG_INFINITY; g.stride[0] * g.stride[1] * p.stride],
            best: vec![0.0; grid],
            taps: vec![0; grid],
            tap_offsets: (0..kh * kw).map(|t| [t / kw, t % kw]).collect(),
        }
    }
}

/// One plane's window maxima and where they are (`h * W + w` within the plane). Output pixel
/// `(h, w)` sits at `h C + w` of a grid as wide as a phase (`C` columns), where tap `(i, j)`
/// reads phase `(i mod s_h, j mod s_w)` shifted by `(i / s_h) C + j / s_w`: each tap is one
/// branch-free pass over the whole grid, which vectorises however small the plane (GoogLeNet
/// pools planes of 12, 6 and 3 pixels a side). Each output keeps the first strictly larger value
/// of its window in row-major order, or the first NaN; the padding (minus infinity) never wins,
/// and a window whose values are all minus infinity keeps tap 0, which the index clamps onto the
/// window's first value.
#[inline(always)]
fn pool_grid_indices(
    g: &MaxPoolGeometry,
    input: &[f32],
    out: &mut [f32],
    idx: &mut [u32],
    scratch: &mut GridScratch,
) {
    let [h, w] = g.input;
    let [ph, pw] = g.padding;
    let [sh, sw] = g.stride;
    let [ho, wo] = g.output();
    let GridScratch {
        phase: p,
        phases,
        best,
        taps,
        tap_offsets,
    } = scratch;
    for q in 0..sw {
        // Phase column k holds padded column q + k s_w, input column q + k s_w - p_w.
        let k_lo = pw.saturating_sub(q).div_ceil(sw);
        let k_hi = (pw + w).saturating_sub(q).div_ceil(sw).max(k_lo);
        if k_lo == k_hi {
            continue;
        }
        let first = q + k_lo * sw - pw;
        for ih in 0..h {
            let (r, row) = ((ih + ph) % sh, (ih + ph) / sh);
            let phase = (r * sw + q) * p.stride;
            let dst = &mut phases[phase + row * p.cols..][k_lo..k_hi];
            crate::runtime::rows::gather_every(dst, &input[ih * w + first..(ih + 1) * w], sw);
        }
    }
    // Each tap recorded as its offset from the window's corner `(h s_h, w s_w)` in the
    // unpadded plane; tap 0 (the window's top left) starts every maximum.
    let offset = |[i, j]: [usize; 2]| (i as i32 - ph as i32) * w as i32 + j as i32 - pw as i32;
    let grid = best.len();
    best.copy_from_slice(&phases[..grid]);
    taps.fill(offset([0, 0]));
    for &[i, j] in tap_offsets.iter().skip(1) {
        let phase = ((i % sh) * sw + j % sw) * p.stride;
        let src = &phases[phase + (i / sh) * p.cols + j / sw..][..grid];
        let t = offset([i, j]);
        for ((b, a), &v) in best.iter_mut().zip(taps.iter_mut()).zip(src) {
            let take = (v > *b) | (v.is_nan() & !b.is_nan());
            *b = if take { v } else { *b };
            *a = if take { t } else { *a };
        }
    }
    for oh in 0..ho {
        let row = oh * p.cols;
        out[oh * wo..(oh + 1) * wo].copy_from_slice(&best[row..row + wo]);
        let corner = (oh * sh * w) as i32;
        let dst = &mut idx[oh * wo..(oh + 1) * wo];
        for (ow, (d, &t)) in dst.iter_mut().zip(&taps[row..row + wo]).enumerate() {
            *d = (corner + (ow * sw) as i32 + t) as u32;
        }
    }
    // A window whose values are all minus infinity keeps tap 0; where that tap is padding (the
    // first rows and columns), its index is the window's first value instead.
    let first = offset([0, 0]);
    for oh in 0..ho {
        // Tap 0 is padding in the first rows, and in the first columns of every row.
        let cols = if oh * sh < ph {
            wo
        } else {
            pw.div_ceil(sw).min(wo)
        };
        for ow in 0..cols {
            if taps[oh * p.cols + ow] == first {
                let ih = (oh * sh).saturating_sub(ph);
                let iw = (ow * sw).saturating_sub(pw);
                idx[oh * wo + ow] = (ih * w + iw) as u32;
            }
        }
    }
}

crate::multiversion! {
    /// [`pool_grid_indices`] for the CPU's path.
    fn pool_grid_indices_isa(
        g: &MaxPoolGeometry,
        input: &[f32],
        out: &mut [f32],
        idx: &mut [u32],
        scratch: &mut GridScratch,
    ) = pool_grid_indices;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::max_pool_forward;

    /// Each window's maximum and the first place it occurs (the first NaN, where there is one),
    /// by a plain scan of the window in row-major order.
    fn naive(g: &MaxPoolGeometry, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
        let ([h, w], [ho, wo]) = (g.input, g.output());
        let (mut y, mut idx) = (Vec::new(), Vec::new());
        for plane in x.chunks(h * w) {
            for oh in 0..ho {
                for ow in 0..wo {
                    let mut best: Option<(f32, usize)> = None;
                    for i in 0..g.kernel[0] {
                        for j in 0..g.kernel[1] {
                            let ih = (oh * g.stride[0] + i) as isize - g.padding[0] as isize;
                            let iw = (ow * g.stride[1] + j) as isize - g.padding[1] as isize;
                            if ih < 0 || iw < 0 || ih >= h as isize || iw >= w as isize {
                                continue;
                            }
                            let p = ih as usize * w + iw as usize;
                            let v = plane[p];
                            let better = match best {
                                None => true,
                                Some((b, _)) => !b.is_nan() && (v > b || v.is_nan()),
                            };
                            if better {
                                best = Some((v, p));
                            }
                        }
                    }
                    let (v, p) = best.expect("a window meets the input");
                    y.push(v);
                    idx.push(p as u32);
                }
            }
        }
        (y, idx)
    }

    /// Maxima and their places against [`naive`] on inputs full of ties (small integers),
    /// minus infinities (whole planes of them) and NaNs, on every path; the inference pass's
    /// maxima against the same.
    #[test]
    fn ties_go_to_the_first_and_nans_win() {
        crate::testing::on_every_path(|| {
            // GoogLeNet's and DenseNet's padded windows at stride 1 and 2 on even sizes (the
            // inference pass's flattened passes, planes of 1x1 to 48x48), and odd sizes, unpadded
            // windows, stride 3, non-square windows and a 2x2 window padded by 1 (row by row).
            let shapes = [
                ([3, 3], [1, 1], [1, 1], [6, 6]),
                ([3, 3], [1, 1], [1, 1], [3, 3]),
                ([3, 3], [1, 1], [1, 1], [1, 1]),
                ([5, 5], [1, 1], [2, 2], [7, 4]),
                ([3, 3], [2, 2], [1, 1], [48, 48]),
                ([3, 3], [2, 2], [1, 1], [24, 24]),
                ([3, 3], [2, 2], [1, 1], [6, 6]),
                ([3, 3], [2, 2], [1, 1], [2, 2]),
                ([3, 3], [2, 2], [1, 1], [1, 1]),
                ([3, 3], [2, 2], [1, 1], [9, 8]),
                ([3, 3], [2, 2], [1, 1], [9, 7]),
                ([3, 3], [2, 2], [0, 0], [13, 13]),
                ([3, 3], [2, 2], [0, 0], [54, 54]),
                ([2, 2], [2, 2], [0, 0], [8, 8]),
                ([2, 2], [2, 2], [1, 1], [7, 7]),
                ([3, 3], [3, 3], [1, 1], [9, 12]),
                ([3, 2], [2, 1], [1, 1], [10, 7]),
                ([1, 3], [1, 1], [0, 1], [5, 6]),
            ];
            for (kernel, stride, padding, input) in shapes {
                // Enough planes that a task of the inference pass takes several at once.
                let g = MaxPoolGeometry {
                    planes: 37,
                    input,
                    kernel,
                    stride,
                    padding,
                };
                let len = g.planes * input[0] * input[1];
                let mixed = (0..len).map(|i| match (i * 7919) % 23 {
                    0 => f32::NAN,
                    1 | 2 => f32::NEG_INFINITY,
                    r => (r % 3) as f32,
                });
                // Windows of nothing but minus infinity, the padding's value, in the first planes.
                let x: Vec<f32> = mixed
                    .enumerate()
                    .map(|(i, v)| if i < len / 3 { f32::NEG_INFINITY } else { v })
                    .collect();
                let mut idx = vec![0u32; g.planes * g.output()[0] * g.output()[1]];
                let y = max_pool_forward(&g, &x, Some(&mut idx));
                let (y_ref, idx_ref) = naive(&g, &x);
                let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
                assert!(
                    y.iter().zip(&y_ref).all(|(&a, &b)| same(a, b)),
                    "{g:?}: maxima"
                );
                assert_eq!(idx, idx_ref, "{g:?}: places");
                let plain = max_pool_forward(&g, &x, None);
                assert!(
                    plain.iter().zip(&y_ref).all(|(&a, &b)| same(a, b)),
                    "{g:?}: inference"
                );
            }
        });
    }
}
