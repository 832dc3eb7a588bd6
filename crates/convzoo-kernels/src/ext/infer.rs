//! Inference-only fused operations on flex without autodiff: a convolution finished by a
//! per-channel scale and shift (its bias, or the batch norm after it folded in), an optional
//! residual and an optional ReLU, in the pass that writes its output ([`conv2d_fused`]); and
//! a per-channel scale and shift with an optional ReLU, a batch norm in inference
//! ([`channel_affine`]). Neither records anything for a backward pass, so the models call them
//! only where [`fusing`] says so.

use super::{enabled, flex_tensor};
use crate::conv::{self as conv_kernels, Activation, Epilogue};
use crate::norm::channel_affine::channel_affine_values;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, DispatchDevice, Flex, TensorMetadata, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Shape, Tensor};

/// Whether the inference-only fused operations apply to `x`: the kernels are [`enabled`], `x` is
/// an `f32` tensor on flex without autodiff (so nothing can need its gradient).
pub fn fusing<const D: usize>(x: &Tensor<D>) -> bool {
    enabled()
        && x.dtype() == DType::F32
        && matches!(x.device().as_dispatch(), DispatchDevice::Flex(_))
}

/// Inference-only fused operations (flex without autodiff).
#[backend_extension(Flex)]
pub trait FlexInfer: Backend {
    /// `activation(conv2d(x, weight) * scale + shift)` per output channel; dilation 1, any
    /// groups.
    fn conv2d_affine(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        options: ConvOptions<2>,
        activation: Activation,
    ) -> FloatTensor<Self>;

    /// [`FlexInfer::conv2d_affine`] with `residual` (the output's shape) added before the
    /// activation.
    fn conv2d_affine_add(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        options: ConvOptions<2>,
        activation: Activation,
    ) -> FloatTensor<Self>;

    /// `relu?(x * scale + shift)` per channel (axis 1) of `x` (`[N, C, ...]`).
    fn channel_affine(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        relu: bool,
    ) -> FloatTensor<Self>;
}

fn conv(
    x: FlexTensor,
    weight: FlexTensor,
    scale: FlexTensor,
    shift: FlexTensor,
    residual: Option<FlexTensor>,
    options: &ConvOptions<2>,
    activation: Activation,
) -> FlexTensor {
    let g = super::conv::geometry(&x.shape(), &weight.shape(), options);
    let [h, w] = g.output();
    let (x, weight, scale, shift) = (
        x.to_contiguous(),
        weight.to_contiguous(),
        scale.to_contiguous(),
        shift.to_contiguous(),
    );
    let residual = residual.map(|r| r.to_contiguous());
    let epilogue = Epilogue {
        scale: Some(scale.storage()),
        shift: Some(shift.storage()),
        residual: residual.as_ref().map(|r| r.storage()),
        activation,
    };
    let y = conv_kernels::forward_inference(&g, x.storage(), weight.storage(), epilogue);
    flex_tensor(y, Shape::new([g.batch, g.channels_out, h, w]))
}

impl FlexInfer for Flex {
    fn conv2d_affine(
        x: FlexTensor,
        weight: FlexTensor,
        scale: FlexTensor,
        shift: FlexTensor,
        options: ConvOptions<2>,
        activation: Activation,
    ) -> FlexTensor {
        conv(x, weight, scale, shift, None, &options, activation)
    }

    fn conv2d_affine_add(
        x: FlexTensor,
        weight: FlexTensor,
        scale: FlexTensor,
        shift: FlexTensor,
        residual: FlexTensor,
        options: ConvOptions<2>,
        activation: Activation,
    ) -> FlexTensor {
        conv(
            x,
            weight,
            scale,
            shift,
            Some(residual),
            &options,
            activation,
        )
    }

    fn channel_affine(
        x: FlexTensor,
        scale: FlexTensor,
        shift: FlexTensor,
        relu: bool,
    ) -> FlexTensor {
        let shape = x.shape();
        let x = x.to_contiguous();
        let (scale, shift) = (scale.to_contiguous(), shift.to_contiguous());
        let rest = shape.num_elements() / (shape[0] * shape[1]).max(1);
        let y = channel_affine_values(x.storage(), rest, scale.storage(), shift.storage(), relu);
        flex_tensor(y, shape)
    }
}

/// `activation(conv2d(x, weight) * scale + shift + residual)`, per output channel (`scale` and
/// `shift` `[C_out]`, `residual` the output's shape): one pass over the output by the fused
/// kernel where [`fusing`] (and dilation 1), Burn's operations otherwise.
///
/// # Shapes
/// - x: `[N, C_in, H, W]`, weight: `[C_out, C_in / groups, k_h, k_w]`
/// - output: `[N, C_out, H_out, W_out]`
pub fn conv2d_fused(
    x: Tensor<4>,
    weight: Tensor<4>,
    [scale, shift]: [Tensor<1>; 2],
    residual: Option<Tensor<4>>,
    options: ConvOptions<2>,
    activation: Activation,
) -> Tensor<4> {
    let [c_out, c_in, kh, kw] = weight.dims();
    let [_, x_c, h, w] = x.dims();
    let [(top, bottom), (left, right)] = options.padding;
    // Every tensor on flex without autodiff (a model on an autodiff device may be given a
    // plain input), else the dispatch would take them to the autodiff backend.
    let applies = fusing(&x)
        && fusing(&weight)
        && fusing(&scale)
        && fusing(&shift)
        && residual.as_ref().is_none_or(fusing)
        && options.groups > 0
        && options.dilation == [1, 1]
        && x_c == c_in * options.groups
        && c_out.is_multiple_of(options.groups)
        && h + top + bottom >= kh
        && w + left + right >= kw
        && scale.dims() == [c_out]
        && shift.dims() == [c_out]
        && weight.dtype() == DType::F32;
    if !applies {
        let y = burn::tensor::module::conv2d(x, weight, None, options);
        let y = y * scale.reshape([1, c_out, 1, 1]) + shift.reshape([1, c_out, 1, 1]);
        let y = match residual {
            Some(r) => y + r,
            None => y,
        };
        return match activation {
            Activation::Identity => y,
            Activation::Relu => burn::tensor::activation::relu(y),
            Activation::Sigmoid => burn::tensor::activation::sigmoid(y),
        };
    }
    let (x, weight) = (x.into_dispatch(), weight.into_dispatch());
    let (scale, shift) = (scale.into_dispatch(), shift.into_dispatch());
    Tensor::from_dispatch(match residual {
        Some(r) => <Dispatch as FlexInfer>::conv2d_affine_add(
            x,
            weight,
            scale,
            shift,
            r.into_dispatch(),
            options,
            activation,
        ),
        None => {
            <Dispatch as FlexInfer>::conv2d_affine(x, weight, scale, shift, options, activation)
        }
    })
}

/// `relu?(x * scale + shift)` per channel (axis 1; `scale` and `shift` `[C]`): one parallel
/// pass where [`fusing`], Burn's operations otherwise.
///
/// # Shapes
/// - x: `[N, C]` or `[N, C, H, W]`
/// - output: same as `x`
pub fn channel_affine<const D: usize>(
    x: Tensor<D>,
    scale: Tensor<1>,
    shift: Tensor<1>,
    relu: bool,
) -> Tensor<D> {
    let channels = x.dims()[1];
    let applies = fusing(&x) && fusing(&scale) && fusing(&shift);
    if !(applies && scale.dims() == [channels] && shift.dims() == [channels]) {
        let mut per_channel = [1usize; D];
        per_channel[1] = channels;
        let y = x * scale.reshape(per_channel) + shift.reshape(per_channel);
        return if relu {
            burn::tensor::activation::relu(y)
        } else {
            y
        };
    }
    Tensor::from_dispatch(<Dispatch as FlexInfer>::channel_affine(
        x.into_dispatch(),
        scale.into_dispatch(),
        shift.into_dispatch(),
        relu,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    use crate::testing::{assert_close, values};

    /// A standard normal draw of `dims`, its own for each `seed`.
    fn random<const D: usize>(dims: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
        crate::testing::normal(dims, 0.0, 1.0, seed, device)
    }

    /// The fused convolution against Burn's conv2d followed by Burn's element-wise operations:
    /// padded 3x3, strided, pointwise (the sample as its own patch matrix), few pixels a sample
    /// (several samples a gemm), Winograd, grouped and depthwise, with and without residual,
    /// ReLU and sigmoid.
    #[test]
    fn fused_convolution_matches_burns_operations_on_every_path() {
        crate::testing::on_every_path(fused_convolution_matches_burns_operations);
    }

    fn fused_convolution_matches_burns_operations() {
        let device = Device::flex();
        // (batch, c_in, c_out, size, kernel, stride, padding, groups)
        let cases = [
            (3, 4, 6, 9, [3, 3], [1, 1], [(1, 1), (1, 1)], 1),
            (2, 3, 5, 11, [3, 3], [2, 2], [(1, 1), (1, 1)], 1),
            (3, 8, 4, 7, [1, 1], [1, 1], [(0, 0), (0, 0)], 1),
            (6, 16, 8, 3, [3, 3], [1, 1], [(1, 1), (1, 1)], 1),
            (2, 128, 64, 8, [3, 3], [1, 1], [(1, 1), (1, 1)], 1), // Winograd
            (2, 32, 32, 12, [3, 3], [2, 2], [(1, 1), (1, 1)], 2), // RegNetX-32's grouped
            (2, 80, 80, 6, [3, 3], [1, 1], [(1, 1), (1, 1)], 5),
            (2, 12, 12, 7, [3, 3], [1, 1], [(1, 1), (1, 1)], 12), // depthwise
        ];
        for (i, (n, ci, co, hw, k, stride, padding, groups)) in cases.into_iter().enumerate() {
            let seed = 5 * i as u64;
            let options = ConvOptions::new(stride, [padding[0].0, padding[1].0], [1, 1], groups);
            let x = random([n, ci, hw, hw], seed, &device);
            let w = random([co, ci / groups, k[0], k[1]], seed + 1, &device);
            let (scale, shift) = (
                random([co], seed + 2, &device),
                random([co], seed + 3, &device),
            );
            let y = burn::tensor::module::conv2d(x.clone(), w.clone(), None, options.clone());
            let affine = y.clone() * scale.clone().reshape([1, co, 1, 1])
                + shift.clone().reshape([1, co, 1, 1]);
            let residual = random(y.dims(), seed + 4, &device);
            let pre_scale = values(affine.clone())
                .iter()
                .fold(1.0f32, |m, v| m.max(v.abs()));
            let cases = [
                (false, Activation::Identity),
                (false, Activation::Relu),
                (true, Activation::Relu),
                (false, Activation::Sigmoid),
            ];
            for (with_residual, activation) in cases {
                let expected = if with_residual {
                    affine.clone() + residual.clone()
                } else {
                    affine.clone()
                };
                let expected = match activation {
                    Activation::Identity => expected,
                    Activation::Relu => burn::tensor::activation::relu(expected),
                    Activation::Sigmoid => burn::tensor::activation::sigmoid(expected),
                };
                let ours = conv2d_fused(
                    x.clone(),
                    w.clone(),
                    [scale.clone(), shift.clone()],
                    with_residual.then(|| residual.clone()),
                    options.clone(),
                    activation,
                );
                let case = format!(
                    "{n}x{ci}x{hw} -> {co}, k {k:?}, s {stride:?}, {groups} groups, res {with_residual}, {activation:?}"
                );
                // The sigmoid squashes its input to [0, 1]: the tolerance stays relative to the
                // magnitude before it (the rounding of the sums).
                let tolerance = match activation {
                    Activation::Sigmoid => 2e-6 * pre_scale,
                    _ => 2e-6,
                };
                assert_close(&case, &values(ours), &values(expected), tolerance);
            }
        }
    }

    #[test]
    fn channel_affine_matches_burns_operations() {
        let device = Device::flex();
        let x = random([3, 5, 7, 9], 1, &device);
        let (scale, shift) = (random([5], 2, &device), random([5], 3, &device));
        let expected = burn::tensor::activation::relu(
            x.clone() * scale.clone().reshape([1, 5, 1, 1]) + shift.clone().reshape([1, 5, 1, 1]),
        );
        let ours = channel_affine(x, scale.clone(), shift.clone(), true);
        assert_close("maps", &values(ours), &values(expected), 1e-6);
        let v = random([4, 5], 4, &device);
        let expected = v.clone() * scale.clone().reshape([1, 5]) + shift.clone().reshape([1, 5]);
        let ours = channel_affine(v, scale, shift, false);
        assert_close("vectors", &values(ours), &values(expected), 1e-6);
    }

    #[test]
    fn autodiff_tensors_are_not_fused() {
        let x = Tensor::<4>::zeros([1, 1, 2, 2], &Device::flex().autodiff());
        assert!(!fusing(&x));
        let plain = Device::flex();
        assert!(fusing(&Tensor::<4>::zeros([1, 1, 2, 2], &plain)));
        // A plain input with autodiff weights (a model on an autodiff device) takes Burn's
        // operations, and gives their values.
        let autodiff = plain.clone().autodiff();
        let x = Tensor::<4>::ones([1, 2, 4, 4], &plain);
        let w = Tensor::<4>::ones([3, 2, 3, 3], &autodiff);
        let affine = [Tensor::ones([3], &plain), Tensor::zeros([3], &plain)];
        let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let y = conv2d_fused(x, w, affine, None, options, Activation::Relu);
        assert_eq!(values(y)[5], 18.0);
    }
}
