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

/// One plane's window maxima, separably: each input row's maxima over the window's columns
/// into `rows` (`[H, W_out]`), then the maxima of those over the window's rows.
#[inline(always)]
fn pool_plane(g: &MaxPoolGeometry, input: &[f32], out: &mut [f32], rows: &mut [f32]) {
    let [h, w] = g.input;
    let [ho, wo] = g.output();
    let (kw, sw, pw) = (g.kernel[1], g.stride[1], g.padding[1]);
    for ih in 0..h {
        let src = &input[ih * w..(ih + 1) * w];
        let dst = &mut rows[ih * wo..(ih + 1) * wo];
        dst.fill(f32::NEG_INFINITY);
        for j in 0..kw {
            let (lo, hi) = crate::runtime::rows::valid_columns(wo, w, sw, j, pw);
            if lo == hi {
                continue;
            }
            let first = lo * sw + j - pw;
            if sw == 1 {
                for (d, &v) in dst[lo..hi].iter_mut().zip(&src[first..]) {
                    *d = running_max(v, *d);
                }
            } else {
                for (d, &v) in dst[lo..hi].iter_mut().zip(src[first..].iter().step_by(sw)) {
                    *d = running_max(v, *d);
                }
            }
        }
    }
    for oh in 0..ho {
        let dst = &mut out[oh * wo..(oh + 1) * wo];
        dst.fill(f32::NEG_INFINITY);
        let (lo, hi) = g.window(0, oh);
        for ih in lo..hi {
            for (d, &v) in dst.iter_mut().zip(&rows[ih * wo..(ih + 1) * wo]) {
                *d = running_max(v, *d);
            }
        }
    }
}

crate::multiversion! {
    /// [`pool_plane`] for the CPU's path.
    fn pool_plane_isa(g: &MaxPoolGeometry, input: &[f32], out: &mut [f32], rows: &mut [f32]) = pool_plane;
}

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
    tasks.for_each(|(out, input)| {
        let mut rows = vec![0.0f32; h * wo];
        for (out, input) in out.chunks_mut(ho * wo).zip(input.chunks(h * w)) {
            pool_plane_isa(g, input, out, &mut rows);
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
