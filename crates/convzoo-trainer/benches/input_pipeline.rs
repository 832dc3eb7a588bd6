//! Does data keep up with training? A batch of 128 Fashion-MNIST images resized to 224x224 on
//! the device, against one AlexNet training step on that batch (d2l's recipe: batch 128, 224).
//!
//! `cargo bench -p convzoo-trainer --bench input_pipeline` (or `cargo xtask bench`).

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::Device;
use convzoo_datasets::{FASHION_MNIST, ImageBatcher, Split, epoch_order, workspace_datasets};
use convzoo_models::ModelConfig;
use criterion::{Criterion, criterion_group, criterion_main};

fn pipeline(c: &mut Criterion) {
    let set = FASHION_MNIST
        .load_from(&workspace_datasets().join("fashion-mnist"), Split::Train)
        .unwrap();
    let order = epoch_order(set.len(), 0, 0);
    let indices = &order[..128];
    let batcher = ImageBatcher::new(Some(224));
    let device = Device::flex().autodiff();
    let mut group = c.benchmark_group("alexnet-input");
    group.sample_size(10);
    group.bench_function("batch of 128 at 224x224", |b| {
        b.iter(|| {
            let batch = batcher.batch_indices(&set, indices, &device, 0);
            // Wait for the device to finish the resize.
            batch.images.sum().into_scalar::<f32>()
        })
    });
    let mut model = ModelConfig::from_name("alexnet").unwrap().init(&device);
    let mut optim = SgdConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let batch = batcher.batch_indices(&set, indices, &device, 0);
    group.bench_function("alexnet training step, batch 128", |b| {
        b.iter(|| {
            let logits = model.forward(batch.images.clone());
            let loss = loss_fn.forward(logits, batch.labels.clone());
            let value = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(0.01, model.clone(), grads);
            value
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
