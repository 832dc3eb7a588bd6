//! Files: atomic writes (the one helper, from `convzoo-datasets`) and run directories that
//! never overwrite earlier runs.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub use convzoo_datasets::{write_atomic, write_atomic_with};

use crate::error::{Error, Result};

/// `YYYYmmdd-HHMMSS` in UTC for `secs` since the Unix epoch.
pub fn timestamp(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A new run directory: `out` if given (it must not hold files yet), else
/// `runs/<model>-<timestamp>` with a numeric suffix if that exists.
pub fn new_run_dir(out: Option<&Path>, model: &str) -> Result<PathBuf> {
    let create = |dir: &Path| {
        std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.into(),
            source,
        })
    };
    if let Some(dir) = out {
        let used = std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if used {
            return Err(Error::RunDirInUse { dir: dir.into() });
        }
        create(dir)?;
        return Ok(dir.to_path_buf());
    }
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let base = PathBuf::from("runs").join(format!("{model}-{}", timestamp(secs)));
    let mut dir = base.clone();
    let mut n = 2;
    while dir.exists() {
        dir = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    create(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "19700101-000000");
        assert_eq!(timestamp(1_795_856_645), "20261128-090405");
        assert_eq!(timestamp(951_782_400), "20000229-000000");
    }

    #[test]
    fn used_run_directory_is_refused_never_emptied() {
        let dir = std::env::temp_dir().join(format!("convzoo-used-run-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.json");
        write_atomic(&p, b"1").unwrap();
        let err = new_run_dir(Some(&dir), "lenet").unwrap_err().to_string();
        assert!(err.contains("already holds files"), "{err}");
        assert!(p.exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
