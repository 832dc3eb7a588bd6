//! Experiment: LeNet training-step time with different formulations of its ops (flex).
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use std::time::Instant;

#[derive(Module, Debug)]
struct Net {
    c1: Conv2d,
    c2: Conv2d,
    f1: Linear,
    f2: Linear,
    f3: Linear,
    p: AvgPool2d,
    #[module(skip)]
    variant: usize,
}

fn sig_trick<const D: usize>(x: Tensor<D>, parallel: bool, branch_free: bool) -> Tensor<D> {
    let xd = x.clone().detach();
    let s = if parallel && D == 4 {
        let n = xd.dims()[0];
        let a = xd.clone().narrow(0, 0, n / 2);
        let b = xd.clone().narrow(0, n / 2, n - n / 2);
        let (a, b) = std::thread::scope(|sc| {
            let h = sc.spawn(|| sigmoid(a));
            let b = sigmoid(b);
            (h.join().unwrap(), b)
        });
        Tensor::cat(vec![a, b], 0)
    } else if branch_free {
        xd.clone().neg().exp().add_scalar(1.0).recip()
    } else {
        sigmoid(xd.clone())
    };
    let k = s.clone().mul(s.clone().neg().add_scalar(1.0));
    s + (x - xd) * k
}

fn pool(net: &Net, x: Tensor<4>) -> Tensor<4> {
    if matches!(net.variant, 1 | 5 | 6) {
        let [n, c, h, w] = x.dims();
        x.reshape([n, c, h / 2, 2, w / 2, 2])
            .mean_dim(5)
            .mean_dim(3)
            .reshape([n, c, h / 2, w / 2])
    } else {
        net.p.forward(x)
    }
}

fn act<const D: usize>(net: &Net, x: Tensor<D>) -> Tensor<D> {
    match net.variant {
        2 => relu(x),
        3 | 6 => sig_trick(x, false, false),
        4 | 5 => sig_trick(x, true, false),
        7 => sig_trick(x, false, true),
        _ => sigmoid(x),
    }
}

fn forward(net: &Net, x: Tensor<4>) -> Tensor<2> {
    let x = pool(net, act(net, net.c1.forward(x)));
    let x = pool(net, act(net, net.c2.forward(x)));
    let x = x.flatten::<2>(1, 3);
    let x = act(net, net.f1.forward(x));
    let x = act(net, net.f2.forward(x));
    net.f3.forward(x)
}

fn main() {
    let variant: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(0);
    let steps: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(20);
    let dev = Device::flex().autodiff();
    dev.seed(0);
    let mut net = Net {
        c1: Conv2dConfig::new([1, 6], [5, 5])
            .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
            .init(&dev),
        c2: Conv2dConfig::new([6, 16], [5, 5]).init(&dev),
        f1: LinearConfig::new(400, 120).init(&dev),
        f2: LinearConfig::new(120, 84).init(&dev),
        f3: LinearConfig::new(84, 10).init(&dev),
        p: AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
        variant,
    };
    let bs = 256;
    let x = Tensor::<4>::random([bs, 1, 28, 28], Distribution::Uniform(0.0, 1.0), &dev);
    let y = Tensor::<1, Int>::from_data(
        TensorData::new((0..bs as i64).map(|i| i % 10).collect::<Vec<_>>(), [bs]),
        &dev,
    );
    let loss_fn = CrossEntropyLossConfig::new().init(&dev);
    let mut optim = SgdConfig::new().init();
    let mut times = Vec::new();
    for _ in 0..steps + 3 {
        let t = Instant::now();
        let loss = loss_fn.forward(forward(&net, x.clone()), y.clone());
        loss.clone().into_scalar::<f32>();
        let g = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(0.9, net, g);
        dev.sync().unwrap();
        times.push(t.elapsed().as_secs_f64());
    }
    let mut t = times[3..].to_vec();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let med = t[t.len() / 2];
    println!(
        "variant {variant}: {:.2} ms/step, {:.0} img/s",
        med * 1e3,
        bs as f64 / med
    );
}
