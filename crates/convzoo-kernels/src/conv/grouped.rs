//! Grouped convolutions (ResNeXt's 3x3 layers; depthwise at the limit) as ordinary convolutions
//! of one group's geometry ([`ConvGeometry::group`], whose algorithm [`super::plan`] picks). A
//! group's channels of one sample lie together, so the forward pass and the input gradient run
//! sample by sample (in parallel), each sample's groups in turn, on the tensors as they are; the
//! weight gradient, a sum over the samples, copies each group's channels into a batch of their
//! own first.

use rayon::prelude::*;

use super::{ConvGeometry, Epilogue};

/// Channels `start..start + len` of every sample of `x` (`[N, C, P]`), as `[N, len, P]`.
fn gather(x: &[f32], channels: usize, pixels: usize, start: usize, len: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len() / channels * len);
    for sample in x.chunks_exact(channels * pixels) {
        out.extend_from_slice(&sample[start * pixels..(start + len) * pixels]);
    }
    out
}

/// Where one group of one sample lies: its convolution (batch 1) and the lengths of a group
/// and a sample of the input, the output and the weight.
struct Layout {
    one: ConvGeometry,
    in_group: usize,
    out_group: usize,
    in_sample: usize,
    out_sample: usize,
    weight_group: usize,
}

impl Layout {
    fn of(g: &ConvGeometry) -> Self {
        let one = ConvGeometry {
            batch: 1,
            ..g.group()
        };
        let (in_pixels, out_pixels) = (g.input[0] * g.input[1], g.pixels());
        Layout {
            in_group: one.channels_in * in_pixels,
            out_group: one.channels_out * out_pixels,
            in_sample: g.channels_in * in_pixels,
            out_sample: g.channels_out * out_pixels,
            weight_group: one.channels_out * one.patch_rows(),
            one,
        }
    }
}

/// The forward pass of the grouped convolution `g`, sample by sample in parallel and each
/// sample's groups in turn (a group's channels of one sample lie together, so nothing is
/// copied in); `inference` runs each by [`super::forward_inference`], else [`super::forward`].
pub(super) fn forward(
    g: &ConvGeometry,
    x: &[f32],
    weight: &[f32],
    epilogue: Epilogue,
    inference: bool,
) -> Vec<f32> {
    let l = Layout::of(g);
    let co = l.one.channels_out;
    let mut y = vec![0.0f32; g.batch * l.out_sample];
    y.par_chunks_mut(l.out_sample)
        .enumerate()
        .for_each(|(n, yn)| {
            let xn = &x[n * l.in_sample..(n + 1) * l.in_sample];
            for k in 0..g.groups {
                let channels = k * co..(k + 1) * co;
                let part = Epilogue {
                    scale: epilogue.scale.map(|s| &s[channels.clone()]),
                    shift: epilogue.shift.map(|s| &s[channels.clone()]),
                    residual: epilogue
                        .residual
                        .map(|r| &r[n * l.out_sample + k * l.out_group..][..l.out_group]),
                    activation: epilogue.activation,
                };
                let xg = &xn[k * l.in_group..(k + 1) * l.in_group];
                let wg = &weight[k * l.weight_group..(k + 1) * l.weight_group];
                let yg = if inference {
                    super::forward_inference(&l.one, xg, wg, part)
                } else {
                    super::forward(&l.one, xg, wg, part)
                };
                yn[k * l.out_group..(k + 1) * l.out_group].copy_from_slice(&yg);
            }
        });
    y
}

/// The input gradient of the grouped convolution `g`, sample by sample in parallel and each
/// sample's groups in turn (as [`forward`]).
pub(super) fn input_grad(g: &ConvGeometry, weight: &[f32], dy: &[f32]) -> Vec<f32> {
    let l = Layout::of(g);
    let mut dx = vec![0.0f32; g.batch * l.in_sample];
    dx.par_chunks_mut(l.in_sample)
        .enumerate()
        .for_each(|(n, dxn)| {
            let dyn_ = &dy[n * l.out_sample..(n + 1) * l.out_sample];
            for k in 0..g.groups {
                let wg = &weight[k * l.weight_group..(k + 1) * l.weight_group];
                let dyg = &dyn_[k * l.out_group..(k + 1) * l.out_group];
                let dxg = super::input_grad(&l.one, wg, dyg);
                dxn[k * l.in_group..(k + 1) * l.in_group].copy_from_slice(&dxg);
            }
        });
    dx
}

/// The weight gradient (`[C_out, C_in / groups k_h k_w]`) of the grouped convolution `g`,
/// group by group.
pub(super) fn weight_grad(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let one = g.group();
    let (ci, co) = (one.channels_in, one.channels_out);
    let (in_pixels, out_pixels) = (g.input[0] * g.input[1], g.pixels());
    let mut dw = Vec::with_capacity(g.channels_out * one.patch_rows());
    for k in 0..g.groups {
        let xg = gather(x, g.channels_in, in_pixels, k * ci, ci);
        let dyg = gather(dy, g.channels_out, out_pixels, k * co, co);
        dw.extend(super::weight_grad(&one, &xg, &dyg));
    }
    dw
}

#[cfg(test)]
mod tests {
    use super::super::{Activation, Epilogue, bias_grad, forward_inference};
    use super::*;
    use crate::testing::{assert_within, conv_terms, pattern};

    /// Forward (training and inference, with a scale, shift, residual and ReLU), input and
    /// weight gradients and the bias gradient of grouped convolutions against the definition:
    /// RegNetX-32's two grouped layers (2 and 5 groups, strided and not), depthwise (with and
    /// without a channel multiplier), a 1x1 grouped layer, odd sizes and asymmetric padding, on
    /// every kernel path.
    #[test]
    fn grouped_and_depthwise_match_the_definition() {
        // (batch, c_in, c_out, groups, h, w, kernel, stride, padding)
        let cases = [
            (3, 32, 32, 2, 12, 12, [3, 3], [2, 2], [(1, 1), (1, 1)]),
            (2, 80, 80, 5, 6, 6, [3, 3], [1, 1], [(1, 1), (1, 1)]),
            (2, 16, 16, 16, 9, 7, [3, 3], [1, 1], [(1, 1), (1, 1)]),
            (2, 8, 24, 8, 10, 10, [5, 5], [2, 2], [(2, 2), (2, 2)]),
            (3, 12, 6, 3, 5, 5, [1, 1], [1, 1], [(0, 0), (0, 0)]),
            (1, 6, 9, 3, 8, 7, [3, 2], [1, 2], [(0, 2), (1, 0)]),
            (4, 64, 64, 4, 24, 24, [3, 3], [1, 1], [(1, 1), (1, 1)]),
        ];
        crate::testing::on_every_path(|| {
            for (batch, ci, co, groups, h, w, kernel, stride, padding) in cases {
                let g = ConvGeometry {
                    batch,
                    channels_in: ci,
                    channels_out: co,
                    input: [h, w],
                    kernel,
                    stride,
                    padding,
                    groups,
                };
                let [ho, wo] = g.output();
                let x = pattern(batch * ci * h * w, 1);
                let weight = pattern(co * g.group().patch_rows(), 2);
                let dy = pattern(batch * co * ho * wo, 3);
                let residual = pattern(batch * co * ho * wo, 4);
                let (scale, shift) = (pattern(co, 5), pattern(co, 6));
                let epilogue = Epilogue {
                    scale: Some(&scale),
                    shift: Some(&shift),
                    residual: Some(&residual),
                    activation: Activation::Relu,
                };

                // The definition, in f64, with the sums of magnitudes that bound rounding.
                let mut sums = vec![(0.0f64, 0.0f64); batch * co * ho * wo];
                let mut dx = vec![(0.0f64, 0.0f64); x.len()];
                let mut dw = vec![(0.0f64, 0.0f64); weight.len()];
                conv_terms(&g, |xi, wi, yi| {
                    let p = x[xi] as f64 * weight[wi] as f64;
                    sums[yi] = (sums[yi].0 + p, sums[yi].1 + p.abs());
                    let q = weight[wi] as f64 * dy[yi] as f64;
                    dx[xi] = (dx[xi].0 + q, dx[xi].1 + q.abs());
                    let r = x[xi] as f64 * dy[yi] as f64;
                    dw[wi] = (dw[wi].0 + r, dw[wi].1 + r.abs());
                });
                let pixels = ho * wo;
                let finished: Vec<f32> = sums
                    .iter()
                    .enumerate()
                    .map(|(i, (s, _))| {
                        let o = i / pixels % co;
                        let v = s * scale[o] as f64 + shift[o] as f64 + residual[i] as f64;
                        v.max(0.0) as f32
                    })
                    .collect();
                let magnitude: Vec<f32> = sums.iter().map(|(_, m)| *m as f32 * 2.0).collect();
                let split = |v: &[(f64, f64)]| -> (Vec<f32>, Vec<f32>) {
                    v.iter().map(|(s, m)| (*s as f32, *m as f32)).unzip()
                };
                let case = format!("{g:?}");
                for (pass, ours) in [
                    ("forward", super::super::forward(&g, &x, &weight, epilogue)),
                    ("inference", forward_inference(&g, &x, &weight, epilogue)),
                ] {
                    let what = format!("{pass} {case}");
                    assert_within(&what, &ours, &finished, &magnitude, 1e-5);
                }
                let (dx_want, dx_mag) = split(&dx);
                let dx_ours = super::super::input_grad(&g, &weight, &dy);
                assert_within(
                    &format!("input grad {case}"),
                    &dx_ours,
                    &dx_want,
                    &dx_mag,
                    1e-5,
                );
                let (dw_want, dw_mag) = split(&dw);
                let dw_ours = super::super::weight_grad(&g, &x, &dy);
                assert_within(
                    &format!("weight grad {case}"),
                    &dw_ours,
                    &dw_want,
                    &dw_mag,
                    1e-5,
                );
                let (db, db_mag): (Vec<f32>, Vec<f32>) = (0..co)
                    .map(|o| {
                        let row = (0..batch)
                            .flat_map(|n| &dy[(n * co + o) * pixels..(n * co + o + 1) * pixels]);
                        let (s, m) = row.fold((0.0f64, 0.0f64), |(s, m), v| {
                            (s + *v as f64, m + v.abs() as f64)
                        });
                        (s as f32, m as f32)
                    })
                    .unzip();
                let db_ours = bias_grad(&g, &dy);
                assert_within(&format!("bias grad {case}"), &db_ours, &db, &db_mag, 1e-5);
            }
        });
    }

    #[test]
    fn gather_takes_a_range_of_channels_of_every_sample() {
        // 2 samples of 3 channels of 2 pixels; channels 1..3.
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        assert_eq!(
            gather(&x, 3, 2, 1, 2),
            [2.0, 3.0, 4.0, 5.0, 8.0, 9.0, 10.0, 11.0]
        );
    }
}
