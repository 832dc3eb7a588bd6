//! Every registry model trains with its d2l recipe end to end, on a reduced run: one epoch on
//! 256 training and 128 test images of the shipped Fashion-MNIST (fewer for the costliest models,
//! so that no model's epoch costs more than about 10^11 multiply-adds to train and half that to
//! test; smaller images for the models that end in global pooling), through the trainer
//! library.

use burn::tensor::Device;
use convzoo_models::{ModelConfig, REGISTRY, SizeRule, summarize};
use convzoo_trainer::config::Overrides;
use convzoo_trainer::train;

#[test]
fn every_model_trains_one_reduced_epoch() {
    let root = std::env::temp_dir().join(format!("convzoo-recipes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for info in REGISTRY {
        let model = ModelConfig::from_name(info.name).unwrap();
        let spec = model.input_spec();
        // Models with global pooling take smaller images, which keeps the test fast.
        let resize = match spec.size {
            SizeRule::Exact(s) => s,
            SizeRule::AtLeast(min) => min.max(64),
        };
        // Multiply-adds of one image at that size (they grow with the pixels).
        let native = info.recipe.resize as f64;
        let macs =
            summarize(&model, &Device::flex()).macs as f64 * (resize as f64 / native).powi(2);
        let limit_train = (1e11 / macs).clamp(16.0, 256.0) as usize;
        let limit_test = (5e10 / macs).clamp(16.0, 128.0) as usize;
        let config = Overrides {
            model: Some(info.name.into()),
            epochs: Some(1),
            limit_train: Some(limit_train),
            limit_test: Some(limit_test),
            resize: Some(resize),
            ..Overrides::default()
        }
        .resolve("flex")
        .unwrap();
        assert_eq!(
            config.lr, info.recipe.lr,
            "{}: the recipe's learning rate",
            info.name
        );
        assert_eq!(config.batch_size, info.recipe.batch_size);
        let dir = root.join(info.name);
        let started = std::time::Instant::now();
        let run = train::start(config, Some(&dir)).unwrap_or_else(|e| panic!("{}: {e}", info.name));
        for f in [
            "config.json",
            "metrics.json",
            "metrics.csv",
            "curves.svg",
            "curves.png",
            "model.bpk",
        ] {
            assert!(run.join(f).is_file(), "{}: {f} missing", info.name);
        }
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap())
                .unwrap();
        assert_eq!(m["model"], info.name);
        let epochs = m["epochs"].as_array().unwrap();
        assert_eq!(epochs.len(), 1);
        let loss = epochs[0]["train_loss"].as_f64().unwrap();
        assert!(loss.is_finite() && loss > 0.0, "{}: loss {loss}", info.name);
        let acc = epochs[0]["test_acc"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc));
        std::fs::remove_dir_all(&dir).unwrap();
        eprintln!(
            "{:<17} {limit_train} + {limit_test} images at {resize}x{resize}: {:.1} s",
            info.name,
            started.elapsed().as_secs_f64()
        );
    }
}
