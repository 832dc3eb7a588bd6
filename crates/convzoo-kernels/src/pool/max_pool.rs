//! Max pooling on plain slices, with windows clipped to the input (padding costs nothing),
//! parallel over planes; the index of each window's maximum is kept (as a `u32` within its
//! plane) only when a backward pass needs it. The training pass, maxima with their indices, is
//! in `max_pool_grid.rs`.

use rayon::prelude::*;
/// Window, stride and symmetric padding of a 2D max pooling over `[planes, height, width]`
/// (dilation 1, floor mode; padding counts as minus infinity, as in PyTorch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPoolGeometry {
    /// Batch size times channels.
    pub planes: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Window height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Padding on each side, along height and width (at most half the window).
    pub padding: [usize; 2],
}

impl MaxPoolGeometry {
    /// Output height and width (floor mode).
    pub fn output(&self) -> [usize; 2] {
        let out =
            |d: usize| (self.input[d] + 2 * self.padding[d] - self.kernel[d]) / self.stride[d] + 1;
        [out(0), out(1)]
    }

    /// The input rows (or columns, `d = 1`) of output row `o`'s window, clipped to the input.
    fn window(&self, d: usize, o: usize) -> (usize, usize) {
        let start = (o * self.stride[d]) as isize - self.padding[d] as isize;
        let end = (start + self.kernel[d] as isize).min(self.input[d] as isize);
        (start.max(0) as usize, end.max(0) as usize)
    }
}

/// The larger of `a` and `b`, NaN if either is (branch-free, so that loops vectorise).
#[inline(always)]
fn nan_max(a: f32, b: f32) -> f32 {
    if a > b || a.is_nan() { a } else { b }
}

/// [`nan_max`] of a new value `v` and the running maximum `d` in memory, to be stored over `d`:
/// plus 0 (which changes only -0 to +0), else the compiler stores just the lanes where `v`
/// wins, with masked stores (`vmaskmovps`), which are slow on AMD's cores.
#[inline(always)]
fn running_max(v: f32, d: f32) -> f32 {
    nan_max(v, d) + 0.0
}

/// The maximum of `values` as [`running_max`] folds it (minus infinity if empty).
#[inline(always)]
fn fold_max<'a>(values: impl Iterator<Item = &'a f32>) -> f32 {
    values.fold(f32::NEG_INFINITY, |m, &v| running_max(v, m))
}

/// Column maxima of whole rows laid end to end: `dst[r][o]` is the maximum of `src[r][o s + j -
/// p]` over the window's columns `j` inside the row (`src` rows of `W`, `dst` rows of `W_out`).
///
/// Output `q` of a row reads input `q s + j - p`: one pass per column of the window. Where `W =
/// s W_out` (a padded 3x3 window at stride 1 or 2 on an even width) the passes run over all rows
/// at once, and the first and last columns of each row, whose windows such passes let cross into
/// the neighbouring rows, are recomputed clipped after.
#[inline(always)]
fn column_maxima(g: &MaxPoolGeometry, src: &[f32], dst: &mut [f32]) {
    let (w, wo) = (g.input[1], g.output()[1]);
    let (k, s, p) = (g.kernel[1], g.stride[1], g.padding[1]);
    let (src_run, dst_run) = if w == s * wo {
        (src.len(), dst.len())
    } else {
        (w, wo)
    };
    for (src_r, dst_r) in src.chunks_exact(src_run).zip(dst.chunks_exact_mut(dst_run)) {
        match s {
            1 => columns_flat::<1>(src_r, dst_r, k, p),
            2 => columns_flat::<2>(src_r, dst_r, k, p),
            _ => columns_flat_any(src_r, dst_r, k, s, p),
        }
    }
    let left = p.div_ceil(s).min(wo);
    let right = (w + p + 1).saturating_sub(k).div_ceil(s).clamp(left, wo);
    if src_run > w && (left > 0 || right < wo) {
        for (src_r, dst_r) in src.chunks_exact(w).zip(dst.chunks_exact_mut(wo)) {
            for o in (0..left).chain(right..wo) {
                let (lo, hi) = g.window(1, o);
                dst_r[o] = fold_max(src_r[lo..hi].iter());
            }
        }
    }
}

/// `dst[q] = max_j src[q S + j - p]` over the taps `j < k` whose index is inside `src`: the
/// centre tap first (minus infinity where it is outside), then one pass per other tap.
#[inline(always)]
fn columns_flat<const S: usize>(src: &[f32], dst: &mut [f32], k: usize, p: usize) {
    let (lo, hi) = tap_pass::<S, true>(src, dst, p, p);
    dst[..lo].fill(f32::NEG_INFINITY);
    dst[hi..].fill(f32::NEG_INFINITY);
    for j in (0..k).filter(|&j| j != p) {
        tap_pass::<S, false>(src, dst, j, p);
    }
}

/// Tap `j`'s pass of [`columns_flat`]: `dst[q]` becomes `src[q S + j - p]` (`FIRST`) or the
/// larger of the two, for the outputs `lo..hi` whose index is inside `src`, which it returns.
/// Whole chunks of `S` values in one loop that vectorises, the last few outputs one by one.
#[inline(always)]
fn tap_pass<const S: usize, const FIRST: bool>(
    src: &[f32],
    dst: &mut [f32],
    j: usize,
    p: usize,
) -> (usize, usize) {
    let lo = p.saturating_sub(j).div_ceil(S).min(dst.len());
    let hi = (src.len() + p)
        .saturating_sub(j)
        .div_ceil(S)
        .clamp(lo, dst.len());
    let take = |v: f32, d: f32| if FIRST { v + 0.0 } else { running_max(v, d) };
    let start = (lo * S + j).saturating_sub(p).min(src.len());
    let mut done = lo;
    for (d, c) in dst[lo..hi].iter_mut().zip(src[start..].chunks_exact(S)) {
        *d = take(c[0], *d);
        done += 1;
    }
    for q in done..hi {
        dst[q] = take(src[q * S + j - p], dst[q]);
    }
    (lo, hi)
}

/// [`columns_flat`] for a stride known only at run time.
#[inline(always)]
fn columns_flat_any(src: &[f32], dst: &mut [f32], k: usize, s: usize, p: usize) {
    for (q, d) in dst.iter_mut().enumerate() {
        let (lo, hi) = ((q * s).saturating_sub(p), (q * s + k - p).min(src.len()));
        *d = fold_max(src[lo..hi].iter());
    }
}

/// Row maxima of whole planes laid end to end: `out[n][o]` (a row of `W_out` values) is the
/// maximum of `rows[n][o s + i - p]` over the window's rows `i` inside plane `n`. At stride 1 on
/// planes as tall as their output, one long pass per row of the window over all planes, then the
/// first and last rows of each plane recomputed clipped; otherwise output row by output row.
#[inline(always)]
fn row_maxima(g: &MaxPoolGeometry, rows: &[f32], out: &mut [f32]) {
    let (h, [ho, wo]) = (g.input[0], g.output());
    let (k, s, p) = (g.kernel[0], g.stride[0], g.padding[0]);
    let clipped = |plane: &[f32], oh: usize, dst: &mut [f32]| {
        dst.fill(f32::NEG_INFINITY);
        let (lo, hi) = g.window(0, oh);
        for ih in lo..hi {
            for (d, &v) in dst.iter_mut().zip(&plane[ih * wo..(ih + 1) * wo]) {
                *d = running_max(v, *d);
            }
        }
    };
    let planes = rows.chunks_exact(h * wo).zip(out.chunks_exact_mut(ho * wo));
    if s != 1 || h != ho {
        for (plane, out_n) in planes {
            for (oh, dst) in out_n.chunks_exact_mut(wo).enumerate() {
                clipped(plane, oh, dst);
            }
        }
        return;
    }
    for (d, &v) in out.iter_mut().zip(rows) {
        *d = v + 0.0;
    }
    for i in (0..k).filter(|&i| i != p) {
        let len = out.len();
        if i > p {
            let off = ((i - p) * wo).min(len);
            for (d, &v) in out[..len - off].iter_mut().zip(&rows[off..]) {
                *d = running_max(v, *d);
            }
        } else {
            let off = ((p - i) * wo).min(len);
            for (d, &v) in out[off..].iter_mut().zip(&rows[..len - off]) {
                *d = running_max(v, *d);
            }
        }
    }
    let bottom = (h + p + 1).saturating_sub(k).max(p.min(ho));
    for (plane, out_n) in rows.chunks_exact(h * wo).zip(out.chunks_exact_mut(ho * wo)) {
        for oh in (0..p.min(ho)).chain(bottom.min(ho)..ho) {
            clipped(plane, oh, &mut out_n[oh * wo..(oh + 1) * wo]);
        }
    }
}

/// Window maxima of whole planes (`input` and `out` hold the same number), separably: column
/// maxima into `rows` (`[planes, H, W_out]`), then the maxima of those over the window's rows.
#[inline(always)]
fn pool_planes(g: &MaxPoolGeometry, input: &[f32], out: &mut [f32], rows: &mut [f32]) {
    let rows = &mut rows[..input.len() / g.input[1] * g.output()[1]];
    column_maxima(g, input, rows);
    row_maxima(g, rows, out);
}

crate::multiversion! {
    /// [`pool_planes`] for the CPU's path.
    fn pool_planes_isa(g: &MaxPoolGeometry, input: &[f32], out: &mut [f32], rows: &mut [f32]) = pool_planes;
}

/// Input values of the planes [`pool_planes`] takes at once: they, and their column maxima,
/// stay in the L2 cache between the two passes.
const BLOCK_VALUES: usize = 32 * 1024;

/// The maximum of each window (NaN wins, as in PyTorch); with `indices`, also where it is
/// (`h * W + w` within its plane, the first of equal maxima).
pub fn max_pool_forward(g: &MaxPoolGeometry, x: &[f32], indices: Option<&mut [u32]>) -> Vec<f32> {
    let [h, w] = g.input;
    let [ho, wo] = g.output();
    assert_eq!(x.len(), g.planes * h * w, "max pool input length");
    let mut y = vec![0.0f32; g.planes * ho * wo];
    // Planes a task: a few tasks a thread, each with its scratch made once (rayon's
    // `for_each_init` makes one per split, up to one per plane).
    let task = g.planes.div_ceil(4 * rayon::current_num_threads()).max(1);
    if let Some(indices) = indices {
        assert_eq!(indices.len(), y.len(), "max pool indices length");
        super::max_pool_grid::forward_with_indices(g, x, &mut y, indices, task);
        return y;
    }
    let tasks = y
        .par_chunks_mut(task * ho * wo)
        .zip(x.par_chunks(task * h * w));
    let block = (BLOCK_VALUES / (h * w).max(1)).clamp(1, task);
    tasks.for_each(|(out, input)| {
        let mut rows = vec![0.0f32; block * h * wo];
        for (out, input) in out
            .chunks_mut(block * ho * wo)
            .zip(input.chunks(block * h * w))
        {
            pool_planes_isa(g, input, out, &mut rows);
        }
    });
    y
}

/// Gradient of [`max_pool_forward`]: each output gradient added to its window's maximum.
pub fn max_pool_backward(g: &MaxPoolGeometry, indices: &[u32], dy: &[f32]) -> Vec<f32> {
    let [h, w] = g.input;
    let [ho, wo] = g.output();
    let mut dx = vec![0.0f32; g.planes * h * w];
    dx.par_chunks_mut(h * w)
        .zip(dy.par_chunks(ho * wo).zip(indices.par_chunks(ho * wo)))
        .for_each(|(plane, (grad, idx))| {
            for (&d, &i) in grad.iter().zip(idx) {
                plane[i as usize] += d;
            }
        });
    dx
}
