//! [`channel_affine_cat`]: DenseNet's batch norm and ReLU in inference on the concatenation of
//! the block's input and its earlier units' outputs, read where each lies instead of copied into
//! one tensor first; and [`super::cat_channels_all`] makes the block's output in one copy.

use super::{channel_affine, flex_tensor, fusing};
use crate::norm::channel_affine::channel_affine_parts;
use burn::backend::TensorMetadata;
use burn::backend::flex::FlexTensor;
use burn::tensor::{Shape, Tensor};

/// [`super::FlexInfer::channel_affine`] of `parts` concatenated along axis 1, each part read where it
/// lies.
fn affine_cat(
    parts: Vec<FlexTensor>,
    scale: FlexTensor,
    shift: FlexTensor,
    relu: bool,
) -> FlexTensor {
    let parts: Vec<FlexTensor> = parts.iter().map(|p| p.to_contiguous()).collect();
    let (scale, shift) = (scale.to_contiguous(), shift.to_contiguous());
    let channels: Vec<usize> = parts.iter().map(|p| p.shape()[1]).collect();
    let mut dims = parts[0].shape().as_slice().to_vec();
    let rest = dims[2..].iter().product();
    dims[1] = channels.iter().sum();
    let values: Vec<&[f32]> = parts.iter().map(|p| p.storage()).collect();
    let y = channel_affine_parts(
        &values,
        &channels,
        rest,
        scale.storage(),
        shift.storage(),
        relu,
    );
    flex_tensor(y, Shape::from(dims))
}

/// [`channel_affine`] of `parts` (`[N, C_k, ...]`, alike but for `C_k`) concatenated along the
/// channel axis (`scale` and `shift` have `sum C_k` values), without making the concatenation
/// where [`fusing`]: each part is read where it lies.
pub fn channel_affine_cat<const D: usize>(
    parts: Vec<Tensor<D>>,
    scale: Tensor<1>,
    shift: Tensor<1>,
    relu: bool,
) -> Tensor<D> {
    let dims: Vec<[usize; D]> = parts.iter().map(|p| p.dims()).collect();
    let channels: usize = dims.iter().map(|d| d[1]).sum();
    let alike = dims
        .iter()
        .all(|d| d[0] == dims[0][0] && d[2..] == dims[0][2..]);
    let applies = D >= 2
        && !parts.is_empty()
        && alike
        && scale.dims() == [channels]
        && shift.dims() == [channels]
        && parts.iter().all(fusing)
        && fusing(&scale)
        && fusing(&shift);
    if !applies {
        return channel_affine(Tensor::cat(parts, 1), scale, shift, relu);
    }
    let parts = parts.into_iter().map(super::flex_primitive).collect();
    let [scale, shift] = [scale, shift].map(super::flex_primitive);
    super::from_flex(affine_cat(parts, scale, shift, relu))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::cat_channels_all;
    use crate::testing::{assert_close, normal, values};
    use burn::tensor::Device;

    /// Against the affine map of the concatenation, with a value of its own for every channel's
    /// scale and shift, with and without ReLU; the one-copy concatenation against Burn's.
    #[test]
    fn matches_the_affine_map_of_the_concatenation() {
        let device = Device::flex();
        let parts: Vec<Tensor<4>> = [3, 1, 4]
            .iter()
            .enumerate()
            .map(|(k, &c)| normal([2, c, 5, 3], 0.0, 1.0, k as u64, &device))
            .collect();
        let whole = Tensor::cat(parts.clone(), 1);
        let scale = normal([8], 0.0, 1.0, 10, &device);
        let shift = normal([8], 0.0, 1.0, 11, &device);
        for relu in [true, false] {
            let ours = channel_affine_cat(parts.clone(), scale.clone(), shift.clone(), relu);
            let expected = channel_affine(whole.clone(), scale.clone(), shift.clone(), relu);
            assert_eq!(ours.dims(), [2, 8, 5, 3]);
            assert_close(
                &format!("relu {relu}"),
                &values(ours),
                &values(expected),
                0.0,
            );
        }
        let ours = cat_channels_all(parts);
        assert_close("concatenation", &values(ours), &values(whole), 0.0);
    }
}
