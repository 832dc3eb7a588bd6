//! Burn backend extensions: the glue between Burn's tensors (flex, with and without autodiff)
//! and the kernels on plain slices. Each public operation falls back to Burn's own where the
//! kernels do not apply (another backend, another dtype, an unsupported option, or the kernels
//! switched off by [`set_enabled`] or `CONVZOO_FLEX_KERNELS=0`).

mod affine_cat;
mod avg_pool;
mod batch_norm;
mod batch_norm_autodiff;
mod cat;
mod conv;
mod infer;
mod max_pool;
mod relu;
mod sigmoid;
mod unary;

pub use affine_cat::channel_affine_cat;
pub use avg_pool::{FlexAvgPool, avg_pool2d};
pub use batch_norm::{FlexBatchNorm, batch_norm_train, batch_norm_train_residual};
pub use cat::{FlexCat, cat_channels, cat_channels_all};
pub use conv::{FlexConv, conv2d};
pub use infer::{FlexInfer, channel_affine, conv2d_fused, fusing};
pub use max_pool::{FlexMaxPool, max_pool2d};
pub use relu::{FlexRelu, relu};
pub use sigmoid::{FlexSigmoid, sigmoid, sigmoid_applies};

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    BackendTensor, Dispatch, DispatchDevice, DispatchKindConversion, DispatchTensor, Flex,
};
use burn::tensor::{DType, Device, Shape, Tensor, TensorData};
use std::sync::atomic::{AtomicU8, Ordering};

/// 0: not decided yet (read `CONVZOO_FLEX_KERNELS`), 1: on, 2: off.
static STATE: AtomicU8 = AtomicU8::new(0);

/// Whether the kernels run: on unless [`set_enabled`]`(false)` was called or the environment
/// variable `CONVZOO_FLEX_KERNELS` is `0`, `off` or `false` (Burn's own operations then run, for
/// comparisons and as a fallback).
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let off = std::env::var("CONVZOO_FLEX_KERNELS")
                .is_ok_and(|v| matches!(v.trim(), "0" | "off" | "false"));
            STATE.store(if off { 2 } else { 1 }, Ordering::Relaxed);
            !off
        }
    }
}

/// Turns the kernels on or off for the whole process (see [`enabled`]).
pub fn set_enabled(on: bool) {
    STATE.store(if on { 1 } else { 2 }, Ordering::Relaxed);
}

fn flex_tensor(values: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Whether the kernels are [`enabled`] and `device` is flex (with or without autodiff).
fn on_flex(device: &Device) -> bool {
    if !enabled() {
        return false;
    }
    match device.as_dispatch() {
        DispatchDevice::Flex(_) => true,
        DispatchDevice::Autodiff(inner) => matches!(&**inner, DispatchDevice::Flex(_)),
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// The flex primitive of `t`, an `f32` tensor on flex without autodiff (the caller checked): for
/// the operations on a list of tensors, whose `Vec` arguments the `backend_extension` macro does
/// not convert to flex's.
fn flex_primitive<const D: usize>(t: Tensor<D>) -> FlexTensor {
    <DispatchTensor as DispatchKindConversion<Flex>>::try_into_backend(t.into_dispatch())
        .unwrap_or_else(|e| panic!("a plain flex tensor was checked for: {e}"))
        .float()
}

/// A tensor of the flex primitive `t` (the inverse of [`flex_primitive`]).
fn from_flex<const D: usize>(t: FlexTensor) -> Tensor<D> {
    Tensor::from_dispatch(
        <DispatchTensor as DispatchKindConversion<Flex>>::from_backend(BackendTensor::Float(t)),
    )
}

/// Whether the kernels apply to `x`: `f32`, on flex (with or without autodiff), [`enabled`].
pub(crate) fn applies<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32 && on_flex(&x.device())
}

/// `ours` on `x`'s primitive where the kernels [`applies`], else Burn's operation `burn`.
pub(crate) fn dispatch_or<const D: usize>(
    x: Tensor<D>,
    burn: impl FnOnce(Tensor<D>) -> Tensor<D>,
    ours: impl FnOnce(FloatTensor<Dispatch>) -> FloatTensor<Dispatch>,
) -> Tensor<D> {
    if !applies(&x) {
        return burn(x);
    }
    Tensor::from_dispatch(ours(x.into_dispatch()))
}
