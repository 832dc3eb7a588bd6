//! Patch matrices of a convolution: [`im2col`] lays a sample's receptive fields out as the
//! columns of a matrix for one gemm, [`col2im`] adds such a matrix back into an input gradient.

use super::ConvGeometry;
use crate::runtime::rows::{add_isa, copy_run, gather_every_isa, valid_columns};

/// Output pixels up to which [`im2col`] and [`col2im`] go by a [`tap_table`]: a patch row of so
/// few values (ResNet's and DenseNet's 3x3 stages) is a handful of values split into
/// shorter runs still by the padding, where a copy or a fill per run costs more than its values.
const TABLE_PIXELS: usize = 25;

/// For each kernel tap `(i, j)` (row-major) and output pixel, the offset in its input plane that
/// the pixel reads, or `u32::MAX` where that falls on the padding.
fn tap_table(g: &ConvGeometry) -> Vec<u32> {
    let [h_in, w_in] = g.input;
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let [(ph, _), (pw, _)] = g.padding;
    let [h_out, w_out] = g.output();
    let mut table = Vec::with_capacity(kh * kw * h_out * w_out);
    for i in 0..kh {
        for j in 0..kw {
            for oh in 0..h_out {
                for ow in 0..w_out {
                    let ih = (oh * sh + i).checked_sub(ph).filter(|&r| r < h_in);
                    let iw = (ow * sw + j).checked_sub(pw).filter(|&c| c < w_in);
                    table.push(match (ih, iw) {
                        (Some(r), Some(c)) => (r * w_in + c) as u32,
                        _ => u32::MAX,
                    });
                }
            }
        }
    }
    table
}

/// Writes one sample's patches into `cols`: row `(c, i, j)` of its `[C_in k_h k_w, H_out W_out]`
/// patch matrix starts at `cols[row * ld]`.
pub(crate) fn im2col(g: &ConvGeometry, x: &[f32], cols: &mut [f32], ld: usize) {
    let [h_in, w_in] = g.input;
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let [(ph, _), (pw, _)] = g.padding;
    let [h_out, w_out] = g.output();
    let pixels = h_out * w_out;
    if pixels <= TABLE_PIXELS {
        let table = tap_table(g);
        for (c, plane) in x.chunks_exact(h_in * w_in).take(g.channels_in).enumerate() {
            for (t, taps) in table.chunks_exact(pixels).enumerate() {
                let row = &mut cols[(c * kh * kw + t) * ld..][..pixels];
                for (v, &k) in row.iter_mut().zip(taps) {
                    *v = plane.get(k as usize).copied().unwrap_or(0.0);
                }
            }
        }
        return;
    }
    for c in 0..g.channels_in {
        let plane = &x[c * h_in * w_in..(c + 1) * h_in * w_in];
        for i in 0..kh {
            for j in 0..kw {
                let row = &mut cols[((c * kh + i) * kw + j) * ld..][..pixels];
                let (lo, hi) = valid_columns(w_out, w_in, sw, j, pw);
                if sh == 1 && sw == 1 && w_out == w_in {
                    same_width_rows(plane, row, [h_in, w_in], h_out, [i, j], [ph, pw], [lo, hi]);
                    continue;
                }
                for oh in 0..h_out {
                    let out_row = &mut row[oh * w_out..(oh + 1) * w_out];
                    let ih = (oh * sh + i) as isize - ph as isize;
                    if ih < 0 || ih >= h_in as isize || lo == hi {
                        out_row.fill(0.0);
                        continue;
                    }
                    let in_row = &plane[ih as usize * w_in..(ih as usize + 1) * w_in];
                    out_row[..lo].fill(0.0);
                    out_row[hi..].fill(0.0);
                    let first = lo * sw + j - pw;
                    if sw == 1 {
                        copy_run(&mut out_row[lo..hi], &in_row[first..first + hi - lo]);
                    } else {
                        gather_every_isa(&mut out_row[lo..hi], &in_row[first..], sw);
                    }
                }
            }
        }
    }
}

/// One row of the patch matrix (kernel offset `(i, j)`) for stride 1 and an output as wide as
/// the input: output pixel `d` then reads input `d + (i - p_h) W + (j - p_w)`, so the valid rows
/// are one contiguous copy, after which the few columns outside `[lo, hi)` (which the copy
/// filled from the neighbouring input rows) and the rows outside the input are zeroed.
fn same_width_rows(
    plane: &[f32],
    row: &mut [f32],
    [h_in, w]: [usize; 2],
    h_out: usize,
    [i, j]: [usize; 2],
    [ph, pw]: [usize; 2],
    [lo, hi]: [usize; 2],
) {
    let Some(span) = SameWidth::new([h_in, w], h_out, [i, j], [ph, pw], [lo, hi]) else {
        row[..h_out * w].fill(0.0);
        return;
    };
    let SameWidth { oh_lo, oh_hi, .. } = span;
    row[..oh_lo * w].fill(0.0);
    row[oh_hi * w..h_out * w].fill(0.0);
    row[span.dst()].copy_from_slice(&plane[span.src()]);
    for oh in oh_lo..oh_hi {
        let out_row = &mut row[oh * w..(oh + 1) * w];
        out_row[..lo].fill(0.0);
        out_row[hi..].fill(0.0);
    }
}

/// Adds one sample's patch-matrix gradient (laid out as in [`im2col`]) onto its input gradient.
/// `cols` is scratch: entries that fall on the padding may be zeroed.
pub(crate) fn col2im(g: &ConvGeometry, cols: &mut [f32], ld: usize, dx: &mut [f32]) {
    let [h_in, w_in] = g.input;
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let [(ph, _), (pw, _)] = g.padding;
    let [h_out, w_out] = g.output();
    let pixels = h_out * w_out;
    if pixels <= TABLE_PIXELS {
        let table = tap_table(g);
        let planes = dx.chunks_exact_mut(h_in * w_in).take(g.channels_in);
        for (c, plane) in planes.enumerate() {
            for (t, taps) in table.chunks_exact(pixels).enumerate() {
                let row = &cols[(c * kh * kw + t) * ld..][..pixels];
                for (&v, &k) in row.iter().zip(taps) {
                    if let Some(d) = plane.get_mut(k as usize) {
                        *d += v;
                    }
                }
            }
        }
        return;
    }
    for c in 0..g.channels_in {
        let plane = &mut dx[c * h_in * w_in..(c + 1) * h_in * w_in];
        for i in 0..kh {
            for j in 0..kw {
                let row = &mut cols[((c * kh + i) * kw + j) * ld..][..pixels];
                let (lo, hi) = valid_columns(w_out, w_in, sw, j, pw);
                if lo == hi {
                    continue;
                }
                if sh == 1 && sw == 1 && w_out == w_in {
                    same_width_add(plane, row, [h_in, w_in], h_out, [i, j], [ph, pw], [lo, hi]);
                    continue;
                }
                for oh in 0..h_out {
                    let ih = (oh * sh + i) as isize - ph as isize;
                    if ih < 0 || ih >= h_in as isize {
                        continue;
                    }
                    let in_row = &mut plane[ih as usize * w_in..(ih as usize + 1) * w_in];
                    let src = &row[oh * w_out + lo..oh * w_out + hi];
                    let first = lo * sw + j - pw;
                    if sw == 1 {
                        for (d, v) in in_row[first..first + hi - lo].iter_mut().zip(src) {
                            *d += v;
                        }
                    } else {
                        for (d, v) in in_row[first..].iter_mut().step_by(sw).zip(src) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

/// [`col2im`] of one patch-matrix row for stride 1 and an output as wide as the input (the
/// reverse of [`same_width_rows`]): the entries of the columns outside `[lo, hi)` are zeroed in
/// `row`, after which the valid rows are one contiguous add.
fn same_width_add(
    plane: &mut [f32],
    row: &mut [f32],
    [h_in, w]: [usize; 2],
    h_out: usize,
    [i, j]: [usize; 2],
    [ph, pw]: [usize; 2],
    [lo, hi]: [usize; 2],
) {
    let Some(span) = SameWidth::new([h_in, w], h_out, [i, j], [ph, pw], [lo, hi]) else {
        return;
    };
    for oh in span.oh_lo..span.oh_hi {
        let out_row = &mut row[oh * w..(oh + 1) * w];
        zero_few(&mut out_row[..lo]);
        zero_few(&mut out_row[hi..]);
    }
    add_isa(&mut plane[span.src()], &row[span.dst()]);
}

/// Where one patch-matrix row meets its input plane for stride 1 and an output as wide as the
/// input: the output rows `oh_lo..oh_hi` whose input row lies inside the plane, and the one
/// contiguous run of the row (`dst`) and of the plane (`src`) that they map onto each other.
struct SameWidth {
    oh_lo: usize,
    oh_hi: usize,
    /// First value of the run in the row, and its length.
    d0: usize,
    len: usize,
    /// First value of the run in the plane.
    s0: usize,
}

impl SameWidth {
    /// `None` when no output pixel reads inside the plane.
    fn new(
        [h_in, w]: [usize; 2],
        h_out: usize,
        [i, j]: [usize; 2],
        [ph, pw]: [usize; 2],
        [lo, hi]: [usize; 2],
    ) -> Option<Self> {
        // Output rows whose input row `oh + i - ph` lies inside `[0, h_in)`.
        let oh_lo = ph.saturating_sub(i).min(h_out);
        let oh_hi = (h_in + ph).saturating_sub(i).clamp(oh_lo, h_out);
        if oh_lo == oh_hi || lo == hi {
            return None;
        }
        let (d0, d1) = (oh_lo * w + lo, (oh_hi - 1) * w + hi);
        let s0 = (oh_lo + i - ph) * w + lo + j - pw;
        Some(Self {
            oh_lo,
            oh_hi,
            d0,
            len: d1 - d0,
            s0,
        })
    }

    fn dst(&self) -> std::ops::Range<usize> {
        self.d0..self.d0 + self.len
    }

    fn src(&self) -> std::ops::Range<usize> {
        self.s0..self.s0 + self.len
    }
}

/// Zeroes a slice that is usually one or two values long (a padding's width) with plain stores
/// instead of a call to `memset`.
#[inline(always)]
fn zero_few(values: &mut [f32]) {
    match values {
        [] => {}
        [a] => *a = 0.0,
        [a, b] => (*a, *b) = (0.0, 0.0),
        _ => values.fill(0.0),
    }
}
