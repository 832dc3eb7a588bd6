//! The batcher's resize equals PyTorch's `F.interpolate(mode="bilinear", align_corners=False)`.
//!
//! The fixture was made by `tools/torch-reference/resize_fixture.py` (PyTorch 2.15, CPU) from
//! the first image of the shipped Fashion-MNIST test set.

use burn::tensor::Device;
use convzoo_datasets::{FASHION_MNIST, ImageBatcher, Split, workspace_datasets};
use safetensors::SafeTensors;

fn floats(st: &SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
    let t = st.tensor(name).unwrap();
    let values = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (t.shape().to_vec(), values)
}

#[test]
fn bilinear_resize_matches_pytorch() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/resize.safetensors"
    ))
    .unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let test = FASHION_MNIST
        .load_from(&workspace_datasets().join("fashion-mnist"), Split::Test)
        .unwrap();
    let device = Device::flex();

    // The input is our first test image scaled to [0, 1].
    let (shape, input) = floats(&st, "input");
    assert_eq!(shape, [1, 1, 28, 28]);
    let ours = ImageBatcher::new(None).batch_indices(&test, &[0], &device, 0);
    assert_eq!(ours.images.to_data().try_to_vec::<f32>().unwrap(), input);

    for size in [96, 224] {
        let (shape, expected) = floats(&st, &format!("resize_{size}"));
        assert_eq!(shape, [1, 1, size, size]);
        let batch = ImageBatcher::new(Some(size)).batch_indices(&test, &[0], &device, 0);
        assert_eq!(batch.images.dims(), [1, 1, size, size]);
        let got = batch.images.to_data().try_to_vec::<f32>().unwrap();
        let max = got
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .map(|d| if d.is_nan() { f32::INFINITY } else { d })
            .fold(0f32, f32::max);
        assert!(max <= 1e-5, "{size}x{size}: max abs difference {max}");
        // Not trivially equal to an align_corners=true resize: the fixture has structure.
        assert!(expected.iter().any(|v| *v > 0.5));
    }
}
