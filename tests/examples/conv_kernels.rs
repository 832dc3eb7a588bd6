//! Experiment: Burn's convolution and its gradients on flex against `convzoo_blocks::flex::conv_kernels`.
//!
//! `cargo run --release -p convzoo-tests --example conv_kernels -- LAYER [STEPS]`
use burn::tensor::module::{conv_transpose2d, conv2d, conv2d_weight_backward};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use convzoo_blocks::flex::conv_kernels::{self, ConvGeometry};
use std::time::Instant;

fn vec_of(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[t.len() / 2] * 1e3
}

fn max_err(a: &[f32], b: &[f32]) -> (f32, f32) {
    let e = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    let s = b.iter().map(|y| y.abs()).fold(0.0, f32::max);
    (e, s)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let layer = args.get(1).map(String::as_str).unwrap_or("lenet1");
    let steps: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(10);
    let (n, ci, h, co, k, s, p) = match layer {
        "lenet1" => (256, 1, 28, 6, 5, 1, 2),
        "lenet2" => (256, 6, 14, 16, 5, 1, 0),
        "res64" => (64, 64, 24, 64, 3, 1, 1),
        "res128" => (64, 128, 12, 128, 3, 1, 1),
        "res128s2" => (64, 64, 24, 128, 3, 2, 1),
        "res256" => (64, 256, 6, 256, 3, 1, 1),
        "res512" => (64, 512, 3, 512, 3, 1, 1),
        "down" => (64, 64, 24, 128, 1, 2, 0),
        "stem" => (64, 1, 96, 64, 7, 2, 3),
        other => panic!("unknown layer {other}"),
    };
    let g = ConvGeometry {
        batch: n,
        channels_in: ci,
        channels_out: co,
        input: [h, h],
        kernel: [k, k],
        stride: [s, s],
        padding: [(p, p), (p, p)],
    };
    let [ho, wo] = g.output();
    let dev = Device::flex();
    dev.seed(0);
    let x = Tensor::<4>::random([n, ci, h, h], Distribution::Normal(0.0, 1.0), &dev);
    let w = Tensor::<4>::random([co, ci, k, k], Distribution::Normal(0.0, 0.1), &dev);
    let dy = Tensor::<4>::random([n, co, ho, wo], Distribution::Normal(0.0, 1.0), &dev);
    let opts = ConvOptions::new([s, s], [p, p], [1, 1], 1);
    // Burn's input gradient: a transposed convolution (burn-backend's `conv2d_x_backward`).
    let pad_out = h - ((ho - 1) * s + k - 2 * p);
    let topts = ConvTransposeOptions::new([s, s], [p, p], [pad_out, pad_out], [1, 1], 1);
    let conv2d_x_backward = |_x: Tensor<4>, w: Tensor<4>, dy: Tensor<4>, _o: ConvOptions<2>| {
        conv_transpose2d(dy, w, None, topts.clone())
    };
    let (xv, wv, dyv) = (vec_of(x.clone()), vec_of(w.clone()), vec_of(dy.clone()));

    let burn_w = vec_of(conv2d_weight_backward(
        x.clone(),
        w.clone(),
        dy.clone(),
        opts.clone(),
    ));
    let burn_x = vec_of(conv2d_x_backward(
        x.clone(),
        w.clone(),
        dy.clone(),
        opts.clone(),
    ));
    let ours_w = conv_kernels::weight_grad(&g, &xv, &dyv);
    let ours_x = conv_kernels::input_grad(&g, &wv, &dyv);
    let b = Tensor::<1>::random([co], Distribution::Normal(0.0, 0.1), &dev);
    let bv = b.clone().into_data().try_to_vec::<f32>().unwrap();
    let burn_y = vec_of(conv2d(x.clone(), w.clone(), Some(b.clone()), opts.clone()));
    let ours_y = conv_kernels::forward(&g, &xv, &wv, Some(&bv));
    let (ey, sy) = max_err(&ours_y, &burn_y);
    let (mut by, mut oy) = (vec![], vec![]);
    for _ in 0..steps + 2 {
        let t = Instant::now();
        let _ = conv2d(x.clone(), w.clone(), Some(b.clone()), opts.clone()).into_data();
        by.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let r = conv_kernels::forward(&g, &xv, &wv, Some(&bv));
        let _ = TensorData::new(r, [n, co, ho, wo]);
        oy.push(t.elapsed().as_secs_f64());
    }
    println!(
        "{layer}: forward burn {:.2} ms, ours {:.2} ms (err {ey:.1e} of {sy:.1e})",
        median(by[2..].to_vec()),
        median(oy[2..].to_vec())
    );
    let (ew, sw) = max_err(&ours_w, &burn_w);
    let (ex, sx) = max_err(&ours_x, &burn_x);

    let (mut bw, mut bx, mut ow, mut ox) = (vec![], vec![], vec![], vec![]);
    for _ in 0..steps + 2 {
        let t = Instant::now();
        let r = conv2d_weight_backward(x.clone(), w.clone(), dy.clone(), opts.clone());
        let _ = r.into_data();
        bw.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let r = conv2d_x_backward(x.clone(), w.clone(), dy.clone(), opts.clone());
        let _ = r.into_data();
        bx.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let r = conv_kernels::weight_grad(&g, &xv, &dyv);
        let _ = TensorData::new(r, [co, ci, k, k]);
        ow.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let r = conv_kernels::input_grad(&g, &wv, &dyv);
        let _ = TensorData::new(r, [n, ci, h, h]);
        ox.push(t.elapsed().as_secs_f64());
    }
    println!(
        "{layer}: weight grad burn {:.2} ms, ours {:.2} ms (err {ew:.1e} of {sw:.1e}); \
         input grad burn {:.2} ms, ours {:.2} ms (err {ex:.1e} of {sx:.1e})",
        median(bw[2..].to_vec()),
        median(ow[2..].to_vec()),
        median(bx[2..].to_vec()),
        median(ox[2..].to_vec()),
    );
}
