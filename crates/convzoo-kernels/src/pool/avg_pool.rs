//! Unpadded average pooling on plain slices: one parallel pass each way, 2x2 stride 2 (LeNet's,
//! DenseNet's transitions) by its own vectorised pass (`avg_pool_2x2.rs`).

use rayon::prelude::*;
/// Window and stride of an unpadded 2D pooling over `[planes, height, width]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Batch size times channels.
    pub planes: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Window height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
}

impl PoolGeometry {
    /// Output height and width (floor mode).
    pub fn output(&self) -> [usize; 2] {
        let out = |d: usize| (self.input[d] - self.kernel[d]) / self.stride[d] + 1;
        [out(0), out(1)]
    }
}

/// Average of each window.
pub fn avg_pool_forward(g: &PoolGeometry, x: &[f32]) -> Vec<f32> {
    if super::avg_pool_2x2::applies(g) {
        return super::avg_pool_2x2::forward(g, x);
    }
    general_forward(g, x)
}

/// [`avg_pool_forward`] for any window and stride.
pub(crate) fn general_forward(g: &PoolGeometry, x: &[f32]) -> Vec<f32> {
    let [h, w] = g.input;
    let [ho, wo] = g.output();
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let scale = 1.0 / (kh * kw) as f32;
    let mut y = vec![0.0f32; g.planes * ho * wo];
    y.par_chunks_mut(ho * wo)
        .zip(x.par_chunks(h * w))
        .for_each(|(out, plane)| {
            for oh in 0..ho {
                let o = &mut out[oh * wo..(oh + 1) * wo];
                for i in 0..kh {
                    let row = &plane[(oh * sh + i) * w..][..w];
                    if kw == 2 && sw == 2 {
                        for (v, pair) in o.iter_mut().zip(row.chunks_exact(2)) {
                            *v += pair[0] + pair[1];
                        }
                        continue;
                    }
                    for (ow, v) in o.iter_mut().enumerate() {
                        let start = ow * sw;
                        *v += row[start..start + kw].iter().sum::<f32>();
                    }
                }
                o.iter_mut().for_each(|v| *v *= scale);
            }
        });
    y
}

/// Gradient of [`avg_pool_forward`]: each window's output gradient spread evenly over it.
pub fn avg_pool_backward(g: &PoolGeometry, dy: &[f32]) -> Vec<f32> {
    if super::avg_pool_2x2::applies(g) {
        return super::avg_pool_2x2::backward(g, dy);
    }
    general_backward(g, dy)
}

/// [`avg_pool_backward`] for any window and stride.
pub(crate) fn general_backward(g: &PoolGeometry, dy: &[f32]) -> Vec<f32> {
    let [h, w] = g.input;
    let [ho, wo] = g.output();
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let scale = 1.0 / (kh * kw) as f32;
    let mut dx = vec![0.0f32; g.planes * h * w];
    dx.par_chunks_mut(h * w)
        .zip(dy.par_chunks(ho * wo))
        .for_each(|(plane, grad)| {
            for oh in 0..ho {
                let d = &grad[oh * wo..(oh + 1) * wo];
                for i in 0..kh {
                    let row = &mut plane[(oh * sh + i) * w..][..w];
                    for (ow, &v) in d.iter().enumerate() {
                        let start = ow * sw;
                        row[start..start + kw]
                            .iter_mut()
                            .for_each(|t| *t += v * scale);
                    }
                }
            }
        });
    dx
}
