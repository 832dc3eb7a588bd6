//! The logistic sigmoid with a cheaper backward pass on Burn 0.22.
//!
//! Burn's autodiff treats `sigmoid` as memory-bound: it keeps the input and computes the
//! sigmoid a second time in the backward pass. On the CPU backends that sigmoid is a scalar
//! `exp` per element on one thread, which dominates LeNet's step.
//! [`sigmoid`] computes it once, as `1 / (1 + exp(-x))` without the sign branch of Burn's
//! scalar kernel (a mispredicted branch per element on random signs), and takes the gradient
//! from the saved output, `grad * s * (1 - s)` (BENCHMARKS.md has the figures).

use burn::tensor::Tensor;
use burn::tensor::activation;

/// `1 / (1 + exp(-x))`, element-wise; Burn's `activation::sigmoid` within a rounding (1e-7).
///
/// On a tracked (autodiff) tensor the result is `s + (x - x') * s(1 - s)`, where `x'` is `x`
/// detached and `s` and `s(1 - s)` are computed without tracking: the second term is exactly
/// zero in the forward pass, and its derivative, `s(1 - s)`, is the sigmoid's. So the backward
/// pass is one multiplication instead of another sigmoid. On flex with the `flex-kernels`
/// feature, tracked or not (training and inference), it is [`crate::flex::sigmoid`], one
/// vectorised parallel pass; other untracked tensors take Burn's sigmoid directly.
///
/// # Shapes
/// - input: any
/// - output: same as the input
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex-kernels")]
    if crate::flex::sigmoid_applies(&x) {
        return crate::flex::sigmoid(x);
    }
    if !x.is_tracked() {
        return activation::sigmoid(x);
    }
    let constant = x.clone().detach();
    // exp(-x) overflows to inf for x < -88, and 1 / (1 + inf) = 0, the right limit.
    let s = constant.clone().neg().exp().add_scalar(1.0).recip();
    let slope = s.clone() * s.clone().neg().add_scalar(1.0);
    s + (x - constant) * slope
}

/// `max(x, 0)`, element-wise: one parallel pass each way on flex with the `flex-kernels`
/// feature ([`crate::flex::relu`]), Burn's `activation::relu` otherwise.
///
/// # Shapes
/// - input: any
/// - output: same as the input
pub fn relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex-kernels")]
    {
        crate::flex::relu(x)
    }
    #[cfg(not(feature = "flex-kernels"))]
    {
        activation::relu(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    use crate::testing::values;

    #[test]
    fn values_and_gradients_match_burns_sigmoid() {
        let device = Device::flex().autodiff();
        device.seed(5);
        let x0 = Tensor::<3>::random([4, 5, 6], Distribution::Normal(0.0, 4.0), &device);
        // Far tails: exp(-x) overflows (x < -88) or vanishes.
        let x0 = x0.slice_assign(
            [0..1, 0..1, 0..2],
            Tensor::from_floats([[[-120.0, 95.0]]], &device),
        );
        let weights = Tensor::<3>::random([4, 5, 6], Distribution::Normal(0.0, 1.0), &device);

        let x = x0.clone().require_grad();
        let ours = sigmoid(x.clone());
        let grads = (ours.clone() * weights.clone()).sum().backward();
        let ours_grad = values(x.grad(&grads).unwrap());

        let y = x0.require_grad();
        let burns = activation::sigmoid(y.clone());
        let grads = (burns.clone() * weights).sum().backward();
        let burns_grad = values(y.grad(&grads).unwrap());

        for (a, b) in values(ours).iter().zip(&values(burns)) {
            assert!((a - b).abs() <= 1e-7, "value {a} vs {b}");
        }
        for (a, b) in ours_grad.iter().zip(&burns_grad) {
            assert!(
                (a - b).abs() <= 1e-7 + 1e-6 * b.abs(),
                "gradient {a} vs {b}"
            );
        }
    }

    #[test]
    fn untracked_input_equals_burns_sigmoid() {
        let device = Device::flex();
        let x = Tensor::<1>::from_floats([-3.0, 0.0, 2.5, -100.0, 90.0], &device);
        let (ours, burns) = (values(sigmoid(x.clone())), values(activation::sigmoid(x)));
        for (a, b) in ours.iter().zip(&burns) {
            assert!((a - b).abs() <= 1e-7 + 1e-6 * b.abs(), "{a} vs {b}");
        }
    }
}
