//! A class-folder image dataset, like torchvision's `ImageFolder`: `root/<class>/<image>` with
//! PNG or JPEG images; labels are the sorted folder names.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;

use crate::error::DataError;
use crate::image_set::ImageSet;

/// Image file extensions read (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Reads one image as `channels` (1: greyscale, 3: RGB) bytes `[C, H, W]`, resized to `size`
/// (`[height, width]`, bilinear) if given. Returns the bytes and `[C, H, W]`.
pub fn read_image(
    path: &Path,
    channels: usize,
    size: Option<[usize; 2]>,
) -> Result<(Vec<u8>, [usize; 3]), DataError> {
    let bad = |reason: String| DataError::BadImage {
        path: path.to_path_buf(),
        reason,
    };
    let mut img = image::open(path).map_err(|e| bad(e.to_string()))?;
    if let Some([h, w]) = size
        && (img.height() as usize, img.width() as usize) != (h, w)
    {
        img = img.resize_exact(w as u32, h as u32, FilterType::Triangle);
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    let bytes = match channels {
        1 => img.to_luma8().into_raw(),
        3 => {
            // Interleaved RGB to channel-major.
            let rgb = img.to_rgb8().into_raw();
            (0..3)
                .flat_map(|c| rgb.iter().skip(c).step_by(3).copied())
                .collect::<Vec<u8>>()
        }
        other => {
            return Err(bad(format!(
                "cannot convert to {other} channels (use 1 or 3)"
            )));
        }
    };
    Ok((bytes, [channels, h, w]))
}

/// Loads `root/<class>/<image>` into memory. All images must have one size unless `size` is
/// given, to which they are resized.
pub fn load_image_folder(
    root: &Path,
    channels: usize,
    size: Option<[usize; 2]>,
) -> Result<ImageSet, DataError> {
    let bad_folder = |reason: String| DataError::BadFolder {
        path: root.to_path_buf(),
        reason,
    };
    let io = |path: &Path, source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut classes: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(root).map_err(|e| io(root, e))? {
        let entry = entry.map_err(|e| io(root, e))?;
        if entry.path().is_dir() {
            classes.push((
                entry.file_name().to_string_lossy().to_string(),
                entry.path(),
            ));
        }
    }
    classes.sort();
    if classes.is_empty() {
        return Err(bad_folder(
            "no class folders (expected root/<class>/<image>.png)".into(),
        ));
    }
    let (mut pixels, mut labels, mut shape) = (Vec::new(), Vec::new(), None);
    for (label, (_, dir)) in classes.iter().enumerate() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            })
            .collect();
        files.sort();
        for file in files {
            let (bytes, s) = read_image(&file, channels, size)?;
            match shape {
                None => shape = Some(s),
                Some(first) if first != s => {
                    return Err(DataError::BadImage {
                        path: file,
                        reason: format!(
                            "size {}x{} differs from the first image's {}x{}; pass a size to \
                             resize them all",
                            s[1], s[2], first[1], first[2]
                        ),
                    });
                }
                _ => {}
            }
            pixels.extend(bytes);
            labels.push(label);
        }
    }
    let shape =
        shape.ok_or_else(|| bad_folder("no PNG or JPEG images in the class folders".into()))?;
    let names = classes.into_iter().map(|(name, _)| name).collect();
    Ok(ImageSet::new(pixels, labels, shape, names))
}
