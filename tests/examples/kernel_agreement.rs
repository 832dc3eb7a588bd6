//! Experiment: a model's SGD steps on flex with convzoo's flex kernels against Burn's flex
//! operations (`convzoo_blocks::flex::set_enabled`), step by step.
//!
//! `cargo run --release -p convzoo-tests --example kernel_agreement -- MODEL [LR] [STEPS] [SIDE] [BATCH]`
use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use convzoo_models::{Model, ModelConfig};

#[derive(Default)]
struct Tensors {
    path: Vec<String>,
    out: Vec<(String, Vec<f32>)>,
}

impl ModuleVisitor for Tensors {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let v = param
            .val()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        self.out.push((self.path.join("."), v));
    }
}

/// Every float tensor of a model, by path.
type Named = Vec<(String, Vec<f32>)>;

fn tensors(model: &Model) -> Named {
    let mut t = Tensors::default();
    model.visit(&mut t);
    t.out
}

fn run(
    model: &Model,
    batches: &[(Tensor<4>, Tensor<1, Int>)],
    lr: f64,
    kernels: bool,
) -> (Vec<f32>, Vec<Named>) {
    convzoo_blocks::flex::set_enabled(kernels);
    let ad = Device::flex().autodiff();
    let mut net = model.clone().to_device(&ad).train();
    let mut optim = SgdConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let (mut losses, mut states) = (vec![], vec![]);
    for (bx, by) in batches {
        let loss = loss_fn.forward(net.forward(bx.clone()), by.clone());
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(lr, net, grads);
        states.push(tensors(&net));
    }
    (losses, states)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map(String::as_str).unwrap_or("resnet18");
    let lr: f64 = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(0.001);
    let steps: usize = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(5);
    let side: usize = args.get(4).map(|s| s.parse().unwrap()).unwrap_or(64);
    let batch: usize = args.get(5).map(|s| s.parse().unwrap()).unwrap_or(4);
    // The data of tests/backends.rs: seed 11, an inference batch first, uniform inputs.
    let device = Device::flex();
    device.seed(11);
    let config = ModelConfig::from_name(name).unwrap().with_dropout(0.0);
    let model = config.init(&device);
    let shape = [batch, 1, side, side];
    let _ = Tensor::<4>::random(shape, Distribution::Uniform(0.0, 1.0), &device);
    let batches: Vec<_> = (0..steps)
        .map(|i| {
            let x = Tensor::<4>::random(shape, Distribution::Uniform(0.0, 1.0), &device);
            let labels: Vec<i64> = (0..batch).map(|j| ((3 * i + 7 * j) % 10) as i64).collect();
            let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), &device);
            (x, y)
        })
        .collect();
    let ours = run(&model, &batches, lr, true);
    let burns = run(&model, &batches, lr, false);
    for s in 0..steps {
        let (mut worst, mut at) = (0.0f32, String::new());
        for ((p, a), (_, b)) in ours.1[s].iter().zip(&burns.1[s]) {
            let d = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            if d > worst {
                worst = d;
                at = p.clone();
            }
        }
        println!(
            "{name} lr {lr} step {}: loss {:.6} vs {:.6} (diff {:.1e}), weights {worst:.1e} at {at}",
            s + 1,
            ours.0[s],
            burns.0[s],
            (ours.0[s] - burns.0[s]).abs()
        );
    }
}
