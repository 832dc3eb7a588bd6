//! d2l's PyTorch key names for every model, and the safetensors round trip through them.

use std::collections::HashSet;

use burn::tensor::{Device, Distribution, Tensor};
use convzoo_models::torch::{key_pairs, load_torch, save_safetensors};
use convzoo_models::{ModelConfig, REGISTRY};

#[test]
fn every_tensor_has_a_unique_torch_key() {
    let device = Device::flex();
    for info in REGISTRY {
        let config = ModelConfig::from_name(info.name).unwrap();
        let model = config.init(&device);
        let pairs = key_pairs(&model);
        let keys: HashSet<&str> = pairs.iter().map(|p| p.torch.as_str()).collect();
        assert_eq!(keys.len(), pairs.len(), "{}: duplicate keys", info.name);
        assert!(
            keys.iter().all(|k| k.starts_with("net.")),
            "{}: {keys:?}",
            info.name
        );
        if info.name == "resnet18" {
            assert!(
                keys.contains("net.b3.0.conv3.weight") && !keys.contains("net.b2.0.conv3.weight")
            );
            assert!(keys.contains("net.0.1.running_var") && keys.contains("net.last.2.weight"));
        }
        if info.name == "lenet" {
            let expected = [
                "net.0.weight",
                "net.0.bias",
                "net.3.weight",
                "net.3.bias",
                "net.7.weight",
            ];
            let got: Vec<&str> = pairs.iter().take(5).map(|p| p.torch.as_str()).collect();
            assert_eq!(got, expected);
        }
    }
}

#[test]
fn safetensors_round_trip_keeps_the_function() {
    let device = Device::flex();
    let dir = std::env::temp_dir().join(format!("convzoo-st-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["lenet", "lenet-bn-scratch", "densenet", "googlenet"] {
        let config = ModelConfig::from_name(name).unwrap();
        let [c, h, w] = config.info().input;
        device.seed(1);
        let a = config.init(&device);
        device.seed(2);
        let b = config.init(&device);
        let path = dir.join(format!("{name}.safetensors"));
        save_safetensors(&a, &config, &path).unwrap();
        let b = load_torch(b, &config, &path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let x = Tensor::<4>::random([2, c, h, w], Distribution::Uniform(0.0, 1.0), &device);
        let diff: f32 = (a.forward(x.clone()) - b.forward(x))
            .abs()
            .max()
            .into_scalar();
        assert!(diff == 0.0, "{name}: {diff}");
    }
    // Weights of another model are refused, listing keys.
    let config = ModelConfig::from_name("lenet-bn").unwrap();
    let err = load_torch(
        config.init(&device),
        &config,
        &dir.join("lenet.safetensors"),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("do not fit model 'lenet-bn'") && msg.contains("net.1.weight"),
        "{msg}"
    );
    // A wrong shape names the key; a file that is not weights is an error too.
    let config = ModelConfig::from_name("lenet").unwrap();
    let bytes = std::fs::read(dir.join("lenet.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let seven = vec![0u8; 7 * 4];
    let tensors: Vec<(String, safetensors::tensor::TensorView)> = st
        .names()
        .into_iter()
        .map(|n| {
            let view = if n == "net.0.bias" {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![7], &seven)
                    .unwrap()
            } else {
                st.tensor(n).unwrap()
            };
            (n.to_string(), view)
        })
        .collect();
    let bad = dir.join("bad-shape.safetensors");
    std::fs::write(&bad, safetensors::serialize(tensors, None).unwrap()).unwrap();
    let msg = load_torch(config.init(&device), &config, &bad)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("do not fit model 'lenet'") && msg.contains("net.0.bias"),
        "{msg}"
    );
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"not weights at all").unwrap();
    let msg = load_torch(config.init(&device), &config, &junk)
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with(&junk.display().to_string()), "{msg}");
    std::fs::remove_dir_all(dir).unwrap();
}
