//! Tests that loop over the registry (the timm way): every model is held to d2l's reference
//! figures and to the same behavioural checks.

use std::collections::HashMap;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use convzoo_blocks::for_each_tensor;
use convzoo_models::{Error, ModelConfig, REGISTRY, SizeRule, summarize};

/// Parameter count and per-layer shapes of one model in d2l's reference summary.
struct Reference {
    params: usize,
    shapes: Vec<Vec<usize>>,
}

/// Parses `reference/layer_shapes.txt` (d2l's `layer_summary` output) by d2l model name.
fn references() -> HashMap<String, Reference> {
    let text = include_str!("reference/layer_shapes.txt");
    let mut out = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("== ") {
            let (name, tail) = rest.split_once(':').unwrap();
            let params = tail.rsplit("params ").next().unwrap().replace(',', "");
            out.insert(
                name.to_string(),
                Reference {
                    params: params.trim().parse().unwrap(),
                    shapes: vec![],
                },
            );
            current = Some(name.to_string());
        } else if let Some((_, shape)) = line.split_once("torch.Size([") {
            let dims = shape
                .trim_end_matches("])")
                .split(", ")
                .map(|d| d.parse().unwrap());
            out.get_mut(current.as_ref().unwrap())
                .unwrap()
                .shapes
                .push(dims.collect());
        }
    }
    out
}

#[test]
fn parameter_counts_and_layer_shapes_match_d2l() {
    let refs = references();
    let device = Device::flex();
    for info in REGISTRY {
        // `anynet` alone has none: its stages are the user's, RegNetX-32's by default (held to
        // its reference below).
        let Some(pytorch) = info
            .pytorch
            .or((info.name == "anynet").then_some("regnetx32"))
        else {
            panic!(
                "{}: every registry model but anynet has a PyTorch definition",
                info.name
            );
        };
        let reference = &refs[pytorch];
        let summary = summarize(&ModelConfig::from_name(info.name).unwrap(), &device);
        assert_eq!(
            summary.params, reference.params,
            "{}: parameter count",
            info.name
        );
        // The reference shapes appear, in order, among our layers' output shapes.
        let ours: Vec<&Vec<usize>> = summary.layers.iter().map(|l| &l.output_shape).collect();
        let mut rest = ours.iter();
        for shape in &reference.shapes {
            assert!(
                rest.any(|s| *s == shape),
                "{}: reference shape {shape:?} not found in order in {ours:?}",
                info.name
            );
        }
        assert_eq!(ours.last().unwrap().as_slice(), &[1, 10], "{}", info.name);
    }
}

#[test]
fn forward_and_backward_on_a_batch_of_two() {
    let device = Device::flex().autodiff();
    for info in REGISTRY {
        device.seed(1);
        let config = ModelConfig::from_name(info.name)
            .unwrap()
            .with_num_classes(7);
        let model = config.init(&device);
        let [c, h, w] = info.input;
        let x = Tensor::<4>::random([2, c, h, w], Distribution::Uniform(0.0, 1.0), &device);
        let logits = model.forward(x);
        assert_eq!(logits.dims(), [2, 7], "{}", info.name);
        let values: Vec<f32> = logits.to_data().try_to_vec::<f32>().unwrap();
        assert!(
            values.iter().all(|v| v.is_finite()),
            "{}: {values:?}",
            info.name
        );
        let grads = logits.sum().backward();
        let mut missing = Vec::new();
        for_each_tensor(&model, |t| {
            if !t.buffer && t.grad(&grads).is_none() {
                missing.push(model.torch_key(t.path));
            }
        });
        assert!(
            missing.is_empty(),
            "{}: no gradient for {missing:?}",
            info.name
        );
    }
}

#[test]
fn config_json_round_trip_rebuilds_the_same_architecture() {
    let device = Device::flex();
    for info in REGISTRY {
        let config = ModelConfig::from_name(info.name)
            .unwrap()
            .with_in_channels(3);
        let json = serde_json::to_string(&config).unwrap();
        assert!(
            json.contains(&format!("\"model\":\"{}\"", info.name)),
            "{json}"
        );
        let back: ModelConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.name(), info.name);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        let (a, b) = (config.init(&device), back.init(&device));
        assert_eq!(
            a.to_string(),
            b.to_string(),
            "{}: architecture differs",
            info.name
        );
        assert_eq!(a.num_params(), b.num_params());
        assert_eq!(a.input_spec(), b.input_spec());
        assert_eq!(a.input_spec().channels, 3);
    }
}

#[test]
fn wrong_input_names_model_expected_and_given() {
    let device = Device::flex();
    for info in REGISTRY {
        let model = ModelConfig::from_name(info.name).unwrap().init(&device);
        let [_, h, w] = info.input;
        // Three channels into a one-channel model.
        let err: Error = model
            .try_forward(Tensor::zeros([2, 3, h, w], &device))
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(info.name) && msg.contains("[2, 3,"), "{msg}");
        // A size below the minimum, or other than the exact size.
        let bad = match model.input_spec().size {
            SizeRule::Exact(s) => s + 4,
            SizeRule::AtLeast(s) => s - 1,
        };
        if bad > 0 {
            let err = model
                .try_forward(Tensor::zeros([1, 1, bad, bad], &device))
                .unwrap_err();
            assert!(
                err.to_string().contains(&format!("[1, 1, {bad}, {bad}]")),
                "{err}"
            );
        }
    }
    let alexnet = ModelConfig::from_name("alexnet").unwrap().init(&device);
    let err = alexnet
        .try_forward(Tensor::zeros([2, 1, 32, 32], &device))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "model 'alexnet' expects input [N, 1, 224, 224], but was given [2, 1, 32, 32] \
         (resize the images to 224x224)"
    );
}

#[test]
fn smallest_accepted_size_runs() {
    let device = Device::flex();
    for info in REGISTRY {
        let model = ModelConfig::from_name(info.name).unwrap().init(&device);
        let (SizeRule::Exact(s) | SizeRule::AtLeast(s)) = model.input_spec().size;
        // Odd rectangles too, for the models that take any size.
        let w = if matches!(model.input_spec().size, SizeRule::AtLeast(_)) {
            s + 3
        } else {
            s
        };
        let logits = model.forward(Tensor::zeros([1, 1, s, w], &device));
        assert_eq!(logits.dims(), [1, 10], "{} at {s}x{w}", info.name);
    }
}

#[test]
fn the_recipe_size_is_one_the_model_takes() {
    for info in REGISTRY {
        let config = ModelConfig::from_name(info.name).unwrap();
        let [c, h, w] = info.input;
        assert_eq!((h, w), (info.recipe.resize, info.recipe.resize));
        assert!(
            config.input_spec().check(info.name, &[1, c, h, w]).is_ok(),
            "{}: the recipe's size {h} does not fit {}",
            info.name,
            config.input_spec()
        );
    }
}

#[test]
fn unknown_name_lists_the_choices() {
    let err = ModelConfig::from_name("resnet50").unwrap_err().to_string();
    assert!(
        err.starts_with("unknown model 'resnet50'; choose one of: lenet, lenet-bn"),
        "{err}"
    );
}
