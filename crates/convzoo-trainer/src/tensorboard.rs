//! TensorBoard event files: every run directory gets `events.out.tfevents.*`, so that
//! `tensorboard --logdir runs/` shows every run.
//!
//! The file is TensorFlow's record format: each record is its length (u64, little-endian), the
//! masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C of the data; each record's
//! data is an `Event` protobuf (`event.proto`: `wall_time` 1, `step` 2, `file_version` 3,
//! `summary` 5), the first one naming the file version, the others holding one scalar each
//! (`Summary.Value`: `tag` 1, `simple_value` 2). Records are flushed as they are written: a
//! crash loses at most the record being written, which readers skip.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use crate::error::{Error, Result};

/// `Event` (the fields written here).
#[derive(Clone, PartialEq, prost::Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(string, optional, tag = "3")]
    file_version: Option<String>,
    #[prost(message, optional, tag = "5")]
    summary: Option<Summary>,
}

/// `Summary`.
#[derive(Clone, PartialEq, prost::Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<SummaryValue>,
}

/// `Summary.Value` holding a scalar.
#[derive(Clone, PartialEq, prost::Message)]
struct SummaryValue {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(float, optional, tag = "2")]
    simple_value: Option<f32>,
}

/// The CRC-32C of `data`, masked as the record format wants.
fn masked_crc(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
        .rotate_right(15)
        .wrapping_add(0xa282_ead8)
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Appends scalars to one event file of a run directory.
pub struct EventWriter {
    file: File,
    path: PathBuf,
}

impl EventWriter {
    /// A new event file in `dir` (a resumed run gets a second one; TensorBoard reads both).
    pub fn create(dir: &Path) -> Result<Self> {
        let secs = now() as u64;
        let path = dir.join(format!(
            "events.out.tfevents.{secs}.convzoo.{}",
            std::process::id()
        ));
        let file = File::create(&path).map_err(Error::io(&path))?;
        let mut writer = Self { file, path };
        writer.write(&Event {
            wall_time: now(),
            step: 0,
            file_version: Some("brain.Event:2".into()),
            summary: None,
        })?;
        Ok(writer)
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records `value` under `tag` at `step`.
    pub fn scalar(&mut self, tag: &str, step: u64, value: f64) -> Result<()> {
        self.write(&Event {
            wall_time: now(),
            step: step as i64,
            file_version: None,
            summary: Some(Summary {
                value: vec![SummaryValue {
                    tag: tag.into(),
                    simple_value: Some(value as f32),
                }],
            }),
        })
    }

    fn write(&mut self, event: &Event) -> Result<()> {
        let data = event.encode_to_vec();
        let length = (data.len() as u64).to_le_bytes();
        let mut record = Vec::with_capacity(data.len() + 16);
        record.extend_from_slice(&length);
        record.extend_from_slice(&masked_crc(&length).to_le_bytes());
        record.extend_from_slice(&data);
        record.extend_from_slice(&masked_crc(&data).to_le_bytes());
        self.file
            .write_all(&record)
            .and_then(|()| self.file.flush())
            .map_err(Error::io(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_of_the_record_format() {
        // CRC-32C's check value: "123456789" -> 0xE3069283; masked (rotated right by 15, plus
        // 0xa282ead8) that is 0xC78AB0E5.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(masked_crc(b"123456789"), 0xC78A_B0E5);
    }

    #[test]
    fn records_frame_their_events() {
        let dir = std::env::temp_dir().join(format!("convzoo-tb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = EventWriter::create(&dir).unwrap();
        w.scalar("epoch/test_acc", 1, 0.5).unwrap();
        let bytes = std::fs::read(w.path()).unwrap();
        let mut rest = bytes.as_slice();
        let mut events = Vec::new();
        while !rest.is_empty() {
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
            assert_eq!(rest[8..12], masked_crc(&rest[..8]).to_le_bytes());
            let data = &rest[12..12 + len];
            assert_eq!(rest[12 + len..16 + len], masked_crc(data).to_le_bytes());
            events.push(Event::decode(data).unwrap());
            rest = &rest[16 + len..];
        }
        assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
        let value = &events[1].summary.as_ref().unwrap().value[0];
        assert_eq!(
            (value.tag.as_str(), value.simple_value),
            ("epoch/test_acc", Some(0.5))
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
