//! [`cat_channels`] and [`cat_channels_all`]: feature maps concatenated along the channel axis
//! (DenseNet's blocks) on flex, in inference, by [`crate::elementwise::cat`].
//!
//! Flex's `cat` copies on one thread; here each sample's channel blocks are copied by the rayon
//! pool. Training keeps Burn's `cat`: its gradient is a lazy slice of the output's, which
//! measured faster than copying the parts out (BENCHMARKS.md).

use super::{flex_tensor, on_flex};
use crate::elementwise::cat::*;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::{DType, Shape, Tensor};

/// `[N, C_1 + C_2, ...]` from `a` (`[N, C_1, ...]`) and `b` (`[N, C_2, ...]`), `f32`.
#[backend_extension(Flex)]
pub trait FlexCat: Backend {
    /// `a` and `b` concatenated along axis 1.
    fn cat_channels_pair(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Values of one sample of each input: `C_i` times the rest of the shape.
fn per_sample(shape: &Shape) -> usize {
    shape.as_slice()[1..].iter().product()
}

fn forward(parts: &[FlexTensor]) -> FlexTensor {
    let parts: Vec<FlexTensor> = parts.iter().map(|p| p.to_contiguous()).collect();
    let shapes: Vec<Shape> = parts.iter().map(|p| p.shape()).collect();
    let dims = shapes[0].as_slice();
    assert!(
        dims.len() >= 2
            && shapes.iter().all(|s| s.num_dims() == dims.len()
                && s[0] == dims[0]
                && s.as_slice()[2..] == dims[2..]),
        "cat along channels of {:?}",
        shapes
            .iter()
            .map(|s| s.as_slice().to_vec())
            .collect::<Vec<_>>()
    );
    let mut out = dims.to_vec();
    out[1] = shapes.iter().map(|s| s[1]).sum();
    let values: Vec<&[f32]> = parts.iter().map(|p| p.storage()).collect();
    let lens: Vec<usize> = shapes.iter().map(per_sample).collect();
    flex_tensor(cat_values(&values, &lens, dims[0]), Shape::from(out))
}

impl FlexCat for Flex {
    fn cat_channels_pair(a: FlexTensor, b: FlexTensor) -> FlexTensor {
        forward(&[a, b])
    }
}

/// Whether [`FlexCat`] takes `t`: `f32` on flex without autodiff.
fn on_plain_flex<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == DType::F32 && !t.device().is_autodiff() && on_flex(&t.device())
}

/// `a` and `b` (`[N, C_i, ...]`) concatenated along the channel axis: by [`FlexCat`] on flex
/// without autodiff (`f32`), Burn's `Tensor::cat` otherwise.
pub fn cat_channels<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    if D < 2 || !(on_plain_flex(&a) && on_plain_flex(&b)) {
        return Tensor::cat(vec![a, b], 1);
    }
    Tensor::from_dispatch(<Dispatch as FlexCat>::cat_channels_pair(
        a.into_dispatch(),
        b.into_dispatch(),
    ))
}

/// `parts` (`[N, C_i, ...]`) concatenated along the channel axis in one copy: by [`FlexCat`] on
/// flex without autodiff (`f32`), Burn's `Tensor::cat` otherwise.
pub fn cat_channels_all<const D: usize>(parts: Vec<Tensor<D>>) -> Tensor<D> {
    if D < 2 || parts.is_empty() || !parts.iter().all(on_plain_flex) {
        return Tensor::cat(parts, 1);
    }
    let parts: Vec<FlexTensor> = parts.into_iter().map(super::flex_primitive).collect();
    super::from_flex(forward(&parts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    use crate::testing::{assert_close, normal, values};

    /// Values against Burn's `cat`, and the value helpers on their own.
    #[test]
    fn matches_burns_cat() {
        let device = Device::flex();
        let a = normal([3, 5, 4, 6], 0.0, 1.0, 1, &device);
        let b = normal([3, 2, 4, 6], 0.0, 1.0, 2, &device);
        let ours = values(cat_channels(a.clone(), b.clone()));
        let burns = values(Tensor::cat(vec![a, b], 1));
        assert_close("cat", &ours, &burns, 0.0);
        let joined = cat_values(&[&[1.0, 2.0, 3.0, 4.0], &[9.0, 8.0]], &[2, 1], 2);
        assert_eq!(joined, [1.0, 2.0, 9.0, 3.0, 4.0, 8.0]);
    }
}
