//! The last fall-back: download the four IDX files from the upstream URL into the cache,
//! checked (SHA-256 of the content) before anything is written, each file written atomically.

use std::path::Path;

use crate::atomic::write_atomic;
use crate::checksum::verify;
use crate::error::DataError;
use crate::idx::{decompress, parse_idx_at};
use crate::mnist::{IDX_FILES, IdxDataset};

/// Environment variable that replaces a dataset's download URL (a mirror, or a test server).
pub const URL_ENV: &str = "CONVZOO_DATA_URL";

/// The largest file accepted (the training images are 26 MB compressed).
const MAX_BYTES: u64 = 200 * 1024 * 1024;

/// Downloads `dataset` into `dest` from `$CONVZOO_DATA_URL` or the dataset's upstream URL;
/// `on_download` is called with each URL before it is fetched.
pub fn download(
    dataset: &IdxDataset,
    dest: &Path,
    on_download: &mut dyn FnMut(&str),
) -> Result<(), DataError> {
    let base = std::env::var(URL_ENV).unwrap_or_else(|_| dataset.url.to_string());
    download_from(dataset, &base, dest, on_download)
}

/// Downloads the four `.gz` files of `dataset` from `base` (a URL ending in `/`) into `dest`.
///
/// Each file is fetched completely, decompressed, parsed and checked against the dataset's
/// known content checksum before it is written (temporary file, then rename); a file that fails
/// is never written. `on_download` is called with each URL before it is fetched (files already
/// in `dest` are not fetched again).
pub fn download_from(
    dataset: &IdxDataset,
    base: &str,
    dest: &Path,
    on_download: &mut dyn FnMut(&str),
) -> Result<(), DataError> {
    std::fs::create_dir_all(dest).map_err(|source| DataError::Io {
        path: dest.to_path_buf(),
        source,
    })?;
    for (which, base_name) in IDX_FILES.iter().enumerate() {
        let name = format!("{base_name}.gz");
        let path = dest.join(&name);
        if path.is_file() {
            continue;
        }
        let url = format!("{}/{name}", base.trim_end_matches('/'));
        on_download(&url);
        let failed = |reason: String| DataError::Download {
            url: url.clone(),
            reason,
        };
        let mut response = ureq::get(&url).call().map_err(|e| failed(e.to_string()))?;
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_BYTES)
            .read_to_vec()
            .map_err(|e| failed(e.to_string()))?;
        let content = decompress(&path, bytes.clone())?;
        parse_idx_at(&path, &content)?;
        if let Some(sums) = dataset.content_sha256 {
            verify(
                &path,
                &content,
                sums[which],
                &format!("the known {} content checksum", dataset.name),
            )?;
        }
        write_atomic(&path, &bytes)?;
    }
    Ok(())
}
