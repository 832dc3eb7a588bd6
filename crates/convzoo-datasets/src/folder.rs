//! Class folders of images, like torchvision's `ImageFolder`: `ROOT/train/<class>/<image>` and
//! `ROOT/test/<class>/<image>` (or a seeded validation split of `train/`), labels the sorted
//! folder names. Every file is decoded (PNG, JPEG, BMP, WebP: the format is read from the
//! content), in parallel and once, resized to the training size; a file that does not decode is
//! an error naming it, or is skipped and reported.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{ColorType, DynamicImage};
use rayon::prelude::*;

use crate::error::DataError;
use crate::image_set::ImageSet;
use crate::rng::SplitMix64;

/// Image formats decoded (by content, whatever the file is called).
pub const IMAGE_FORMATS: &str = "PNG, JPEG, BMP, WebP";

/// How to read an image folder.
#[derive(Clone, Debug, PartialEq)]
pub struct FolderOptions {
    /// Every image is resized to `size` x `size` (bilinear, without keeping the aspect ratio).
    pub size: usize,
    /// Without `test/`, hold out this fraction of each class of `train/` as the test set.
    pub val_split: f64,
    /// Seed of the validation split and of the stored order.
    pub seed: u64,
    /// Skip files that do not decode (reported in [`FolderData::skipped`]) instead of failing.
    pub skip_bad: bool,
}

/// A file left out by [`FolderOptions::skip_bad`], with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadFile {
    /// The file.
    pub path: PathBuf,
    /// What the decoder said.
    pub reason: String,
}

/// The training and test sets of an image folder.
#[derive(Clone, Debug)]
pub struct FolderData {
    /// Images of `train/` (less the validation split).
    pub train: ImageSet,
    /// Images of `test/`, or the validation split.
    pub test: ImageSet,
    /// Files skipped because they do not decode.
    pub skipped: Vec<BadFile>,
}

/// One decoded image: channel-major RGB bytes, and whether it is greyscale.
struct Decoded {
    rgb: Vec<u8>,
    grey: bool,
}

/// Decodes the image at `path`, its format read from its content (not its name).
pub fn decode_image(path: &Path) -> Result<DynamicImage, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::BadImage {
        path: path.to_path_buf(),
        reason: format!("cannot read: {e}"),
    })?;
    decode_image_bytes(&bytes, path)
}

/// Decodes an image file's bytes, its format read from its content; errors name `name`.
pub fn decode_image_bytes(bytes: &[u8], name: &Path) -> Result<DynamicImage, DataError> {
    let bad = |reason: String| DataError::BadImage {
        path: name.to_path_buf(),
        reason,
    };
    if bytes.is_empty() {
        return Err(bad("empty file".into()));
    }
    let format = image::guess_format(bytes).map_err(|_| {
        bad(format!(
            "not an image (no {IMAGE_FORMATS} signature in its first bytes)"
        ))
    })?;
    image::load_from_memory_with_format(bytes, format).map_err(|e| bad(e.to_string()))
}

/// Reads one image as `channels` (1: greyscale, 3: RGB) bytes `[C, H, W]`, resized to `size`
/// (`[height, width]`, bilinear) if given. Returns the bytes and `[C, H, W]`.
pub fn read_image(
    path: &Path,
    channels: usize,
    size: Option<[usize; 2]>,
) -> Result<(Vec<u8>, [usize; 3]), DataError> {
    to_planar(decode_image(path)?, channels, size, path)
}

/// A decoded image as `channels` (1 or 3) bytes `[C, H, W]`, resized to `size` (`[height,
/// width]`, bilinear) if given; errors name `name`.
pub fn to_planar(
    mut img: DynamicImage,
    channels: usize,
    size: Option<[usize; 2]>,
    name: &Path,
) -> Result<(Vec<u8>, [usize; 3]), DataError> {
    if let Some([h, w]) = size
        && (img.height() as usize, img.width() as usize) != (h, w)
    {
        img = img.resize_exact(w as u32, h as u32, FilterType::Triangle);
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    let bytes = match channels {
        1 => img.to_luma8().into_raw(),
        3 => planar_rgb(&img),
        other => {
            return Err(DataError::BadImage {
                path: name.to_path_buf(),
                reason: format!("cannot convert to {other} channels (use 1 or 3)"),
            });
        }
    };
    Ok((bytes, [channels, h, w]))
}

/// Interleaved RGB to channel-major bytes.
fn planar_rgb(img: &DynamicImage) -> Vec<u8> {
    let rgb = img.to_rgb8().into_raw();
    (0..3)
        .flat_map(|c| rgb.iter().skip(c).step_by(3).copied())
        .collect()
}

fn decode_resized(path: &Path, size: usize) -> Result<Decoded, DataError> {
    let img = decode_image(path)?;
    let img = if (img.width() as usize, img.height() as usize) == (size, size) {
        img
    } else {
        img.resize_exact(size as u32, size as u32, FilterType::Triangle)
    };
    let rgb = planar_rgb(&img);
    // Grey by content: a paletted BMP or an RGB PNG of grey pixels counts as grey.
    let plane = size * size;
    let grey = matches!(img.color(), ColorType::L8 | ColorType::L16)
        || (rgb[..plane] == rgb[plane..2 * plane] && rgb[..plane] == rgb[2 * plane..]);
    Ok(Decoded { rgb, grey })
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The class folders of `dir` (sorted by name), each with its files (sorted, hidden files left
/// out). A class folder without files is an error naming it.
fn list_classes(dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>, DataError> {
    let mut classes = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            classes.push((name, path));
        }
    }
    classes.sort();
    if classes.is_empty() {
        return Err(DataError::BadFolder {
            path: dir.to_path_buf(),
            reason: format!(
                "no class folders (expected {}/<class>/<image>)",
                dir.display()
            ),
        });
    }
    let mut out = Vec::new();
    for (name, class_dir) in classes {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&class_dir).map_err(io(&class_dir))? {
            let entry = entry.map_err(io(&class_dir))?;
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let path = entry.path();
            if !hidden && !path.is_dir() {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(DataError::BadFolder {
                path: class_dir,
                reason: "empty class folder: no image files".into(),
            });
        }
        files.sort();
        out.push((name, files));
    }
    Ok(out)
}

/// Shuffles `v` with a generator seeded by `(seed, stream)`.
fn shuffle<T>(v: &mut [T], seed: u64, stream: u64) {
    let mut rng = SplitMix64::derive(seed, stream, 0x666f_6c64);
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

/// Decodes `files` (label, path) in parallel, in a seeded order; bad files fail or, with
/// `skip_bad`, are collected into `skipped`. Returns the images and their labels.
fn decode_all(
    mut files: Vec<(usize, PathBuf)>,
    opts: &FolderOptions,
    stream: u64,
    skipped: &mut Vec<BadFile>,
) -> Result<(Vec<Decoded>, Vec<usize>), DataError> {
    // A seeded order, so that the first N images (`--limit-train`) are a sample of all classes.
    shuffle(&mut files, opts.seed, stream);
    let decoded: Vec<Result<Decoded, DataError>> = files
        .par_iter()
        .map(|(_, path)| decode_resized(path, opts.size))
        .collect();
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for ((label, _), result) in files.into_iter().zip(decoded) {
        match result {
            Ok(d) => {
                images.push(d);
                labels.push(label);
            }
            Err(DataError::BadImage { path, reason }) if opts.skip_bad => {
                skipped.push(BadFile { path, reason });
            }
            Err(e) => return Err(e),
        }
    }
    Ok((images, labels))
}

/// Bytes of memory available to this process, if the system says (`MemAvailable` on Linux).
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Loads the image folder `root`: `root/train/<class>/*` and `root/test/<class>/*`, or without
/// `test/` a seeded `val_split` of each class. The run's channel count is 1 if every training
/// image is greyscale, else 3.
pub fn load_folder(root: &Path, opts: &FolderOptions) -> Result<FolderData, DataError> {
    let train_dir = root.join("train");
    let test_dir = root.join("test");
    if !root.is_dir() {
        return Err(DataError::BadFolder {
            path: root.to_path_buf(),
            reason: "no such directory".into(),
        });
    }
    if !train_dir.is_dir() {
        return Err(DataError::BadFolder {
            path: root.to_path_buf(),
            reason: "no train/ folder (expected train/<class>/<image>, and test/<class>/<image> \
                     or --val-split)"
                .into(),
        });
    }
    let train_classes = list_classes(&train_dir)?;
    let names: Vec<String> = train_classes.iter().map(|(n, _)| n.clone()).collect();
    let (mut train_files, mut test_files) = (Vec::new(), Vec::new());
    if test_dir.is_dir() && opts.val_split > 0.0 {
        return Err(DataError::BadFolder {
            path: test_dir,
            reason: "a test folder is there, so --val-split has nothing to do: drop the flag, or \
                     the test folder"
                .into(),
        });
    }
    if test_dir.is_dir() {
        let test_classes = list_classes(&test_dir)?;
        let test_names: Vec<String> = test_classes.iter().map(|(n, _)| n.clone()).collect();
        if test_names != names {
            let only = |a: &[String], b: &[String]| {
                a.iter()
                    .filter(|n| !b.contains(n))
                    .cloned()
                    .collect::<Vec<_>>()
            };
            return Err(DataError::ClassMismatch {
                train: train_dir,
                test: test_dir,
                only_train: only(&names, &test_names),
                only_test: only(&test_names, &names),
            });
        }
        for (label, (_, files)) in train_classes.into_iter().enumerate() {
            train_files.extend(files.into_iter().map(|f| (label, f)));
        }
        for (label, (_, files)) in test_classes.into_iter().enumerate() {
            test_files.extend(files.into_iter().map(|f| (label, f)));
        }
    } else if opts.val_split > 0.0 && opts.val_split < 1.0 {
        for (label, (_, mut files)) in train_classes.into_iter().enumerate() {
            shuffle(&mut files, opts.seed, label as u64);
            let n = files.len();
            // At least one held out and one kept; a class of one image only trains.
            let held = if n < 2 {
                0
            } else {
                ((n as f64 * opts.val_split).round() as usize).clamp(1, n - 1)
            };
            for (i, f) in files.into_iter().enumerate() {
                if i < held {
                    test_files.push((label, f));
                } else {
                    train_files.push((label, f));
                }
            }
        }
    } else {
        return Err(DataError::BadFolder {
            path: root.to_path_buf(),
            reason: "no test/ folder: add test/<class>/<image>, or pass --val-split F to hold \
                     out a fraction F of each training class"
                .into(),
        });
    }
    // What the decoded images will take (3 bytes a pixel while decoding).
    let per_image = 3 * opts.size * opts.size;
    let needed = ((train_files.len() + test_files.len()) * per_image) as u64;
    if let Some(available) = available_memory()
        && needed > available / 10 * 8
    {
        return Err(DataError::TooLarge {
            path: root.to_path_buf(),
            images: train_files.len() + test_files.len(),
            needed,
            available,
        });
    }
    let mut skipped = Vec::new();
    let (train, train_labels) = decode_all(train_files, opts, 1, &mut skipped)?;
    let (test, test_labels) = decode_all(test_files, opts, 2, &mut skipped)?;
    for (set, dir) in [(&train_labels, &train_dir), (&test_labels, &test_dir)] {
        if let Some(label) = (0..names.len()).find(|l| !set.contains(l))
            && !(set.is_empty() && dir == &test_dir)
        {
            return Err(DataError::BadFolder {
                path: dir.join(&names[label]),
                reason: "no image of this class could be read".into(),
            });
        }
    }
    if test.is_empty() {
        return Err(DataError::BadFolder {
            path: root.to_path_buf(),
            reason: "no test images (every class of train/ has a single image: add test/ or \
                     more images)"
                .into(),
        });
    }
    let channels = if train.iter().all(|d| d.grey) { 1 } else { 3 };
    let assemble = |images: Vec<Decoded>, labels: Vec<usize>| {
        let plane = opts.size * opts.size;
        let mut pixels = Vec::with_capacity(images.len() * channels * plane);
        for d in images {
            pixels.extend_from_slice(&d.rgb[..channels * plane]);
        }
        ImageSet::new(
            pixels,
            labels,
            [channels, opts.size, opts.size],
            names.clone(),
        )
    };
    Ok(FolderData {
        train: assemble(train, train_labels),
        test: assemble(test, test_labels),
        skipped,
    })
}
