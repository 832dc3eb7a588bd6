//! Where the data files come from, in order: an explicit directory (alone), `$CONVZOO_DATA`,
//! the workspace's `datasets/`, Debian's `/usr/share/datasets/`, the user cache, and last a
//! download from the upstream URL into the cache.

use std::path::{Path, PathBuf};

use crate::download::download;
use crate::error::DataError;
use crate::mnist::{IDX_FILES, IdxDataset};

/// The environment variable naming a data directory.
pub const DATA_ENV: &str = "CONVZOO_DATA";

/// The workspace's `datasets/` directory (where a clone ships Fashion-MNIST).
pub fn workspace_datasets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets")
}

/// The user cache directory for downloads: `$XDG_CACHE_HOME/convzoo` or `~/.cache/convzoo`.
pub fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("convzoo"))
}

/// The places looked in, in order, each with a label (without the explicit directory).
pub fn candidates(dataset: &IdxDataset) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    if let Some(dir) = std::env::var_os(DATA_ENV) {
        let dir = PathBuf::from(dir);
        out.push((format!("${DATA_ENV}"), dir.join(dataset.name)));
        out.push((format!("${DATA_ENV}"), dir));
    }
    out.push(("workspace".into(), workspace_datasets().join(dataset.name)));
    out.push((
        "Debian package".into(),
        Path::new("/usr/share/datasets").join(dataset.name),
    ));
    if let Some(cache) = cache_dir() {
        out.push(("cache".into(), cache.join(dataset.name)));
    }
    out
}

/// Why `dir` cannot serve `dataset`, or `None` if it holds all four files.
fn missing(dataset: &IdxDataset, dir: &Path) -> Option<String> {
    if !dir.is_dir() {
        return Some("no such directory".into());
    }
    let absent: Vec<&str> = (0..4)
        .filter(|&i| dataset.file_path(dir, i).is_none())
        .map(|i| IDX_FILES[i])
        .collect();
    (!absent.is_empty()).then(|| format!("missing {}", absent.join(", ")))
}

/// The directory holding `dataset`'s four files.
///
/// With `explicit`, that directory alone is used: a missing file there is an error, not a
/// fall-back. Otherwise the [`candidates`] are tried in order; if none holds the files, the
/// error lists every place looked and how to fix it. Downloads silently; see [`locate_with`].
pub fn locate(dataset: &IdxDataset, explicit: Option<&Path>) -> Result<PathBuf, DataError> {
    locate_with(dataset, explicit, &mut |_| {})
}

/// [`locate`], calling `on_download` with each URL before the download fall-back fetches it.
pub fn locate_with(
    dataset: &IdxDataset,
    explicit: Option<&Path>,
    on_download: &mut dyn FnMut(&str),
) -> Result<PathBuf, DataError> {
    if let Some(dir) = explicit {
        if !dir.is_dir() {
            return Err(DataError::NotFound {
                dataset: dataset.name.into(),
                looked: vec![format!("{} (--data-dir: no such directory)", dir.display())],
                hint: "pass an existing directory to --data-dir".into(),
            });
        }
        if let Some(i) = (0..4).find(|&i| dataset.file_path(dir, i).is_none()) {
            return Err(DataError::Missing {
                path: dir.join(format!("{}.gz", IDX_FILES[i])),
                what: format!("{} {}, named by --data-dir", dataset.name, IDX_FILES[i]),
            });
        }
        return Ok(dir.to_path_buf());
    }
    let mut looked = Vec::new();
    for (label, dir) in candidates(dataset) {
        match missing(dataset, &dir) {
            None => return Ok(dir),
            Some(why) => looked.push(format!("{} ({label}: {why})", dir.display())),
        }
    }
    // Last, download into the cache (checked before anything is written).
    if let Some(dest) = cache_dir().map(|c| c.join(dataset.name)) {
        match download(dataset, &dest, on_download) {
            Ok(()) => return Ok(dest),
            Err(e) => looked.push(format!("download ({e})")),
        }
    }
    Err(DataError::NotFound {
        dataset: dataset.name.into(),
        looked,
        hint: format!(
            "pass --data-dir DIR or set ${DATA_ENV} to a directory with the four IDX files (from \
             {}){}",
            dataset.url,
            if dataset.name == "fashion-mnist" {
                ", or on Debian/Ubuntu run `apt-get install dataset-fashion-mnist`"
            } else {
                ""
            }
        ),
    })
}
