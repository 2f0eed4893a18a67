//! Durable checkpoints. Each is a small manifest, `checkpoints/<epoch>.json`: per node
//! its position or commit handle and its watermarks. A node's state larger than a few
//! KiB goes to a file of its own beside the manifest, so no large blob is base64-copied
//! into JSON; operators keep their big state in their own files anyway (the SDK's state
//! tables), and their handle is what lands here. Every file is written temp-then-rename
//! with fsyncs, so a crash leaves each checkpoint whole or absent. The last
//! `retain` checkpoints are kept.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// States up to this size stay inline in the manifest.
const INLINE_STATE: usize = 4096;

/// Everything needed to resume after `epoch`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checkpoint {
    pub pipeline: String,
    pub epoch: u64,
    /// Per node: a source's position, a transform's state or a sink's commit handle.
    pub nodes: BTreeMap<String, NodeSnapshot>,
}

/// One node's part of a checkpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeSnapshot {
    /// The plugin's bytes.
    pub state: Vec<u8>,
    pub watermarks: Watermarks,
}

/// A node's event-time position (µs), restored so event time does not go back. Never
/// the end-of-input maximum: a rerun with new data continues from the real watermark.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Watermarks {
    /// What the node had sent downstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<i64>,
    /// Each incoming edge's watermark, in wiring order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Option<i64>>,
}

impl Watermarks {
    /// The combined watermark of the inputs: the minimum, if every edge has one.
    pub fn input(&self) -> Option<i64> {
        let all: Option<Vec<i64>> = self.inputs.iter().copied().collect();
        all?.into_iter().min()
    }
}

/// A node's entry as written: the state inline (JSON when it is JSON, else base64) or
/// the name of its file.
#[derive(Serialize, Deserialize)]
struct NodeEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state_file: Option<String>,
    #[serde(flatten)]
    watermarks: Watermarks,
    /// The 0.1 layout kept one output watermark here.
    #[serde(default, skip_serializing)]
    watermark: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    pipeline: String,
    epoch: u64,
    nodes: BTreeMap<String, NodeEntry>,
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

/// The checkpoints of one pipeline.
pub struct CheckpointStore {
    dir: PathBuf,
    retain: usize,
}

impl CheckpointStore {
    pub fn open(dir: &Path, retain: usize) -> Result<Self> {
        let checkpoints = dir.join("checkpoints");
        fs::create_dir_all(&checkpoints)
            .with_context(|| format!("cannot create state folder {}", checkpoints.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            retain: retain.max(1),
        })
    }

    fn folder(&self) -> PathBuf {
        self.dir.join("checkpoints")
    }

    fn manifest(&self, epoch: u64) -> PathBuf {
        self.folder().join(format!("{epoch:020}.json"))
    }

    /// Epochs with a manifest, oldest first.
    fn epochs(&self) -> Result<Vec<u64>> {
        let folder = self.folder();
        let entries =
            fs::read_dir(&folder).with_context(|| format!("cannot list {}", folder.display()))?;
        let mut epochs: Vec<u64> = entries
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()
            })
            .collect();
        epochs.sort_unstable();
        Ok(epochs)
    }

    /// The last durable checkpoint, if any (a 0.1 `checkpoint.json` is read too).
    pub fn latest(&self) -> Result<Option<Checkpoint>> {
        match self.epochs()?.last() {
            Some(epoch) => self.read(&self.manifest(*epoch)).map(Some),
            None => {
                let legacy = self.dir.join("checkpoint.json");
                legacy.exists().then(|| self.read(&legacy)).transpose()
            }
        }
    }

    fn read(&self, path: &Path) -> Result<Checkpoint> {
        let bytes =
            fs::read(path).with_context(|| format!("cannot read checkpoint {}", path.display()))?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .with_context(|| format!("checkpoint {} is unreadable", path.display()))?;
        let mut nodes = BTreeMap::new();
        for (id, entry) in manifest.nodes {
            let state = match (&entry.state, &entry.state_file) {
                (_, Some(file)) => {
                    let path = self.folder().join(file);
                    fs::read(&path)
                        .with_context(|| format!("cannot read node state {}", path.display()))?
                }
                (Some(value), None) => decode_state(value)
                    .with_context(|| format!("checkpoint {}: node '{id}'", path.display()))?,
                (None, None) => Vec::new(),
            };
            let mut watermarks = entry.watermarks;
            watermarks.output = watermarks.output.or(entry.watermark);
            nodes.insert(id, NodeSnapshot { state, watermarks });
        }
        Ok(Checkpoint {
            pipeline: manifest.pipeline,
            epoch: manifest.epoch,
            nodes,
        })
    }

    /// Writes `checkpoint` durably; only after this returns may anything be committed.
    /// Then drops checkpoints older than the last `retain`.
    pub fn write(&self, checkpoint: &Checkpoint) -> Result<()> {
        let mut nodes = BTreeMap::new();
        for (id, snapshot) in &checkpoint.nodes {
            let entry = self.entry(checkpoint.epoch, id, snapshot)?;
            nodes.insert(id.clone(), entry);
        }
        let manifest = Manifest {
            pipeline: checkpoint.pipeline.clone(),
            epoch: checkpoint.epoch,
            nodes,
        };
        let json = serde_json::to_vec_pretty(&manifest)?;
        durable_write(&self.manifest(checkpoint.epoch), &json)?;
        self.prune()
    }

    fn entry(&self, epoch: u64, id: &str, snapshot: &NodeSnapshot) -> Result<NodeEntry> {
        let mut entry = NodeEntry {
            state: None,
            state_file: None,
            watermarks: snapshot.watermarks.clone(),
            watermark: None,
        };
        if snapshot.state.len() > INLINE_STATE {
            let name = format!("{epoch:020}.{id}.state");
            durable_write(&self.folder().join(&name), &snapshot.state)?;
            entry.state_file = Some(name);
        } else if !snapshot.state.is_empty() {
            entry.state = Some(encode_state(&snapshot.state));
        }
        Ok(entry)
    }

    /// Deletes manifests and state files of checkpoints older than the last `retain`.
    fn prune(&self) -> Result<()> {
        let epochs = self.epochs()?;
        let Some(&oldest_kept) = epochs.iter().rev().nth(self.retain - 1) else {
            return Ok(());
        };
        let folder = self.folder();
        for entry in fs::read_dir(&folder)?.filter_map(|e| e.ok()) {
            let name = entry.file_name();
            let epoch = name
                .to_str()
                .and_then(|n| n.split('.').next()?.parse::<u64>().ok());
            if epoch.is_some_and(|e| e < oldest_kept) {
                fs::remove_file(entry.path())
                    .with_context(|| format!("cannot remove {}", entry.path().display()))?;
            }
        }
        let legacy = self.dir.join("checkpoint.json");
        if legacy.exists() {
            fs::remove_file(&legacy)?;
        }
        Ok(())
    }
}

/// States that are JSON objects or arrays (sources' positions) stay readable in the
/// manifest; others are a base64 string.
fn encode_state(state: &[u8]) -> serde_json::Value {
    match serde_json::from_slice::<serde_json::Value>(state) {
        Ok(json) if json.is_object() || json.is_array() => json,
        _ => serde_json::Value::String(BASE64.encode(state)),
    }
}

fn decode_state(value: &serde_json::Value) -> Result<Vec<u8>> {
    match value {
        serde_json::Value::String(base64) => Ok(BASE64.decode(base64)?),
        json => Ok(serde_json::to_vec(json)?),
    }
}

/// Temp file, fsync, rename, fsync of the folder: the file is whole or absent.
fn durable_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("a checkpoint file has a folder");
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    };
    write().with_context(|| format!("cannot write checkpoint {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(state: Vec<u8>, output: Option<i64>) -> NodeSnapshot {
        NodeSnapshot {
            state,
            watermarks: Watermarks {
                output,
                inputs: vec![Some(1), output],
            },
        }
    }

    fn checkpoint(epoch: u64, nodes: Vec<(&str, NodeSnapshot)>) -> Checkpoint {
        Checkpoint {
            pipeline: "p".into(),
            epoch,
            nodes: nodes.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    #[test]
    fn write_then_read_back_small_and_large_states() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), 2).unwrap();
        assert_eq!(store.latest().unwrap(), None);
        let cp = checkpoint(
            7,
            vec![
                ("src", snapshot(br#"{"next":60}"#.to_vec(), Some(42))),
                ("op", snapshot(vec![7; 10_000], None)),
                ("bin", snapshot(vec![0, 1, 255], None)),
            ],
        );
        store.write(&cp).unwrap();
        assert_eq!(store.latest().unwrap(), Some(cp));
        let manifest = fs::read_to_string(store.manifest(7)).unwrap();
        assert!(manifest.contains(r#""next": 60"#), "{manifest}");
        assert!(
            manifest.len() < 1000,
            "the large state is a file: {manifest}"
        );
        assert!(store.folder().join(format!("{:020}.op.state", 7)).exists());
    }

    #[test]
    fn only_the_last_retained_checkpoints_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), 2).unwrap();
        for epoch in 1..=4 {
            let cp = checkpoint(epoch, vec![("op", snapshot(vec![epoch as u8; 5000], None))]);
            store.write(&cp).unwrap();
        }
        let mut files: Vec<String> = fs::read_dir(store.folder())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        let e = |n: u64| format!("{n:020}");
        assert_eq!(
            files,
            vec![
                format!("{}.json", e(3)),
                format!("{}.op.state", e(3)),
                format!("{}.json", e(4)),
                format!("{}.op.state", e(4)),
            ]
        );
        assert_eq!(store.latest().unwrap().unwrap().epoch, 4);
    }

    #[test]
    fn a_0_1_checkpoint_is_read() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("checkpoint.json"),
            r#"{"pipeline":"p","epoch":3,"nodes":{"gen":{"state":"AQI=","watermark":5}}}"#,
        )
        .unwrap();
        let store = CheckpointStore::open(dir.path(), 2).unwrap();
        let cp = store.latest().unwrap().unwrap();
        assert_eq!(cp.epoch, 3);
        assert_eq!(cp.nodes["gen"].state, vec![1, 2]);
        assert_eq!(cp.nodes["gen"].watermarks.output, Some(5));
    }

    #[test]
    fn positions_are_json_when_the_state_is_json_else_base64() {
        let cp = checkpoint(
            3,
            vec![
                ("gen", snapshot(br#"{"next":60}"#.to_vec(), None)),
                ("raw", snapshot(vec![0xff, 0x00], None)),
                ("sink", NodeSnapshot::default()),
            ],
        );
        let positions: serde_json::Value =
            serde_json::from_str(&cp.positions_json(&["gen", "raw"])).unwrap();
        assert_eq!(
            positions,
            serde_json::json!({"gen": {"next": 60}, "raw": "/wA="})
        );
    }
}
