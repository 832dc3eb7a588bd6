//! SHA-256 checks: against a `SHA256SUMS` file beside the data, or against known content hashes.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::DataError;

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The expected hash of `file_name` in the `SHA256SUMS` file of `dir`, if there is one.
pub fn listed_sha256(dir: &Path, file_name: &str) -> Option<String> {
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).ok()?;
    sums.lines().find_map(|line| {
        let (hash, name) = line.split_once(char::is_whitespace)?;
        (name.trim().trim_start_matches('*') == file_name).then(|| hash.to_lowercase())
    })
}

/// Checks `bytes` (the content of `path`) against `expected`.
pub fn verify(path: &Path, bytes: &[u8], expected: &str, origin: &str) -> Result<(), DataError> {
    let found = sha256_hex(bytes);
    if found == expected {
        Ok(())
    } else {
        Err(DataError::Checksum {
            path: path.to_path_buf(),
            found,
            expected: expected.to_string(),
            origin: origin.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_and_listing() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let dir = std::env::temp_dir().join(format!("convzoo-sums-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("SHA256SUMS"), "ABCD  a.gz\nef01 *b.gz\n").unwrap();
        assert_eq!(listed_sha256(&dir, "a.gz").as_deref(), Some("abcd"));
        assert_eq!(listed_sha256(&dir, "b.gz").as_deref(), Some("ef01"));
        assert_eq!(listed_sha256(&dir, "c.gz"), None);
        let err = verify(Path::new("a.gz"), b"abc", "00", "SHA256SUMS").unwrap_err();
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
