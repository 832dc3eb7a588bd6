//! Batches of images as tensors on the training device.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::image_set::{ImageItem, ImageSet};
use crate::rng::SplitMix64;
use crate::transform::{Augment, Normalize, resize_bilinear};

/// A batch: images `[N, C, H, W]` in `[0, 1]` (or normalised) and labels `[N]`.
#[derive(Clone, Debug)]
pub struct ImageBatch {
    /// The images.
    pub images: Tensor<4>,
    /// The class indices.
    pub labels: Tensor<1, Int>,
}

/// Turns images into batches: bytes to `[0, 1]` floats, optional augmentation (on the bytes),
/// resize on the device (so 28x28 images travel, not 224x224 ones), optional normalisation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageBatcher {
    /// Side length to resize to (`None`: keep the size).
    pub resize: Option<usize>,
    /// Normalisation after scaling to `[0, 1]`.
    pub normalize: Option<Normalize>,
    /// Augmentation (training only).
    pub augment: Augment,
}

impl ImageBatcher {
    /// A batcher that resizes to `size` when `size` differs from the images'.
    pub fn new(resize: Option<usize>) -> Self {
        Self {
            resize,
            ..Self::default()
        }
    }

    /// Batches the images `indices` of `set` on `device`. `augment_seed` seeds the augmentation
    /// (ignored when it is off).
    pub fn batch_indices(
        &self,
        set: &ImageSet,
        indices: &[usize],
        device: &Device,
        augment_seed: u64,
    ) -> ImageBatch {
        let items = indices.iter().map(|&i| (set.pixels(i), set.label(i)));
        self.assemble(items, set.shape(), device, augment_seed)
    }

    fn assemble<'a>(
        &self,
        items: impl ExactSizeIterator<Item = (&'a [u8], usize)>,
        shape: [usize; 3],
        device: &Device,
        augment_seed: u64,
    ) -> ImageBatch {
        let n = items.len();
        let per_image: usize = shape.iter().product();
        let mut bytes = Vec::with_capacity(n * per_image);
        let mut labels = Vec::with_capacity(n);
        let mut rng = SplitMix64::new(augment_seed);
        for (pixels, label) in items {
            if self.augment.is_identity() {
                bytes.extend_from_slice(pixels);
            } else {
                self.augment.apply(pixels, shape, &mut rng, &mut bytes);
            }
            labels.push(label as i64);
        }
        let floats: Vec<f32> = bytes.iter().map(|&b| b as f32 / 255.0).collect();
        let [c, h, w] = shape;
        let mut images = Tensor::<4>::from_data(TensorData::new(floats, [n, c, h, w]), device);
        if let Some(s) = self.resize {
            images = resize_bilinear(images, [s, s]);
        }
        if let Some(norm) = &self.normalize {
            images = norm.apply(images, device);
        }
        let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device);
        ImageBatch { images, labels }
    }
}

impl Batcher<ImageItem, ImageBatch> for ImageBatcher {
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ImageBatch {
        let shape = items.first().map_or([1, 1, 1], |i| i.shape);
        let iter = items.iter().map(|i| (i.pixels.as_slice(), i.label));
        self.assemble(iter, shape, device, 0)
    }
}

/// The batches of one epoch: `order` cut into `batch_size` pieces, the last one partial (as
/// d2l's data loader keeps it).
pub fn batch_ranges(len: usize, batch_size: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    (0..len.div_ceil(batch_size)).map(move |b| b * batch_size..((b + 1) * batch_size).min(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_scale_resize_and_keep_labels() {
        let device = Device::flex();
        let set = ImageSet::new(
            vec![0, 255, 51, 102],
            vec![1, 0],
            [1, 1, 2],
            vec!["a".into(), "b".into()],
        );
        let batch = ImageBatcher::new(None).batch_indices(&set, &[1, 0], &device, 0);
        assert_eq!(batch.images.dims(), [2, 1, 1, 2]);
        let v = batch.images.to_data().try_to_vec::<f32>().unwrap();
        assert_eq!(v, vec![0.2, 0.4, 0.0, 1.0]);
        let labels = batch
            .labels
            .to_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        assert_eq!(labels, vec![0, 1]);
        let batch = ImageBatcher::new(Some(5)).batch_indices(&set, &[0], &device, 0);
        assert_eq!(batch.images.dims(), [1, 1, 5, 5]);
    }

    #[test]
    fn last_partial_batch_is_kept() {
        let r: Vec<_> = batch_ranges(10, 4).collect();
        assert_eq!(r, vec![0..4, 4..8, 8..10]);
        assert_eq!(batch_ranges(8, 4).count(), 2);
    }
}
