//! The IDX format of (Fashion-)MNIST: a magic number `00 00 08 ndims`, `ndims` big-endian u32
//! sizes, then the unsigned bytes. Files may be gzip-compressed.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::error::{DataError, IdxError};

/// A parsed IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    /// The dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The elements, row-major.
    pub data: Vec<u8>,
}

/// Parses the bytes of an (uncompressed) IDX file of unsigned bytes.
pub fn parse_idx(bytes: &[u8]) -> Result<Idx, IdxError> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 {
        return Err(IdxError::BadMagic {
            found: bytes[..bytes.len().min(4)].to_vec(),
        });
    }
    let ndims = bytes[3] as usize;
    if ndims == 0 {
        return Err(IdxError::NoDimensions);
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(IdxError::TruncatedHeader {
            len: bytes.len(),
            ndims,
            needed: header,
        });
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| IdxError::TooLarge { dims: dims.clone() })?;
    let found = bytes.len() - header;
    if found < expected {
        return Err(IdxError::TruncatedBody {
            dims,
            expected,
            found,
        });
    }
    if found > expected {
        return Err(IdxError::TrailingBytes {
            dims,
            extra: found - expected,
        });
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Whether `bytes` start with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses `bytes` if they are gzip, else returns them as they are.
pub fn decompress(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 2);
    GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(out)
}

/// Reads a file, reporting errors with its path.
pub fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses the (decompressed) content of the IDX file `path`.
pub fn parse_idx_at(path: &Path, content: &[u8]) -> Result<Idx, DataError> {
    parse_idx(content).map_err(|source| DataError::Idx {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            out.extend(d.to_be_bytes());
        }
        out.extend(data);
        out
    }

    #[test]
    fn parses_a_small_array() {
        let parsed = parse_idx(&idx(&[2, 3], &[1, 2, 3, 4, 5, 6])).unwrap();
        assert_eq!(
            parsed,
            Idx {
                dims: vec![2, 3],
                data: vec![1, 2, 3, 4, 5, 6]
            }
        );
    }

    #[test]
    fn each_corruption_has_its_own_error() {
        assert!(matches!(
            parse_idx(&[0, 0, 9, 1, 0]),
            Err(IdxError::BadMagic { .. })
        ));
        assert!(matches!(parse_idx(&[0, 0]), Err(IdxError::BadMagic { .. })));
        assert!(matches!(
            parse_idx(&[0, 0, 8, 0]),
            Err(IdxError::NoDimensions)
        ));
        assert!(matches!(
            parse_idx(&[0, 0, 8, 3, 0, 0, 0, 1]),
            Err(IdxError::TruncatedHeader {
                len: 8,
                ndims: 3,
                needed: 16
            })
        ));
        assert!(matches!(
            parse_idx(&idx(&[2, 3], &[1, 2, 3])),
            Err(IdxError::TruncatedBody {
                expected: 6,
                found: 3,
                ..
            })
        ));
        assert!(matches!(
            parse_idx(&idx(&[1], &[1, 2])),
            Err(IdxError::TrailingBytes { extra: 1, .. })
        ));
        assert!(matches!(
            parse_idx(&idx(&[u32::MAX, u32::MAX, u32::MAX], &[])),
            Err(IdxError::TooLarge { .. }) | Err(IdxError::TruncatedBody { .. })
        ));
    }

    #[test]
    fn gzip_round_trip_and_corrupt_gzip() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let raw = idx(&[3], &[7, 8, 9]);
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&raw).unwrap();
        let gz = enc.finish().unwrap();
        let path = Path::new("x.gz");
        assert_eq!(decompress(path, gz.clone()).unwrap(), raw);
        let mut bad = gz;
        let n = bad.len();
        bad.truncate(n / 2);
        let err = decompress(path, bad).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err}");
        assert!(err.to_string().starts_with("x.gz: corrupt gzip data"));
    }

    /// A deterministic xorshift generator for the fuzz test.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn fuzz_random_and_mutated_inputs_never_panic() {
        let valid = idx(&[4, 5, 3], &[9; 60]);
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut accepted = 0;
        for i in 0..100_000 {
            let bytes: Vec<u8> = if i % 2 == 0 {
                // Random bytes of random length, half of them with a valid magic.
                let len = (next(&mut s) % 64) as usize;
                let mut b: Vec<u8> = (0..len).map(|_| next(&mut s) as u8).collect();
                if i % 4 == 0 && b.len() >= 4 {
                    b[..3].copy_from_slice(&[0, 0, 8]);
                    b[3] %= 4;
                }
                b
            } else {
                // A valid file with a few bytes flipped, cut or added.
                let mut b = valid.clone();
                for _ in 0..(1 + next(&mut s) % 3) {
                    let at = (next(&mut s) as usize) % b.len();
                    b[at] = next(&mut s) as u8;
                }
                match next(&mut s) % 3 {
                    0 => b.truncate((next(&mut s) as usize) % b.len()),
                    1 => b.extend(std::iter::repeat_n(0, (next(&mut s) % 5) as usize)),
                    _ => {}
                }
                b
            };
            if let Ok(parsed) = parse_idx(&bytes) {
                accepted += 1;
                assert_eq!(parsed.data.len(), parsed.dims.iter().product::<usize>());
            }
            let _ = decompress(Path::new("fuzz"), bytes);
        }
        assert!(accepted > 0, "the mutations should leave some files valid");
    }
}
