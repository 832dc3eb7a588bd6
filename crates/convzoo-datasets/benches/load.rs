//! Loading all of Fashion-MNIST (70,000 images): read, SHA-256 check, gunzip, parse.
//!
//! `cargo bench -p convzoo-datasets --bench load` (or `cargo xtask bench`).

use convzoo_datasets::{FASHION_MNIST, Split, workspace_datasets};
use criterion::{Criterion, criterion_group, criterion_main};

fn load(c: &mut Criterion) {
    let dir = workspace_datasets().join("fashion-mnist");
    let mut group = c.benchmark_group("fashion-mnist");
    group.sample_size(10);
    group.bench_function("load train + test (70,000 images)", |b| {
        b.iter(|| {
            let train = FASHION_MNIST.load_from(&dir, Split::Train).unwrap();
            let test = FASHION_MNIST.load_from(&dir, Split::Test).unwrap();
            assert_eq!(train.len() + test.len(), 70_000);
        })
    });
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
