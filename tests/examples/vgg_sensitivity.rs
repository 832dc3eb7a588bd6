//! Experiment: how much do five SGD steps of a model amplify rounding-level differences?
//! Runs the cross-backend test's training twice on flex, the second time with the first
//! batch's input changed by one part in 10^7, and prints the same statistics.
//! `cargo run --release -p convzoo-tests --example vgg_sensitivity -- MODEL LR [SIDE] [BATCH]`,
//! e.g. `vgg11 0.05` (9.5e-4), `vgg11 0.01` (1.8e-4), `resnet18 0.01 64 4` (0.19).
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use convzoo_models::ModelConfig;

fn main() {
    let name = std::env::args().nth(1).unwrap_or("vgg11".into());
    let lr: f64 = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(0.05);
    let flex = Device::flex();
    let config = ModelConfig::from_name(&name).unwrap().with_dropout(0.0);
    flex.seed(11);
    let model = config.init(&flex);
    let [c, h, _] = config.info().input;
    let side: usize = std::env::args()
        .nth(3)
        .map(|s| s.parse().unwrap())
        .unwrap_or(h);
    let bs: usize = std::env::args()
        .nth(4)
        .map(|s| s.parse().unwrap())
        .unwrap_or(2);
    let (h, w) = (side, side);
    let batches: Vec<_> = (0..5)
        .map(|i| {
            let x = Tensor::<4>::random([bs, c, h, w], Distribution::Uniform(0.0, 1.0), &flex);
            let y: Vec<i64> = (0..bs).map(|j| ((3 * i + 7 * j) % 10) as i64).collect();
            (
                x,
                Tensor::<1, Int>::from_data(TensorData::new(y, [bs]), &flex),
            )
        })
        .collect();
    let mut runs = Vec::new();
    for eps in [0.0f32, 1e-7] {
        let ad = flex.clone().autodiff();
        let mut net = model.clone().to_device(&ad).train();
        let mut optim = SgdConfig::new().init();
        let loss_fn = CrossEntropyLossConfig::new().init(&ad);
        let mut losses = Vec::new();
        for (i, (x, y)) in batches.iter().enumerate() {
            let x = if i == 0 {
                x.clone() * (1.0 + eps)
            } else {
                x.clone()
            };
            let loss = loss_fn.forward(net.forward(x.to_device(&ad)), y.clone().to_device(&ad));
            losses.push(loss.clone().into_scalar::<f32>());
            let g = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(lr, net, g);
        }
        runs.push(losses);
    }
    println!(
        "{name} lr {lr}: losses {:?}\n  perturbed {:?}",
        runs[0], runs[1]
    );
    let d = runs[0]
        .iter()
        .zip(&runs[1])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    println!("  max loss difference from a 1e-7 input change: {d:.2e}");
}
