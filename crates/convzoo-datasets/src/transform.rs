//! Transforms: bytes to floats in [0, 1] (d2l's `ToTensor`), optional normalisation, bilinear
//! resize with PyTorch's half-pixel centres, and seeded augmentation.

use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::image_set::ImageSet;
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
    /// Mean per channel (one value: every channel).
    pub mean: Vec<f32>,
    /// Standard deviation per channel (one value: every channel).
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

    /// The mean and (population) standard deviation of each channel of `set`, in `[0, 1]`
    /// units, as torchvision recipes compute them once over the training images.
    pub fn of(set: &ImageSet) -> Normalize {
        let [c, h, w] = set.shape();
        let plane = h * w;
        let (mut sum, mut sq) = (vec![0u64; c], vec![0u64; c]);
        for i in 0..set.len() {
            for (ch, pixels) in set.pixels(i).chunks_exact(plane).enumerate() {
                for &p in pixels {
                    sum[ch] += p as u64;
                    sq[ch] += (p as u64) * (p as u64);
                }
            }
        }
        let n = (set.len() * plane).max(1) as f64;
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        for ch in 0..c {
            let m = sum[ch] as f64 / n;
            let var = (sq[ch] as f64 / n - m * m).max(0.0);
            mean.push((m / 255.0) as f32);
            // A constant channel keeps its values (std 1) rather than dividing by zero.
            std.push(if var > 0.0 {
                (var.sqrt() / 255.0) as f32
            } else {
                1.0
            });
        }
        Normalize { mean, std }
    }
}

/// How a run normalises its images (`--normalize`): not at all (d2l), by the training set's
/// own statistics, or by given values.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum NormalizeSpec {
    /// Images stay in `[0, 1]` (d2l's recipes).
    #[default]
    None,
    /// Per-channel mean and standard deviation of the training images, computed once.
    Dataset,
    /// Given values: `M,S` for every channel, or one mean then one deviation per channel.
    Fixed(Normalize),
}

impl NormalizeSpec {
    /// The normalisation for training images `set`, or `None`. Fixed values must give one value
    /// or one per channel of `set`.
    pub fn resolve(&self, set: &ImageSet) -> Result<Option<Normalize>, String> {
        match self {
            NormalizeSpec::None => Ok(None),
            NormalizeSpec::Dataset => Ok(Some(Normalize::of(set))),
            NormalizeSpec::Fixed(n) => {
                let c = set.shape()[0];
                if n.mean.len() != 1 && n.mean.len() != c {
                    return Err(format!(
                        "--normalize gives {} means and deviations, but the images have {c} \
                         channel(s): give M,S or {c} means then {c} deviations",
                        n.mean.len()
                    ));
                }
                Ok(Some(n.clone()))
            }
        }
    }
}

impl std::str::FromStr for NormalizeSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => return Ok(NormalizeSpec::None),
            "dataset" => return Ok(NormalizeSpec::Dataset),
            _ => {}
        }
        let usage = "use none, dataset, M,S (every channel) or M1,M2,M3,S1,S2,S3";
        let values: Vec<f32> = s
            .split(',')
            .map(|v| v.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("'{s}' is not a normalisation: {usage}"))?;
        if values.is_empty() || !values.len().is_multiple_of(2) {
            return Err(format!("'{s}' needs as many deviations as means: {usage}"));
        }
        let (mean, std) = values.split_at(values.len() / 2);
        if std.iter().any(|&d| !(d.is_finite() && d > 0.0)) || mean.iter().any(|m| !m.is_finite()) {
            return Err(format!(
                "'{s}': means must be finite and deviations positive"
            ));
        }
        Ok(NormalizeSpec::Fixed(Normalize {
            mean: mean.to_vec(),
            std: std.to_vec(),
        }))
    }
}

impl std::fmt::Display for NormalizeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NormalizeSpec::None => f.write_str("none"),
            NormalizeSpec::Dataset => f.write_str("dataset"),
            NormalizeSpec::Fixed(n) => {
                let all: Vec<String> = n.mean.iter().chain(&n.std).map(f32::to_string).collect();
                f.write_str(&all.join(","))
            }
        }
    }
}

/// Seeded training-time augmentation on the bytes of one image (`--augment crop:PAD,flip`).
/// Written and read as that text (`none` when off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

impl std::str::FromStr for Augment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut aug = Augment::default();
        if s == "none" {
            return Ok(aug);
        }
        for part in s.split(',').map(str::trim) {
            if part == "flip" {
                aug.hflip = true;
            } else if let Some(pad) = part.strip_prefix("crop:") {
                aug.crop_padding = pad
                    .parse()
                    .map_err(|_| format!("'{part}': the crop padding must be a whole number"))?;
            } else {
                return Err(format!(
                    "unknown augmentation '{part}': use crop:PAD, flip, both (crop:4,flip) or none"
                ));
            }
        }
        Ok(aug)
    }
}

impl std::fmt::Display for Augment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if self.crop_padding > 0 {
            parts.push(format!("crop:{}", self.crop_padding));
        }
        if self.hflip {
            parts.push("flip".into());
        }
        if parts.is_empty() {
            parts.push("none".into());
        }
        f.write_str(&parts.join(","))
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

    #[test]
    fn augment_and_normalize_parse_and_print() {
        let a: Augment = "crop:4,flip".parse().unwrap();
        assert_eq!(
            (a.crop_padding, a.hflip, a.to_string()),
            (4, true, "crop:4,flip".into())
        );
        assert_eq!("none".parse::<Augment>().unwrap(), Augment::default());
        assert!(
            "rotate"
                .parse::<Augment>()
                .unwrap_err()
                .contains("unknown augmentation")
        );
        assert!("crop:x".parse::<Augment>().is_err());
        let n: NormalizeSpec = "0.5,0.25".parse().unwrap();
        assert_eq!(n.to_string(), "0.5,0.25");
        assert_eq!(
            "dataset".parse::<NormalizeSpec>().unwrap(),
            NormalizeSpec::Dataset
        );
        assert!("0.5".parse::<NormalizeSpec>().is_err());
        assert!("0.5,0".parse::<NormalizeSpec>().is_err());
        assert!("mean".parse::<NormalizeSpec>().is_err());
    }

    #[test]
    fn dataset_statistics_per_channel() {
        // Two 1x2 images, channel 0: 0 and 255 (mean 0.5, std 0.5); channel 1 constant 51.
        let set = ImageSet::new(
            vec![0, 255, 51, 51, 0, 255, 51, 51],
            vec![0, 0],
            [2, 1, 2],
            vec!["a".into()],
        );
        let n = Normalize::of(&set);
        assert!(
            (n.mean[0] - 0.5).abs() < 1e-6 && (n.std[0] - 0.5).abs() < 1e-6,
            "{n:?}"
        );
        assert!((n.mean[1] - 0.2).abs() < 1e-6 && n.std[1] == 1.0, "{n:?}");
        let three: NormalizeSpec = "0.1,0.2,0.3,1,1,1".parse().unwrap();
        assert!(three.resolve(&set).unwrap_err().contains("2 channel(s)"));
    }
}
