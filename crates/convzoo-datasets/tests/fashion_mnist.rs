//! The shipped Fashion-MNIST loads offline and every corruption gets its own clear error.

use std::path::{Path, PathBuf};

use convzoo_datasets::{
    DataError, FASHION_MNIST, IDX_FILES, IdxError, Split, locate, workspace_datasets,
};

fn shipped() -> PathBuf {
    workspace_datasets().join("fashion-mnist")
}

/// A fresh temporary directory holding copies of the shipped files (uncompressed when `raw`).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convzoo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_raw(dir: &Path) {
    for base in IDX_FILES {
        let gz = std::fs::read(shipped().join(format!("{base}.gz"))).unwrap();
        let raw = convzoo_datasets::decompress(Path::new(base), gz).unwrap();
        std::fs::write(dir.join(base), raw).unwrap();
    }
}

fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).unwrap();
    f(&mut bytes);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn shipped_files_load_with_checksums() {
    let train = FASHION_MNIST.load_from(&shipped(), Split::Train).unwrap();
    let test = FASHION_MNIST.load_from(&shipped(), Split::Test).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(train.shape(), [1, 28, 28]);
    assert_eq!(train.labels()[..8], [9, 0, 0, 3, 0, 2, 7, 2]);
    assert_eq!(train.classes()[9], "Ankle boot");
    // Balanced classes: 6,000 training images each.
    for c in 0..10 {
        assert_eq!(train.labels().iter().filter(|&&l| l == c).count(), 6000);
    }
    // Without an explicit directory the workspace copy is found (unless $CONVZOO_DATA points
    // elsewhere).
    if std::env::var_os("CONVZOO_DATA").is_none() {
        assert_eq!(locate(&FASHION_MNIST, None).unwrap(), shipped());
    }
}

#[test]
fn uncompressed_copies_are_checked_by_content() {
    let dir = scratch("raw");
    copy_raw(&dir);
    let test = FASHION_MNIST.load_from(&dir, Split::Test).unwrap();
    assert_eq!(test.len(), 10_000);
    // One changed pixel is caught by the content checksum.
    edit(&dir.join("t10k-images-idx3-ubyte"), |b| b[1000] ^= 1);
    let err = FASHION_MNIST.load_from(&dir, Split::Test).unwrap_err();
    assert!(matches!(err, DataError::Checksum { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("t10k-images-idx3-ubyte: checksum mismatch"),
        "{msg}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn listed_checksum_mismatch_names_the_file() {
    let dir = scratch("sums");
    for f in [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "SHA256SUMS",
    ] {
        std::fs::copy(shipped().join(f), dir.join(f)).unwrap();
    }
    edit(&dir.join("t10k-labels-idx1-ubyte.gz"), |b| {
        let n = b.len();
        b[n - 9] ^= 0xff
    });
    let err = FASHION_MNIST.load_from(&dir, Split::Test).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::Checksum { .. }), "{msg}");
    assert!(
        msg.contains("t10k-labels-idx1-ubyte.gz: checksum mismatch") && msg.contains("SHA256SUMS"),
        "{msg}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Corrupts the raw test files in a way that also defeats the content checksum by storing
/// them under MNIST's name (no known checksums), so the parser's own checks are exercised.
fn mnist_error(name: &str, f: impl FnOnce(&Path)) -> DataError {
    let dir = scratch(name);
    copy_raw(&dir);
    f(&dir);
    let err = convzoo_datasets::MNIST
        .load_from(&dir, Split::Test)
        .unwrap_err();
    std::fs::remove_dir_all(dir).unwrap();
    err
}

#[test]
fn each_corruption_has_a_distinct_error() {
    let images = |d: &Path| d.join("t10k-images-idx3-ubyte");
    let labels = |d: &Path| d.join("t10k-labels-idx1-ubyte");

    let err = mnist_error("magic", |d| edit(&images(d), |b| b[2] = 0x0d));
    assert!(
        matches!(
            err,
            DataError::Idx {
                source: IdxError::BadMagic { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("t10k-images-idx3-ubyte: not an IDX file"),
        "{err}"
    );

    let err = mnist_error("header", |d| edit(&images(d), |b| b.truncate(10)));
    assert!(
        matches!(
            err,
            DataError::Idx {
                source: IdxError::TruncatedHeader { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("truncated header"), "{err}");

    let err = mnist_error("body", |d| edit(&images(d), |b| b.truncate(5000)));
    assert!(
        matches!(
            err,
            DataError::Idx {
                source: IdxError::TruncatedBody { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("truncated body"), "{err}");

    let err = mnist_error("count", |d| {
        // 9,999 labels: fix the header count and drop the last byte.
        edit(&labels(d), |b| {
            b[4..8].copy_from_slice(&9999u32.to_be_bytes());
            b.pop();
        })
    });
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 10000,
                labels: 9999,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("holds 10000 images but"), "{err}");

    let err = mnist_error("label", |d| edit(&labels(d), |b| b[8 + 17] = 10));
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 17,
                label: 10,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("label 10 at index 17 is outside the 10 classes"),
        "{err}"
    );

    let err = mnist_error("missing", |d| std::fs::remove_file(labels(d)).unwrap());
    assert!(matches!(err, DataError::Missing { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("t10k-labels-idx1-ubyte.gz: missing"),
        "{err}"
    );
}

#[test]
fn explicit_directory_is_used_alone() {
    let dir = scratch("explicit");
    // An empty directory: an error about it, even though the workspace copy exists.
    let err = locate(&FASHION_MNIST, Some(&dir)).unwrap_err();
    assert!(matches!(err, DataError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("named by --data-dir"), "{err}");
    let err = locate(&FASHION_MNIST, Some(&dir.join("nope"))).unwrap_err();
    assert!(err.to_string().contains("no such directory"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
