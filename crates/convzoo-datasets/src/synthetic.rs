//! A synthetic, learnable dataset for tests and examples: each class is a bright square at its
//! own position on a noisy background.

use crate::image_set::ImageSet;
use crate::rng::SplitMix64;

/// `n` images of `[channels, size, size]` in `classes` classes, seeded.
pub fn synthetic(n: usize, channels: usize, size: usize, classes: usize, seed: u64) -> ImageSet {
    let mut rng = SplitMix64::new(seed);
    let side = (size / 4).max(1);
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let label = i % classes;
        // Class positions walk around the image on a grid.
        let slots = (size - side + 1).max(1);
        let (y0, x0) = ((label * 7) % slots, (label * 3 + label / 2) % slots);
        for _ in 0..channels {
            for y in 0..size {
                for x in 0..size {
                    let inside = (y0..y0 + side).contains(&y) && (x0..x0 + side).contains(&x);
                    let noise = (rng.next_u64() % 48) as u8;
                    pixels.push(if inside { 200 + noise } else { noise });
                }
            }
        }
        labels.push(label);
    }
    let names = (0..classes).map(|c| format!("class{c}")).collect();
    ImageSet::new(pixels, labels, [channels, size, size], names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_labelled_round_robin() {
        let a = synthetic(12, 1, 16, 4, 3);
        assert_eq!(a.len(), 12);
        assert_eq!(a.labels()[..5], [0, 1, 2, 3, 0]);
        assert_eq!(a.pixels(5), synthetic(12, 1, 16, 4, 3).pixels(5));
        assert_eq!(a.shape(), [1, 16, 16]);
    }
}
