//! Image folders: colour or grey, mixed sizes and formats, test folder or validation split; every
//! bad file is an error naming it, or is skipped when asked.

use std::path::{Path, PathBuf};

use convzoo_datasets::{DataError, FolderOptions, load_folder};

fn scratch(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("convzoo-folder-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    root
}

/// `root/<split>/<class>/<i>.<ext>`, `n` images per class of varying sizes.
fn make(root: &Path, split: &str, classes: &[&str], n: u32, colour: bool) {
    for (c, class) in classes.iter().enumerate() {
        let dir = root.join(split).join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..n {
            let (w, h) = (6 + i, 4 + 2 * i);
            let shade = 40 * c as u8 + i as u8;
            let path = dir.join(format!("{i}.{}", ["png", "bmp", "jpg"][i as usize % 3]));
            if colour {
                image::RgbImage::from_pixel(w, h, image::Rgb([shade, 255 - shade, 7]))
                    .save(path)
                    .unwrap();
            } else {
                image::GrayImage::from_pixel(w, h, image::Luma([shade]))
                    .save(path)
                    .unwrap();
            }
        }
    }
}

fn opts(size: usize) -> FolderOptions {
    FolderOptions {
        size,
        val_split: 0.0,
        seed: 3,
        skip_bad: false,
    }
}

#[test]
fn colour_and_grey_folders_of_mixed_sizes() {
    let root = scratch("ok");
    make(&root, "train", &["cat", "dog", "owl"], 4, true);
    make(&root, "test", &["cat", "dog", "owl"], 2, true);
    let data = load_folder(&root, &opts(8)).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (12, 6));
    assert_eq!(data.train.shape(), [3, 8, 8]);
    assert_eq!(data.train.classes(), ["cat", "dog", "owl"]);
    // Each class is there, in a seeded order (not class by class).
    let labels = data.train.labels();
    assert!((0..3).all(|c| labels.iter().filter(|&&l| l == c).count() == 4));
    assert_ne!(labels, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    // A uniform image keeps its colour through the resize: red = shade, green = 255 - shade.
    let i = labels.iter().position(|&l| l == 2).unwrap();
    let px = data.train.pixels(i);
    let sum = px[0] as i32 + px[64] as i32;
    assert!((sum - 255).abs() <= 4, "{:?}", &px[..2]);

    let grey = scratch("grey");
    make(&grey, "train", &["a", "b"], 5, false);
    let mut o = opts(6);
    o.val_split = 0.4;
    let data = load_folder(&grey, &o).unwrap();
    assert_eq!(data.train.shape(), [1, 6, 6]);
    assert_eq!((data.train.len(), data.test.len()), (6, 4));
    std::fs::remove_dir_all(root).unwrap();
    std::fs::remove_dir_all(grey).unwrap();
}

fn error(root: &Path, o: &FolderOptions) -> String {
    let e = load_folder(root, o).unwrap_err();
    assert!(
        !matches!(e, DataError::Io { .. }) || e.to_string().contains(": cannot read"),
        "{e}"
    );
    e.to_string()
}

#[test]
fn every_bad_file_is_named() {
    let root = scratch("bad");
    make(&root, "train", &["cat", "dog"], 3, true);
    make(&root, "test", &["cat", "dog"], 1, true);
    let cat = root.join("train/cat");

    let text = cat.join("notes.png");
    std::fs::write(&text, "not an image").unwrap();
    let e = error(&root, &opts(8));
    assert!(
        e.starts_with(&format!(
            "{}: unreadable image: not an image",
            text.display()
        )),
        "{e}"
    );
    std::fs::remove_file(&text).unwrap();

    let truncated = cat.join("cut.png");
    let full = std::fs::read(cat.join("0.png")).unwrap();
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    let e = error(&root, &opts(8));
    assert!(
        e.starts_with(&format!("{}: unreadable image", truncated.display())),
        "{e}"
    );

    // Skipped instead, and reported.
    let mut skip = opts(8);
    skip.skip_bad = true;
    let data = load_folder(&root, &skip).unwrap();
    assert_eq!(data.train.len(), 6);
    assert_eq!(data.skipped.len(), 1);
    assert_eq!(data.skipped[0].path, truncated);
    std::fs::remove_file(&truncated).unwrap();

    // A link to nothing cannot be read.
    let dangling = cat.join("gone.png");
    std::os::unix::fs::symlink(root.join("nowhere.png"), &dangling).unwrap();
    let e = error(&root, &opts(8));
    assert!(
        e.starts_with(&format!(
            "{}: unreadable image: cannot read",
            dangling.display()
        )),
        "{e}"
    );
    std::fs::remove_file(&dangling).unwrap();

    let empty = root.join("train/eel");
    std::fs::create_dir_all(&empty).unwrap();
    let e = error(&root, &opts(8));
    assert!(
        e.starts_with(&format!("{}: empty class folder", empty.display())),
        "{e}"
    );
    // Classes of train/ and test/ differ.
    make(&root, "train", &["eel"], 1, true);
    let e = error(&root, &opts(8));
    assert!(
        e.contains("hold different classes (only in train: eel; only in test: none)"),
        "{e}"
    );
    std::fs::remove_dir_all(&empty).unwrap();

    std::fs::remove_dir_all(root.join("test")).unwrap();
    let e = error(&root, &opts(8));
    assert!(
        e.contains("no test/ folder") && e.contains("--val-split"),
        "{e}"
    );
    std::fs::remove_dir_all(root).unwrap();
}
