//! Dropout whose masks do not depend on how a batch is split.
//!
//! Burn's [`Dropout`] draws its mask from the device's random generator, which flex keeps in
//! one global for the whole process: two threads training on two devices at once would draw
//! in an order that changes from run to run, and a batch split across devices would get other
//! masks than the whole batch on one device. Inside [`with_dropout_seed`], a [`Layer`]'s
//! dropout instead draws each element's keep-or-drop from a hash of the seed, the layer's
//! position in the forward pass and the element's index in the *whole* batch (counter-based,
//! as JAX's generators are): the same seed gives the same masks whether the batch runs on one
//! device or as slices on several, and on whichever thread runs it. Outside it, Burn's layer
//! draws as usual.
//!
//! [`Layer`]: crate::Layer

use std::cell::Cell;

use burn::nn::Dropout;
use burn::tensor::{Tensor, TensorData};

/// The masks' source while [`with_dropout_seed`] runs: the seed, the index of this slice's
/// first sample in the whole batch, and how many dropout layers have drawn so far.
#[derive(Clone, Copy, Debug)]
struct Stream {
    seed: u64,
    first_sample: usize,
    calls: u64,
}

thread_local! {
    static STREAM: Cell<Option<Stream>> = const { Cell::new(None) };
}

/// Puts back the stream that was in force, even if the closure panics.
struct Restore(Option<Stream>);

impl Drop for Restore {
    fn drop(&mut self) {
        STREAM.with(|s| s.set(self.0));
    }
}

/// Runs `f` (a forward pass on this thread) with dropout masks drawn from `seed`, for a slice
/// of a batch whose first sample is sample `first_sample` of the whole batch.
///
/// # Example
/// ```
/// use burn::nn::DropoutConfig;
/// use burn::tensor::{Device, Tensor};
/// use convzoo_blocks::{Features, Layer, Probe, with_dropout_seed};
///
/// let device = Device::flex().autodiff();
/// let layer = Layer::Dropout(DropoutConfig::new(0.5).init());
/// let run = |x: Tensor<2>, first| {
///     with_dropout_seed(7, first, || {
///         let y = layer.forward_probed(Features::Vectors(x), &mut Probe::off());
///         y.vectors("dropout")
///     })
/// };
/// let x = Tensor::<2>::ones([4, 8], &device);
/// let whole = run(x.clone(), 0);
/// // The second half of the batch alone, as sample 2 onwards: the same masks.
/// let half = run(x.narrow(0, 2, 2), 2);
/// assert_eq!(whole.narrow(0, 2, 2).into_data(), half.into_data());
/// ```
pub fn with_dropout_seed<R>(seed: u64, first_sample: usize, f: impl FnOnce() -> R) -> R {
    let stream = Stream {
        seed,
        first_sample,
        calls: 0,
    };
    let _restore = Restore(STREAM.with(|s| s.replace(Some(stream))));
    f()
}

/// `d` applied to `x`: from the stream of [`with_dropout_seed`] when one is in force, else
/// Burn's layer.
pub(crate) fn dropout<const D: usize>(d: &Dropout, x: Tensor<D>) -> Tensor<D> {
    let active = d.training.is_enabled() && x.device().is_autodiff() && d.prob > 0.0;
    let stream = STREAM.with(|s| {
        let stream = s.get()?;
        s.set(Some(Stream {
            calls: stream.calls + 1,
            ..stream
        }));
        Some(stream)
    });
    match stream {
        Some(stream) if active => {
            let shape = x.dims();
            let mask = mask(stream, d.prob, &shape);
            let mask = Tensor::<D>::from_data(TensorData::new(mask, shape), &x.device());
            x * mask
        }
        _ => d.forward(x),
    }
}

/// SplitMix64's finaliser: a bijection of 64-bit words that mixes every input bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The mask of one dropout layer for a slice of shape `shape` (samples first): `1 / (1 -
/// prob)` where an element is kept, 0 where it is dropped.
fn mask(stream: Stream, prob: f64, shape: &[usize]) -> Vec<f32> {
    let keep = 1.0 - prob;
    let scale = (1.0 / keep) as f32;
    // Keep when the hash's top 53 bits, as a fraction of 2^53, fall below `keep`.
    let threshold = (keep * (1u64 << 53) as f64) as u64;
    let key = mix(stream.seed ^ mix(stream.calls.wrapping_add(0x9e37_79b9_7f4a_7c15)));
    let per_sample: usize = shape[1..].iter().product();
    let first = (stream.first_sample * per_sample) as u64;
    let len = shape[0] * per_sample;
    (0..len as u64)
        .map(|i| {
            let h = mix(key ^ (first + i).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            if h >> 11 < threshold { scale } else { 0.0 }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::DropoutConfig;
    use burn::tensor::Device;

    fn stream(seed: u64, first_sample: usize, calls: u64) -> Stream {
        Stream {
            seed,
            first_sample,
            calls,
        }
    }

    #[test]
    fn masks_keep_the_expected_share_and_scale() {
        let m = mask(stream(1, 0, 0), 0.3, &[64, 100]);
        let kept = m.iter().filter(|&&v| v > 0.0).count() as f64 / m.len() as f64;
        assert!((kept - 0.7).abs() < 0.02, "kept {kept}");
        assert!(m.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
    }

    #[test]
    fn a_slice_gets_the_rows_of_the_whole_batch_and_layers_differ() {
        let whole = mask(stream(5, 0, 2), 0.5, &[6, 3, 2, 2]);
        let tail = mask(stream(5, 4, 2), 0.5, &[2, 3, 2, 2]);
        assert_eq!(&whole[4 * 12..], &tail[..]);
        assert_ne!(whole, mask(stream(5, 0, 3), 0.5, &[6, 3, 2, 2]));
        assert_ne!(whole, mask(stream(6, 0, 2), 0.5, &[6, 3, 2, 2]));
    }

    #[test]
    fn the_stream_is_per_call_and_restored() {
        let device = Device::flex().autodiff();
        let d = DropoutConfig::new(0.5).init();
        let x = Tensor::<2>::ones([2, 64], &device);
        let (a, b) = with_dropout_seed(9, 0, || (dropout(&d, x.clone()), dropout(&d, x.clone())));
        assert_ne!(
            a.clone().into_data(),
            b.into_data(),
            "a second layer draws anew"
        );
        let again = with_dropout_seed(9, 0, || dropout(&d, x.clone()));
        assert_eq!(a.into_data(), again.into_data());
        assert!(STREAM.with(|s| s.get()).is_none());
        // Without autodiff (inference) the input passes as it is.
        let plain = Tensor::<2>::ones([2, 64], &Device::flex());
        let out = with_dropout_seed(9, 0, || dropout(&d, plain.clone()));
        assert_eq!(out.into_data(), plain.into_data());
    }
}
