//! [`super::conv2d`] against Burn's own convolution, values and gradients.

use super::*;
use burn::tensor::Device;

use crate::testing::{assert_within, normal, values};

fn assert_close(what: &str, ours: Vec<f32>, burns: Vec<f32>) {
    crate::testing::assert_close(what, &ours, &burns, 2e-6);
}

/// Values and all three gradients against Burn's own conv2d on flex, for the geometries the
/// models use: padded, strided, 1x1, asymmetric padding, no bias, untracked input, one sample,
/// few pixels a sample (several samples per gemm), pointwise (no patch matrix) and 3x3
/// stride 1 with many channels (Winograd's in inference; odd sizes and asymmetric padding).
#[test]
fn matches_burns_conv2d_and_its_gradients() {
    let device = Device::flex().autodiff();
    assert!(on_flex(&device));
    assert!(on_flex(&Device::flex()));
    // (batch, c_in, c_out, h, w, kernel, stride, padding, bias, input tracked)
    let cases = [
        (
            3,
            1,
            6,
            28,
            28,
            [5, 5],
            [1, 1],
            [(2, 2), (2, 2)],
            true,
            false,
        ),
        (
            4,
            6,
            16,
            14,
            14,
            [5, 5],
            [1, 1],
            [(0, 0), (0, 0)],
            true,
            true,
        ),
        (2, 5, 7, 9, 11, [3, 3], [2, 2], [(1, 1), (1, 1)], true, true),
        (2, 4, 8, 9, 9, [1, 1], [2, 2], [(0, 0), (0, 0)], false, true),
        (2, 3, 4, 10, 8, [7, 7], [2, 2], [(3, 3), (3, 3)], true, true),
        (5, 40, 9, 3, 3, [3, 3], [1, 1], [(1, 1), (1, 1)], true, true),
        (2, 3, 5, 8, 7, [3, 2], [1, 2], [(0, 2), (1, 0)], true, true),
        (1, 3, 5, 9, 9, [3, 3], [1, 1], [(1, 1), (1, 1)], true, true), // gemm threads
        (7, 8, 4, 2, 3, [2, 2], [1, 1], [(0, 0), (0, 0)], true, true), // grouped samples
        (3, 6, 5, 7, 7, [1, 1], [1, 1], [(0, 0), (0, 0)], true, true), // pointwise
        (6, 8, 4, 3, 3, [1, 1], [1, 1], [(0, 0), (0, 0)], true, true), // grouped pointwise
        // Where inference takes Winograd (128+ channels in, 64+ out, 6x6+ out): training
        // does not, grouped samples, asymmetric padding.
        (
            2,
            128,
            64,
            9,
            7,
            [3, 3],
            [1, 1],
            [(1, 1), (1, 1)],
            true,
            true,
        ),
        (
            9,
            128,
            130,
            6,
            6,
            [3, 3],
            [1, 1],
            [(1, 1), (1, 1)],
            true,
            true,
        ),
        (
            2,
            130,
            64,
            8,
            8,
            [3, 3],
            [1, 1],
            [(0, 2), (1, 0)],
            true,
            true,
        ),
    ];
    // Grouped: RegNetX-32's 3x3 layers (2 and 5 groups), depthwise with a multiplier.
    let grouped = [
        (
            (
                2,
                32,
                32,
                12,
                12,
                [3, 3],
                [2, 2],
                [(1, 1), (1, 1)],
                true,
                true,
            ),
            2,
        ),
        (
            (
                3,
                80,
                80,
                6,
                6,
                [3, 3],
                [1, 1],
                [(1, 1), (1, 1)],
                true,
                true,
            ),
            5,
        ),
        (
            (
                2,
                8,
                16,
                7,
                9,
                [3, 3],
                [1, 1],
                [(1, 1), (1, 1)],
                false,
                true,
            ),
            8,
        ),
    ];
    for (i, ((n, ci, co, h, w, k, stride, padding, with_bias, track_x), groups)) in cases
        .into_iter()
        .map(|case| (case, 1))
        .chain(grouped)
        .enumerate()
    {
        let seed = 3 * i as u64;
        let x0 = normal([n, ci, h, w], 0.0, 1.0, seed, &device);
        let w0 = normal([co, ci / groups, k[0], k[1]], 0.0, 0.3, seed + 1, &device);
        let b0 = normal([co], 0.0, 0.3, seed + 2, &device);
        let options = ConvOptions {
            stride,
            padding,
            dilation: [1, 1],
            groups,
        };
        let run = |ours: bool, x0: &Tensor<4>, w0: &Tensor<4>, b0: &Tensor<1>| {
            let x = if track_x {
                x0.clone().require_grad()
            } else {
                x0.clone()
            };
            let weight = w0.clone().require_grad();
            let bias = b0.clone().require_grad();
            let b = with_bias.then(|| bias.clone());
            let y = if ours {
                conv2d(x.clone(), weight.clone(), b, options.clone())
            } else {
                burn::tensor::module::conv2d(x.clone(), weight.clone(), b, options.clone())
            };
            let probe = y
                .clone()
                .mul_scalar(0.0)
                .add(Tensor::ones_like(&y))
                .cumsum(3);
            let grads = (y.clone() * probe).sum().backward();
            let gx = track_x.then(|| values(x.grad(&grads).unwrap()));
            let gb = with_bias.then(|| values(bias.grad(&grads).unwrap()));
            (values(y), values(weight.grad(&grads).unwrap()), gx, gb)
        };
        let ours = run(true, &x0, &w0, &b0);
        let burns = run(false, &x0, &w0, &b0);
        // Every value and gradient is a sum; with the inputs' magnitudes (and the probe's
        // output gradient, positive) each becomes the sum of its terms' magnitudes, the
        // scale of its rounding error.
        let sizes = run(
            false,
            &x0.clone().abs(),
            &w0.clone().abs(),
            &b0.clone().abs(),
        );
        let case = format!(
            "case {n}x{ci}x{h}x{w} -> {co}, k {k:?}, s {stride:?}, p {padding:?}, {groups} groups"
        );
        let check = |what: &str, ours: &[f32], burns: &[f32], sizes: &[f32]| {
            assert_within(&format!("{case}: {what}"), ours, burns, sizes, 2e-6)
        };
        check("output", &ours.0, &burns.0, &sizes.0);
        check("weight grad", &ours.1, &burns.1, &sizes.1);
        if let (Some(a), Some(b), Some(m)) = (&ours.2, &burns.2, &sizes.2) {
            check("input grad", a, b, m);
        }
        if let (Some(a), Some(b), Some(m)) = (&ours.3, &burns.3, &sizes.3) {
            check("bias grad", a, b, m);
        }
    }
}

#[test]
#[should_panic(expected = "conv2d")]
fn mismatched_channels_get_burns_error() {
    let device = Device::flex();
    let x = Tensor::<4>::zeros([1, 3, 8, 8], &device);
    let w = Tensor::<4>::zeros([4, 2, 3, 3], &device);
    let _ = conv2d(x, w, None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
}

#[test]
fn inference_matches_burns_forward() {
    let device = Device::flex();
    let x = normal([2, 3, 8, 8], 0.0, 1.0, 100, &device);
    let w = normal([4, 3, 3, 3], 0.0, 1.0, 101, &device);
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let ours = values(conv2d(x.clone(), w.clone(), None, options.clone()));
    let burns = values(burn::tensor::module::conv2d(x, w, None, options));
    assert_close("inference output", ours, burns);
}
