//! Per-layer speed of a model's largest convolutions: forward pass, input gradient and weight
//! gradient of each, by the flex kernels on plain slices, in GFLOP/s (a multiply-add is two
//! operations), to set beside the machine's measured peak (`bench peak`).

use std::time::Instant;

use burn::tensor::{Device, Tensor};
use convzoo_blocks::flex::conv::{self as conv_kernels, ConvGeometry, Pass, plan};
use convzoo_blocks::{ConvShape, Probe};
use convzoo_models::ModelConfig;
use serde::Serialize;

use convzoo_trainer::Result;

/// One convolution's speed at a batch size.
#[derive(Clone, Debug, Serialize)]
pub struct ConvSpeed {
    /// Its geometry (input batch of one).
    pub shape: ConvShape,
    /// Images per call.
    pub batch: usize,
    /// Multiply-adds of one call (the whole batch).
    pub macs: u64,
    /// GFLOP/s of the forward pass in training.
    pub forward: f64,
    /// GFLOP/s of the inference forward pass (Winograd where it applies), counting the direct
    /// convolution's multiply-adds.
    pub inference: f64,
    /// GFLOP/s of the input gradient.
    pub input_grad: f64,
    /// GFLOP/s of the weight gradient.
    pub weight_grad: f64,
    /// The algorithm of each pass, as `convzoo_kernels::conv::plan` picks it: forward,
    /// inference, input gradient, weight gradient.
    pub algorithms: [&'static str; 4],
}

/// Deterministic values in `[-1, 1)`.
fn fill(n: usize, seed: u64) -> Vec<f32> {
    let mut g = convzoo_datasets::SplitMix64::new(seed);
    (0..n)
        .map(|_| (g.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
        .collect()
}

/// The median seconds of `repeats` calls of `f` (after one untimed call).
fn median_seconds(repeats: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// The `top` convolutions of model `name` with the most multiply-adds (distinct geometries with
/// explicit padding), then its other grouped ones, each timed at `batch` images: median of
/// `repeats`.
pub fn conv_speeds(name: &str, batch: usize, top: usize, repeats: usize) -> Result<Vec<ConvSpeed>> {
    let device = Device::flex();
    let config = ModelConfig::from_name(name)?;
    let [_, h, w] = config.info().input;
    let model = config.init(&device);
    let mut probe = Probe::on();
    model.forward_probed(
        Tensor::zeros([1, config.in_channels(), h, w], &device),
        &mut probe,
    )?;
    let mut convs: Vec<ConvShape> = Vec::new();
    for c in probe.convs {
        if c.dilation == [1, 1] && c.padding.is_some() && !convs.contains(&c) {
            convs.push(c);
        }
    }
    convs.sort_by_key(|c| std::cmp::Reverse(c.macs()));
    let grouped: Vec<ConvShape> = convs[top.min(convs.len())..]
        .iter()
        .filter(|c| c.groups > 1)
        .cloned()
        .collect();
    convs.truncate(top);
    convs.extend(grouped);
    Ok(convs
        .into_iter()
        .map(|shape| {
            let [_, c_in, ih, iw] = shape.input;
            let g = ConvGeometry {
                groups: shape.groups,
                batch,
                channels_in: c_in,
                channels_out: shape.channels_out,
                input: [ih, iw],
                kernel: shape.kernel,
                stride: shape.stride,
                padding: shape.padding.expect("filtered"),
            };
            let [oh, ow] = g.output();
            let x = fill(batch * c_in * ih * iw, 1);
            let [kh, kw] = shape.kernel;
            let weight = fill(shape.channels_out * (c_in / shape.groups) * kh * kw, 2);
            let dy = fill(batch * shape.channels_out * oh * ow, 3);
            let macs = shape.macs() * batch as u64;
            let gflops = |s: f64| 2.0 * macs as f64 / s / 1e9;
            let forward = gflops(median_seconds(repeats, || {
                std::hint::black_box(conv_kernels::forward(&g, &x, &weight, Default::default()));
            }));
            let inference = gflops(median_seconds(repeats, || {
                let epilogue = Default::default();
                std::hint::black_box(conv_kernels::forward_inference(&g, &x, &weight, epilogue));
            }));
            let input_grad = gflops(median_seconds(repeats, || {
                std::hint::black_box(conv_kernels::input_grad(&g, &weight, &dy));
            }));
            let weight_grad = gflops(median_seconds(repeats, || {
                std::hint::black_box(conv_kernels::weight_grad(&g, &x, &dy));
            }));
            ConvSpeed {
                shape,
                batch,
                macs,
                forward,
                inference,
                input_grad,
                weight_grad,
                algorithms: Pass::ALL.map(|pass| plan(&g, pass).name()),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_convolutions_come_first_with_their_speeds() {
        let speeds = conv_speeds("lenet", 2, 4, 1).unwrap();
        // LeNet's two convolutions: 16 x 6 x 5x5 at 10x10 (240,000 MACs) before 6 x 1 x 5x5 at
        // 28x28 (117,600).
        assert_eq!(speeds.len(), 2);
        assert_eq!(speeds[0].macs, 2 * 240_000);
        assert_eq!(speeds[1].macs, 2 * 117_600);
        assert!(speeds.iter().all(|s| {
            [s.forward, s.inference, s.input_grad, s.weight_grad]
                .iter()
                .all(|g| g.is_finite() && *g > 0.0)
        }));
    }
}
