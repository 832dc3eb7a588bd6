//! The library's own API: a run reports its events to an observer, and `train_step` trains.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::SgdConfig;
use burn::tensor::Device;
use convzoo_datasets::{ImageBatcher, synthetic};
use convzoo_models::ModelConfig;
use convzoo_trainer::config::Overrides;
use convzoo_trainer::observe::Event;
use convzoo_trainer::step::train_step;
use convzoo_trainer::train;

#[test]
fn a_run_reports_its_events_in_order() {
    let dir = std::env::temp_dir().join(format!("convzoo-events-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = Overrides {
        epochs: Some(2),
        limit_train: Some(256),
        limit_test: Some(64),
        batch_size: Some(64),
        ..Overrides::default()
    }
    .resolve("flex")
    .unwrap();
    let mut events = Vec::new();
    let run =
        train::start_with(config, Some(&dir), &mut |e: &Event| events.push(e.clone())).unwrap();
    assert_eq!(events.first(), Some(&Event::RunDir(run.clone())));
    assert!(
        matches!(&events[1], Event::Loaded { model, train: 256, test: 64, .. } if model == "lenet"),
        "{:?}",
        events[1]
    );
    let steps: Vec<(usize, usize)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Step { epoch, step, .. } => Some((*epoch, *step)),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        [
            (1, 1),
            (1, 2),
            (1, 3),
            (1, 4),
            (2, 1),
            (2, 2),
            (2, 3),
            (2, 4)
        ]
    );
    let epochs: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Event::Epoch { metrics, epochs: 2 } => Some(metrics.epoch),
            _ => None,
        })
        .collect();
    assert_eq!(epochs, [1, 2]);
    match events.last() {
        Some(Event::Done { last, run: done }) => {
            assert_eq!((last.epoch, done), (2, &run));
        }
        other => panic!("last event: {other:?}"),
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn train_step_lowers_the_loss_of_a_batch() {
    let ad = Device::flex().autodiff();
    ad.seed(0);
    let mut model = ModelConfig::from_name("lenet").unwrap().init(&ad);
    let mut optim = SgdConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let set = synthetic(64, 1, 28, 10, 0);
    let indices: Vec<usize> = (0..64).collect();
    let batch = ImageBatcher::new(None).batch_indices(&set, &indices, &ad, 0);
    let mut losses = Vec::new();
    for _ in 0..30 {
        let stats;
        (model, stats) = train_step(
            model,
            &mut optim,
            &loss_fn,
            batch.images.clone(),
            batch.labels.clone(),
            0.9,
        );
        assert!(stats.correct <= 64);
        losses.push(stats.loss);
    }
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(losses[29] < losses[0], "{losses:?}");
}
