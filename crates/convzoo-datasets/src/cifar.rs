//! CIFAR-10, the binary version (Krizhevsky, 2009): `data_batch_1.bin` … `data_batch_5.bin` and
//! `test_batch.bin`, records of one label byte and 3,072 pixel bytes (1,024 red, then green,
//! then blue, 32x32 row-major), and `batches.meta.txt` with the class names, one a line.

use std::path::{Path, PathBuf};

use crate::error::DataError;
use crate::image_set::ImageSet;
use crate::mnist::Split;

/// Bytes of one record: the label and 3x32x32 pixels.
pub const CIFAR10_RECORD: usize = 1 + 3 * 32 * 32;

/// The training files, in order.
pub const CIFAR10_TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];

/// The test file.
pub const CIFAR10_TEST_FILE: &str = "test_batch.bin";

/// The class names of CIFAR-10, used when `batches.meta.txt` is absent.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// The directory with the `.bin` files: `dir` itself, or `dir/cifar-10-batches-bin` (where the
/// upstream archive unpacks).
pub fn cifar10_dir(dir: &Path) -> PathBuf {
    let nested = dir.join("cifar-10-batches-bin");
    if !dir.join(CIFAR10_TEST_FILE).exists() && nested.join(CIFAR10_TEST_FILE).exists() {
        nested
    } else {
        dir.to_path_buf()
    }
}

/// The class names: the lines of `batches.meta.txt` (ten of them), or CIFAR-10's own.
fn class_names(dir: &Path) -> Result<Vec<String>, DataError> {
    let path = dir.join("batches.meta.txt");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(CIFAR10_CLASSES.iter().map(|c| c.to_string()).collect());
    };
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != 10 {
        return Err(DataError::BadFolder {
            path,
            reason: format!("expected 10 class names, one a line; found {}", names.len()),
        });
    }
    Ok(names)
}

/// Parses one `.bin` file into `pixels` and `labels`, checking its size and labels.
fn parse_file(path: &Path, pixels: &mut Vec<u8>, labels: &mut Vec<usize>) -> Result<(), DataError> {
    let bytes = std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::Missing {
                path: path.to_path_buf(),
                what: "a CIFAR-10 binary batch file".into(),
            }
        } else {
            DataError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    if bytes.is_empty() || !bytes.len().is_multiple_of(CIFAR10_RECORD) {
        return Err(DataError::BadRecords {
            path: path.to_path_buf(),
            len: bytes.len(),
            record: CIFAR10_RECORD,
        });
    }
    for (index, record) in bytes.chunks_exact(CIFAR10_RECORD).enumerate() {
        let label = record[0];
        if label >= 10 {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index,
                label,
                classes: 10,
            });
        }
        labels.push(label as usize);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(())
}

/// Loads `split` of CIFAR-10 from `dir` (see [`cifar10_dir`]): `[3, 32, 32]` images.
pub fn load_cifar10(dir: &Path, split: Split) -> Result<ImageSet, DataError> {
    let dir = cifar10_dir(dir);
    if !dir.is_dir() {
        return Err(DataError::BadFolder {
            path: dir,
            reason: "no such directory (expected CIFAR-10's data_batch_*.bin and test_batch.bin)"
                .into(),
        });
    }
    let classes = class_names(&dir)?;
    let files: &[&str] = match split {
        Split::Train => &CIFAR10_TRAIN_FILES,
        Split::Test => &[CIFAR10_TEST_FILE],
    };
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for name in files {
        parse_file(&dir.join(name), &mut pixels, &mut labels)?;
    }
    Ok(ImageSet::new(pixels, labels, [3, 32, 32], classes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(label: u8, shade: u8) -> Vec<u8> {
        let mut r = vec![label];
        r.extend((0..3 * 1024).map(|i| shade.wrapping_add((i / 1024) as u8)));
        r
    }

    #[test]
    fn reads_records_and_refuses_bad_files() {
        let dir = std::env::temp_dir().join(format!("convzoo-cifar-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, name) in CIFAR10_TRAIN_FILES.iter().enumerate() {
            let bytes = [record(i as u8, 10), record(9, 20)].concat();
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        std::fs::write(dir.join(CIFAR10_TEST_FILE), record(3, 7)).unwrap();
        let train = load_cifar10(&dir, Split::Train).unwrap();
        assert_eq!((train.len(), train.shape()), (10, [3, 32, 32]));
        assert_eq!(train.labels()[..4], [0, 9, 1, 9]);
        // Channel-major: the green plane starts at 1,024.
        assert_eq!(
            (
                train.pixels(0)[0],
                train.pixels(0)[1024],
                train.pixels(1)[2048]
            ),
            (10, 11, 22)
        );
        assert_eq!(train.classes()[1], "automobile");
        let test = load_cifar10(&dir, Split::Test).unwrap();
        assert_eq!(test.label(0), 3);

        std::fs::write(dir.join("batches.meta.txt"), "a\nb\n").unwrap();
        let err = load_cifar10(&dir, Split::Test).unwrap_err().to_string();
        assert!(
            err.contains("batches.meta.txt: expected 10 class names"),
            "{err}"
        );
        std::fs::remove_file(dir.join("batches.meta.txt")).unwrap();

        std::fs::write(dir.join(CIFAR10_TEST_FILE), &record(3, 7)[..3000]).unwrap();
        let err = load_cifar10(&dir, Split::Test).unwrap_err().to_string();
        assert!(
            err.contains("test_batch.bin: 3000 bytes is not a whole number of 3073-byte records"),
            "{err}"
        );
        std::fs::write(dir.join(CIFAR10_TEST_FILE), record(12, 7)).unwrap();
        let err = load_cifar10(&dir, Split::Test).unwrap_err().to_string();
        assert!(
            err.contains("label 12 at index 0 is outside the 10 classes"),
            "{err}"
        );
        std::fs::remove_file(dir.join(CIFAR10_TEST_FILE)).unwrap();
        let err = load_cifar10(&dir, Split::Test).unwrap_err().to_string();
        assert!(err.contains("test_batch.bin: missing"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
