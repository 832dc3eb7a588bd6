//! [`ImageSet`]: labelled images held in memory as bytes, a Burn [`Dataset`].

use burn::data::dataset::{Dataset, DatasetError};

/// One labelled image: `channels * height * width` bytes, channel-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageItem {
    /// Pixels, `[C, H, W]` row-major, 0..=255.
    pub pixels: Vec<u8>,
    /// `[channels, height, width]`.
    pub shape: [usize; 3],
    /// Class index.
    pub label: usize,
}

/// Labelled images of one shape, in memory (Fashion-MNIST's 70,000 take 55 MB).
#[derive(Clone, Debug)]
pub struct ImageSet {
    pixels: Vec<u8>,
    labels: Vec<usize>,
    shape: [usize; 3],
    classes: Vec<String>,
}

impl ImageSet {
    /// Builds a set from contiguous pixels (`labels.len()` images of `shape`) and class names.
    ///
    /// # Panics
    /// If the pixel count does not match, or a label is not a class index.
    pub fn new(
        pixels: Vec<u8>,
        labels: Vec<usize>,
        shape: [usize; 3],
        classes: Vec<String>,
    ) -> Self {
        assert_eq!(
            pixels.len(),
            labels.len() * shape.iter().product::<usize>(),
            "pixel count"
        );
        assert!(
            labels.iter().all(|&l| l < classes.len()),
            "label outside the classes"
        );
        Self {
            pixels,
            labels,
            shape,
            classes,
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// `[channels, height, width]` of every image.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Class names, by label.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Pixels of image `i`.
    pub fn pixels(&self, i: usize) -> &[u8] {
        let n = self.shape.iter().product::<usize>();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Label of image `i`.
    pub fn label(&self, i: usize) -> usize {
        self.labels[i]
    }

    /// All labels.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Keeps the first `n` images (all if `n` is larger).
    pub fn truncate(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.pixels
            .truncate(n * self.shape.iter().product::<usize>());
        self
    }
}

impl Dataset<ImageItem> for ImageSet {
    fn get(&self, index: usize) -> Result<ImageItem, DatasetError> {
        if index >= self.len() {
            let msg = format!("index {index} is out of bounds for {} images", self.len());
            return Err(DatasetError::new(std::io::Error::other(msg)));
        }
        Ok(ImageItem {
            pixels: self.pixels(index).to_vec(),
            shape: self.shape,
            label: self.labels[index],
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_truncation() {
        let set = ImageSet::new(
            vec![1, 2, 3, 4, 5, 6],
            vec![0, 1, 1],
            [1, 1, 2],
            vec!["a".into(), "b".into()],
        );
        assert_eq!(set.len(), 3);
        assert_eq!(
            set.get(1).unwrap(),
            ImageItem {
                pixels: vec![3, 4],
                shape: [1, 1, 2],
                label: 1
            }
        );
        assert!(set.get(3).is_err());
        let set = set.truncate(2);
        assert_eq!(set.len(), 2);
        assert_eq!(set.pixels(1), &[3, 4]);
    }
}
