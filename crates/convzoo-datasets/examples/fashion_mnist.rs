//! Loads Fashion-MNIST offline (the workspace's `datasets/fashion-mnist`, `$CONVZOO_DATA`,
//! Debian's package or the user cache; or the directory given as the first argument), prints
//! the counts per split and per class, and batches four test images at 96x96 on flex. Without
//! the files it says so and uses a synthetic set instead (this example never downloads).
//!
//! ```text
//! cargo run --release -p convzoo-datasets --example fashion_mnist [-- DIR]
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burn::tensor::Device;
use convzoo_datasets::{
    DataError, FASHION_MNIST, ImageBatcher, ImageSet, Split, candidates, synthetic,
};

/// The first directory that holds all four Fashion-MNIST files: `explicit`, or the places
/// the loader looks in before it would download.
fn find_local(explicit: Option<PathBuf>) -> Option<PathBuf> {
    let holds_all = |dir: &PathBuf| (0..4).all(|i| FASHION_MNIST.file_path(dir, i).is_some());
    match explicit {
        Some(dir) => holds_all(&dir).then_some(dir),
        None => candidates(&FASHION_MNIST)
            .into_iter()
            .map(|(_, dir)| dir)
            .find(holds_all),
    }
}

/// Both splits from `dir` (each file checked against the directory's `SHA256SUMS`).
fn load(dir: &Path) -> Result<(ImageSet, ImageSet), DataError> {
    let train = FASHION_MNIST.load_from(dir, Split::Train)?;
    let test = FASHION_MNIST.load_from(dir, Split::Test)?;
    Ok((train, test))
}

/// Prints the size of `set` and its images per class.
fn describe(name: &str, set: &ImageSet) {
    let mut counts = vec![0usize; set.classes().len()];
    for &label in set.labels() {
        counts[label] += 1;
    }
    println!("{name}: {} images of {:?}", set.len(), set.shape());
    for (class, count) in set.classes().iter().zip(&counts) {
        println!("  {class:<12} {count:>6}");
    }
}

fn main() -> ExitCode {
    let explicit = std::env::args_os().nth(1).map(PathBuf::from);
    let (train, test) = match find_local(explicit.clone()) {
        Some(dir) => {
            println!("Fashion-MNIST from {}", dir.display());
            match load(&dir) {
                Ok(sets) => sets,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        None => {
            match &explicit {
                Some(dir) => println!(
                    "{} does not hold the four Fashion-MNIST IDX files",
                    dir.display()
                ),
                None => println!(
                    "Fashion-MNIST not found locally (looked in the workspace's \
                     datasets/, $CONVZOO_DATA, /usr/share/datasets and the user cache)"
                ),
            }
            println!("using a synthetic set instead: 10 classes of bright squares on noise");
            (synthetic(600, 1, 28, 10, 1), synthetic(100, 1, 28, 10, 2))
        }
    };
    describe("train", &train);
    describe("test", &test);
    println!(
        "first test image: label {} ({})",
        test.label(0),
        test.classes()[test.label(0)]
    );

    // A batch of 4 test images resized to 96x96 on the device, as d2l's ResNet recipe does.
    let batch = ImageBatcher::new(Some(96)).batch_indices(&test, &[0, 1, 2, 3], &Device::flex(), 0);
    println!(
        "a batch at 96x96: images {:?}, labels {:?}",
        batch.images.dims(),
        batch.labels.dims()
    );
    ExitCode::SUCCESS
}
