//! Experiment: per-op forward/backward agreement between flex and ndarray: the ResNet/DenseNet
//! stem (7x7 stride-2 convolution, 3x3 stride-2 max-pool with padding) and a linear layer
//! (`cargo run --release -p convzoo-tests --features ndarray --example op_agreement`).
#![cfg_attr(not(feature = "ndarray"), allow(unused))]
use burn::module::Module;
use burn::nn::conv::Conv2dConfig;
use burn::nn::pool::MaxPool2dConfig;
use burn::nn::{LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Distribution, Tensor};

fn diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    let a = a.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    let b = b.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[cfg(not(feature = "ndarray"))]
fn main() {
    eprintln!("needs --features ndarray");
}

#[cfg(feature = "ndarray")]
fn main() {
    let flex = Device::flex();
    #[allow(deprecated)]
    let nd = Device::ndarray();
    flex.seed(3);
    let conv = Conv2dConfig::new([1, 64], [7, 7])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3))
        .init(&flex);
    let lin = LinearConfig::new(512, 256).init(&flex);
    let x = Tensor::<4>::random([4, 1, 64, 64], Distribution::Normal(0.0, 1.0), &flex);
    let r = Tensor::<4>::random([4, 64, 16, 16], Distribution::Normal(0.0, 1.0), &flex);
    let xl = Tensor::<2>::random([4, 512], Distribution::Normal(0.0, 1.0), &flex);
    let rl = Tensor::<2>::random([4, 256], Distribution::Normal(0.0, 1.0), &flex);
    let pool = MaxPool2dConfig::new([3, 3])
        .with_strides([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init();
    let mut out = Vec::new();
    for dev in [&flex, &nd] {
        let ad = dev.clone().autodiff();
        let c = conv.clone().to_device(&ad).train();
        let l = lin.clone().to_device(&ad).train();
        let xa = x.clone().to_device(&ad).autodiff().require_grad();
        let y = c.forward(xa.clone());
        let y1 = y.clone();
        let p = pool.forward(relu(y));
        let loss = (p.clone() * r.clone().to_device(&ad)).sum();
        let xla = xl.clone().to_device(&ad).autodiff().require_grad();
        let loss2 = (l.forward(xla.clone()) * rl.clone().to_device(&ad)).sum();
        let g = (loss + loss2).backward();
        out.push((
            y1.inner(),
            p.inner(),
            xa.grad(&g).unwrap(),
            c.weight.val().grad(&g).unwrap(),
            c.bias.as_ref().unwrap().val().grad(&g).unwrap(),
            xla.grad(&g).unwrap(),
            l.weight.val().grad(&g).unwrap(),
        ));
    }
    let (a, b) = (out.remove(0), out.remove(0));
    let f = |t: Tensor<4>| t.to_device(&flex);
    println!("conv out {:.2e}", diff(f(a.0), f(b.0)));
    println!("pool out {:.2e}", diff(f(a.1), f(b.1)));
    println!("x grad   {:.2e}", diff(f(a.2), f(b.2)));
    println!("w grad   {:.2e}", diff(f(a.3), f(b.3)));
    println!(
        "b grad   {:.2e}",
        diff(a.4.to_device(&flex), b.4.to_device(&flex))
    );
    println!(
        "lin x grad {:.2e}",
        diff(a.5.to_device(&flex), b.5.to_device(&flex))
    );
    println!(
        "lin w grad {:.2e}",
        diff(a.6.to_device(&flex), b.6.to_device(&flex))
    );
}
