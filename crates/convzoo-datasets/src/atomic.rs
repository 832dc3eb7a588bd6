//! Atomic file writes, for every crate of the workspace that writes files.

use std::io::Write;
use std::path::Path;

use crate::error::DataError;

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, then renamed over `path`. A crash leaves either the old file or the new one; a failed
/// write removes the temporary file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    write_atomic_with(path, |tmp| {
        let mut file = std::fs::File::create(tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })
}

/// Like [`write_atomic`], for writers that want a path rather than bytes: `write` creates the
/// temporary file it is given (in `path`'s directory), which is then renamed over `path`.
pub fn write_atomic_with<E: std::fmt::Display>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), DataError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let failed = |reason: String| {
        let _ = std::fs::remove_file(&tmp);
        DataError::Write {
            path: path.to_path_buf(),
            reason,
        }
    };
    write(&tmp).map_err(|e| failed(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("convzoo-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.json");
        write_atomic(&p, b"1").unwrap();
        write_atomic(&p, b"2").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"2");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let err = write_atomic_with(&p, |_| Err("refused")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: cannot write: refused", p.display())
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"2");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let missing = dir.join("no/such/dir/b");
        assert!(write_atomic(&missing, b"x").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
