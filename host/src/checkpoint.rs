//! Durable checkpoints: one JSON file per pipeline, replaced atomically (temp file,
//! fsync, rename, fsync of the folder), so a crash leaves the old or the new one whole.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Everything needed to resume after `epoch`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub pipeline: String,
    pub epoch: u64,
    /// Per node: a source's position, a transform's state or a sink's commit handle.
    pub nodes: BTreeMap<String, NodeSnapshot>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NodeSnapshot {
    /// The plugin's bytes, base64 in the file.
    #[serde(with = "base64_bytes")]
    pub state: Vec<u8>,
    /// The node's output watermark (µs), restored so event time does not go back.
    pub watermark: Option<i64>,
}

mod base64_bytes {
    use super::*;

    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        BASE64.decode(text).map_err(serde::de::Error::custom)
    }
}

impl Checkpoint {
    /// The named nodes' positions as a JSON object for sinks' manifests: each state as
    /// JSON when it is JSON, else base64.
    pub fn positions_json(&self, nodes: &[&str]) -> String {
        let positions: serde_json::Map<String, serde_json::Value> = nodes
            .iter()
            .filter_map(|id| Some((id.to_string(), self.nodes.get(*id)?)))
            .map(|(id, snapshot)| {
                let value = serde_json::from_slice(&snapshot.state)
                    .unwrap_or_else(|_| serde_json::Value::String(BASE64.encode(&snapshot.state)));
                (id, value)
            })
            .collect();
        serde_json::Value::Object(positions).to_string()
    }
}

/// The checkpoint file of one pipeline.
pub struct CheckpointStore {
    dir: PathBuf,
}

impl CheckpointStore {
    pub fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create state folder {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn file(&self) -> PathBuf {
        self.dir.join("checkpoint.json")
    }

    /// The last durable checkpoint, if any.
    pub fn latest(&self) -> Result<Option<Checkpoint>> {
        let path = self.file();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("checkpoint {} is unreadable", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read checkpoint {}", path.display())),
        }
    }

    /// Writes `checkpoint` durably; only after this returns may anything be committed.
    pub fn write(&self, checkpoint: &Checkpoint) -> Result<()> {
        let path = self.file();
        let tmp = self.dir.join("checkpoint.json.tmp");
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(checkpoint)?)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            File::open(&self.dir)?.sync_all()
        };
        write().with_context(|| format!("cannot write checkpoint {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path()).unwrap();
        assert_eq!(store.latest().unwrap(), None);
        let mut cp = Checkpoint {
            pipeline: "p".into(),
            epoch: 7,
            ..Default::default()
        };
        cp.nodes.insert(
            "src".into(),
            NodeSnapshot {
                state: vec![0, 1, 255],
                watermark: Some(42),
            },
        );
        store.write(&cp).unwrap();
        assert_eq!(store.latest().unwrap(), Some(cp));
        assert!(!dir.path().join("checkpoint.json.tmp").exists());
    }

    #[test]
    fn positions_are_json_when_the_state_is_json_else_base64() {
        let mut cp = Checkpoint {
            epoch: 3,
            ..Default::default()
        };
        let json = NodeSnapshot {
            state: br#"{"next":60}"#.to_vec(),
            watermark: None,
        };
        let bytes = NodeSnapshot {
            state: vec![0xff, 0x00],
            watermark: None,
        };
        cp.nodes.insert("gen".into(), json);
        cp.nodes.insert("raw".into(), bytes);
        cp.nodes.insert("sink".into(), NodeSnapshot::default());
        let positions: serde_json::Value =
            serde_json::from_str(&cp.positions_json(&["gen", "raw"])).unwrap();
        assert_eq!(
            positions,
            serde_json::json!({"gen": {"next": 60}, "raw": "/wA="})
        );
    }
}
