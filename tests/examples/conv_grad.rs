//! Experiment: one convolution's forward + backward time on flex with its weight gradient
//! computed by Burn (variant 0) or by an im2col matmul behind a zero-valued term (variants 1, 2).
//!
//! `cargo run --release -p convzoo-tests --example conv_grad -- LAYER VARIANT [STEPS]`
//! with LAYER one of lenet1, lenet2, res64, res128, res256, res512, stem.
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, PadMode};
use burn::tensor::{Device, Distribution, Tensor};
use std::time::Instant;

/// im2col of `x` (already padded), `[N, C*k*k, Ho*Wo]`, untracked.
fn cols(x: Tensor<4>, k: usize, s: usize) -> Tensor<3> {
    let [n, c, _, _] = x.dims();
    let u: Tensor<5> = x.unfold(2, k, s); // [N, C, Ho, W, k]
    let u: Tensor<6> = u.unfold(3, k, s); // [N, C, Ho, Wo, k, k]
    let [_, _, ho, wo, _, _] = u.dims();
    u.permute([0, 1, 4, 5, 2, 3])
        .reshape([n, c * k * k, ho * wo])
}

/// im2col with rows per output pixel, `[N*Ho*Wo, C*k*k]`.
fn cols_rows(x: Tensor<4>, k: usize, s: usize) -> Tensor<2> {
    let [n, c, _, _] = x.dims();
    let u: Tensor<5> = x.unfold(2, k, s);
    let u: Tensor<6> = u.unfold(3, k, s); // [N, C, Ho, Wo, k, k]
    let [_, _, ho, wo, _, _] = u.dims();
    u.permute([0, 2, 3, 1, 4, 5])
        .reshape([n * ho * wo, c * k * k])
}

fn conv(
    v: usize,
    x: Tensor<4>,
    w: Tensor<4>,
    b: Tensor<1>,
    k: usize,
    s: usize,
    p: usize,
) -> Tensor<4> {
    let opts = ConvOptions::new([s, s], [p, p], [1, 1], 1);
    if v == 0 {
        return conv2d(x, w, Some(b), opts);
    }
    let [co, ci, _, _] = w.dims();
    let wd = w.clone().detach();
    let y = conv2d(x.clone(), wd.clone(), Some(b), opts);
    let [n, _, ho, wo] = y.dims();
    let xp = x.detach().pad([(p, p), (p, p)], PadMode::Constant(0.0));
    let delta = (w - wd).reshape([co, ci * k * k]);
    let z = if v == 1 {
        delta
            .unsqueeze::<3>()
            .matmul(cols(xp, k, s))
            .reshape([n, co, ho, wo])
    } else {
        cols_rows(xp, k, s)
            .matmul(delta.transpose())
            .reshape([n, ho, wo, co])
            .permute([0, 3, 1, 2])
    };
    y + z
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let layer = args.get(1).map(String::as_str).unwrap_or("lenet1");
    let v: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(0);
    let steps: usize = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(20);
    // (N, Cin, H, Cout, k, stride, pad, x tracked)
    let (n, ci, h, co, k, s, p, track) = match layer {
        "lenet1" => (256, 1, 28, 6, 5, 1, 2, false),
        "lenet2" => (256, 6, 14, 16, 5, 1, 0, true),
        "res64" => (64, 64, 24, 64, 3, 1, 1, true),
        "res128" => (64, 128, 12, 128, 3, 1, 1, true),
        "res256" => (64, 256, 6, 256, 3, 1, 1, true),
        "res512" => (64, 512, 3, 512, 3, 1, 1, true),
        "stem" => (64, 1, 96, 64, 7, 2, 3, false),
        other => panic!("unknown layer {other}"),
    };
    let dev = Device::flex().autodiff();
    dev.seed(0);
    let x0 = Tensor::<4>::random([n, ci, h, h], Distribution::Normal(0.0, 1.0), &dev);
    let w =
        Tensor::<4>::random([co, ci, k, k], Distribution::Normal(0.0, 0.1), &dev).require_grad();
    let b = Tensor::<1>::random([co], Distribution::Normal(0.0, 0.1), &dev).require_grad();
    let x = if track {
        x0.clone().require_grad()
    } else {
        x0.clone()
    };
    let y0 = conv(0, x.clone(), w.clone(), b.clone(), k, s, p);
    let probe = Tensor::<4>::random(y0.dims(), Distribution::Normal(0.0, 1.0), &dev);
    // Check the gradient against Burn's once.
    let reference = (y0 * probe.clone()).sum().backward();
    let got = (conv(v, x.clone(), w.clone(), b.clone(), k, s, p) * probe.clone())
        .sum()
        .backward();
    let wr = w.grad(&reference).unwrap();
    let wg = w.grad(&got).unwrap();
    let err = (wr.clone() - wg).abs().max().into_scalar::<f32>();
    let scale = wr.abs().max().into_scalar::<f32>();
    let mut times = Vec::new();
    for _ in 0..steps + 3 {
        let t = Instant::now();
        let y = conv(v, x.clone(), w.clone(), b.clone(), k, s, p);
        let g = (y * probe.clone()).sum().backward();
        let _ = w.grad(&g).unwrap().into_data();
        if track {
            let _ = x.grad(&g).unwrap().into_data();
        }
        times.push(t.elapsed().as_secs_f64());
    }
    let mut t = times[3..].to_vec();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{layer} variant {v}: {:.2} ms fwd+bwd (weight-grad error {err:.1e} of {scale:.1e})",
        t[t.len() / 2] * 1e3
    );
}
