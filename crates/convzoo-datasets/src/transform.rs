//! Transforms: bytes to floats in [0, 1] (d2l's `ToTensor`), optional normalisation, bilinear
//! resize with PyTorch's half-pixel centres, and seeded augmentation.

use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

/// Resizes `[N, C, H, W]` images to `size` by bilinear interpolation with half-pixel centres:
/// PyTorch's `F.interpolate(mode="bilinear", align_corners=False)` (Burn's default is
/// `align_corners = true`).
pub fn resize_bilinear(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    let [.., h, w] = x.dims();
    if [h, w] == size {
        return x;
    }
    let options = InterpolateOptions::new(InterpolateMode::Bilinear)
        .with_align_corners(false)
        .with_output_size(size);
    interpolate(x, options)
}

/// Per-channel normalisation `(x - mean) / std`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalize {
    /// Mean per channel.
    pub mean: Vec<f32>,
    /// Standard deviation per channel.
    pub std: Vec<f32>,
}

impl Normalize {
    /// Applies the normalisation to `[N, C, H, W]` images on `device`.
    pub fn apply(&self, x: Tensor<4>, device: &Device) -> Tensor<4> {
        let c = self.mean.len();
        let mean = Tensor::<1>::from_floats(self.mean.as_slice(), device).reshape([1, c, 1, 1]);
        let std = Tensor::<1>::from_floats(self.std.as_slice(), device).reshape([1, c, 1, 1]);
        (x - mean) / std
    }
}

/// Seeded training-time augmentation on the bytes of one image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Augment {
    /// Random crop of the original size after zero padding by this many pixels (0: off).
    pub crop_padding: usize,
    /// Mirror left-right with probability 1/2.
    pub hflip: bool,
}

impl Augment {
    /// Whether the augmentation changes anything.
    pub fn is_identity(&self) -> bool {
        self.crop_padding == 0 && !self.hflip
    }

    /// Augments `pixels` (`[C, H, W]`) into `out`, drawing from `rng`.
    pub fn apply(&self, pixels: &[u8], shape: [usize; 3], rng: &mut SplitMix64, out: &mut Vec<u8>) {
        let [c, h, w] = shape;
        let p = self.crop_padding;
        let (dy, dx) = if p > 0 {
            (rng.below(2 * p + 1), rng.below(2 * p + 1))
        } else {
            (p, p)
        };
        let flip = self.hflip && rng.next_u64() & 1 == 1;
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    // Position in the padded image, then in the original.
                    let (sy, sx) = (
                        (y + dy) as isize - p as isize,
                        (x + dx) as isize - p as isize,
                    );
                    let sx = if flip { w as isize - 1 - sx } else { sx };
                    let inside = (0..h as isize).contains(&sy) && (0..w as isize).contains(&sx);
                    out.push(if inside {
                        pixels[ch * h * w + sy as usize * w + sx as usize]
                    } else {
                        0
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flip_and_crop_move_pixels() {
        let img: Vec<u8> = (1..=9).collect(); // 3x3
        let mut out = Vec::new();
        // Find a draw that flips without cropping.
        let aug = Augment {
            crop_padding: 0,
            hflip: true,
        };
        let mut seen_flip = false;
        for seed in 0..8 {
            out.clear();
            aug.apply(&img, [1, 3, 3], &mut SplitMix64::new(seed), &mut out);
            if out == vec![3, 2, 1, 6, 5, 4, 9, 8, 7] {
                seen_flip = true;
            } else {
                assert_eq!(out, img);
            }
        }
        assert!(seen_flip);
        // Cropping with padding keeps the size and shifts content, filling with zeros.
        let aug = Augment {
            crop_padding: 1,
            hflip: false,
        };
        for seed in 0..16 {
            out.clear();
            aug.apply(&img, [1, 3, 3], &mut SplitMix64::new(seed), &mut out);
            assert_eq!(out.len(), 9);
            assert!(out.iter().all(|v| *v == 0 || img.contains(v)));
        }
    }

    #[test]
    fn resize_keeps_constants_and_size() {
        let device = Device::flex();
        let x = Tensor::<4>::ones([2, 1, 28, 28], &device);
        let y = resize_bilinear(x, [96, 96]);
        assert_eq!(y.dims(), [2, 1, 96, 96]);
        let err: f32 = (y - 1.0).abs().max().into_scalar();
        assert!(err < 1e-6);
    }
}
