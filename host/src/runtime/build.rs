//! Turns a pipeline file into running parts: plugin instances restored from the last
//! checkpoint, bounded channels for every edge, and one task per node.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{Context, Result};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use ferry_plugin_api::abi::NodeContext;

use super::coordinator::Coordinator;
use super::inputs::Inputs;
use super::message::{Control, Event, Message};
use super::sink::SinkTask;
use super::source::SourceTask;
use super::task::{Emitter, NodeEnv, NodeStats, Outputs};
use super::transform::{Merge, TransformTask};
use super::watermark::WatermarkGenerator;
use crate::checkpoint::{Checkpoint, CheckpointStore, NodeSnapshot};
use crate::config::{NodeConfig, NodeKind, PipelineFile, DEAD_LETTER};
use crate::plugins::{Component, Registry};

/// Batches in flight per edge: a slow consumer stalls its producer beyond this.
const EDGE_CAPACITY: usize = 8;

/// A node's work, run on its own thread.
pub enum Task {
    Source(SourceTask),
    Transform(TransformTask),
    Sink(SinkTask),
}

impl Task {
    pub fn run(self) -> Result<()> {
        match self {
            Task::Source(t) => t.run(),
            Task::Transform(t) => t.run(),
            Task::Sink(t) => t.run(),
        }
    }
}

pub struct Built {
    pub coordinator: Coordinator,
    /// Node id and task, by node index.
    pub tasks: Vec<(String, Task)>,
    pub events: Sender<Event>,
    pub stats: Vec<(String, Arc<NodeStats>)>,
}

/// The wiring of one node before its task exists.
#[derive(Default)]
struct Slot {
    receivers: Vec<Receiver<Message>>,
    outputs: Outputs,
}

/// `state_dir`, or `./state/<name>`.
pub fn state_dir(file: &PipelineFile) -> PathBuf {
    file.settings
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("state").join(&file.settings.name))
}

pub fn build(
    file: &PipelineFile,
    registry: &Registry,
    shutdown: &Arc<AtomicBool>,
) -> Result<Built> {
    let state_dir = state_dir(file);
    let store = CheckpointStore::open(&state_dir)?;
    let restored = store.latest()?;
    if let Some(cp) = &restored {
        tracing::info!(pipeline = %file.settings.name, "resuming after checkpoint {}", cp.epoch);
    }
    let first_epoch = restored.as_ref().map_or(1, |c| c.epoch + 1);
    let mut names: Vec<String> = file.nodes.iter().map(|n| n.id.clone()).collect();
    let dead_letter = file
        .nodes
        .iter()
        .any(|n| n.inputs.iter().any(|i| i == DEAD_LETTER));
    if dead_letter {
        names.push(DEAD_LETTER.to_string());
    }
    let slots = wire(&file.nodes, &names, dead_letter);
    let (events, events_rx) = unbounded();
    let builder = Builder {
        file,
        registry,
        restored: restored.as_ref(),
        state_dir,
        first_epoch,
    };
    let mut built = Parts::default();
    for (index, slot) in slots.into_iter().enumerate() {
        let env = NodeEnv {
            index,
            id: names[index].clone(),
            events: events.clone(),
            stats: Arc::default(),
            tolerance: file.settings.errors.tolerance,
        };
        built.stats.push((env.id.clone(), env.stats.clone()));
        let task = match file.nodes.get(index) {
            Some(node) => builder.task(node, env.clone(), slot, &mut built)?,
            None => merge_task(env.clone(), slot),
        };
        built.tasks.push((env.id, task));
    }
    let coordinator = Coordinator {
        pipeline: file.settings.name.clone(),
        names,
        sources: built.sources,
        sinks: built.sinks,
        events: events_rx,
        store,
        interval: file.settings.checkpoint_interval.0,
        next_epoch: first_epoch,
        shutdown: shutdown.clone(),
    };
    Ok(Built {
        coordinator,
        tasks: built.tasks,
        events,
        stats: built.stats,
    })
}

#[derive(Default)]
struct Parts {
    tasks: Vec<(String, Task)>,
    stats: Vec<(String, Arc<NodeStats>)>,
    sources: Vec<(usize, Sender<Control>)>,
    sinks: Vec<(usize, Sender<Control>)>,
}

/// Creates a bounded channel for every edge; every plugin source and transform also
/// feeds the dead-letter node when there is one (it is the last name).
fn wire(nodes: &[NodeConfig], names: &[String], dead_letter: bool) -> Vec<Slot> {
    let mut slots: Vec<Slot> = names.iter().map(|_| Slot::default()).collect();
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    for (consumer, node) in nodes.iter().enumerate() {
        for input in &node.inputs {
            let (tx, rx) = bounded(EDGE_CAPACITY);
            slots[index[input.as_str()]].outputs.main.push(tx);
            slots[consumer].receivers.push(rx);
        }
    }
    if dead_letter {
        let merge = names.len() - 1;
        for (producer, node) in nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.kind != NodeKind::Sink)
        {
            let (tx, rx) = bounded(EDGE_CAPACITY);
            slots[producer].outputs.dead_letter.push(tx);
            slots[merge].receivers.push(rx);
            debug_assert_ne!(node.kind, NodeKind::Sink);
        }
    }
    slots
}

fn merge_task(env: NodeEnv, slot: Slot) -> Task {
    Task::Transform(TransformTask {
        env,
        operator: Box::new(Merge),
        inputs: Inputs::new(slot.receivers, None),
        out: Emitter {
            outputs: slot.outputs,
            watermark: None,
            last_watermark: None,
        },
    })
}

/// One plugin node about to be built.
struct NewNode<'a> {
    node: &'a NodeConfig,
    component: &'a Component,
    env: NodeEnv,
    slot: Slot,
    snapshot: Option<&'a NodeSnapshot>,
}

/// What building every plugin node needs.
struct Builder<'a> {
    file: &'a PipelineFile,
    registry: &'a Registry,
    restored: Option<&'a Checkpoint>,
    state_dir: PathBuf,
    first_epoch: u64,
}

impl Builder<'_> {
    fn task(&self, node: &NodeConfig, env: NodeEnv, slot: Slot, parts: &mut Parts) -> Result<Task> {
        let at = || {
            format!(
                "[{}.{}] (plugin '{}')",
                node.kind.section(),
                node.id,
                node.plugin
            )
        };
        let component = self
            .registry
            .find(node.kind, &node.plugin)
            .with_context(at)?;
        let snapshot = self.restored.and_then(|c| c.nodes.get(&node.id));
        let index = env.index;
        let new = NewNode {
            node,
            component,
            env,
            slot,
            snapshot,
        };
        match node.kind {
            NodeKind::Source => {
                let (control, control_rx) = unbounded();
                parts.sources.push((index, control));
                self.source(new, control_rx).with_context(at)
            }
            NodeKind::Transform => self.transform(new).with_context(at),
            NodeKind::Sink => {
                let (control, control_rx) = unbounded();
                parts.sinks.push((index, control));
                self.sink(new, control_rx).with_context(at)
            }
        }
    }

    fn context(&self, node: &NodeConfig) -> NodeContext {
        let dir = self.state_dir.join("nodes").join(&node.id);
        NodeContext {
            pipeline: self.file.settings.name.as_str().into(),
            node: node.id.as_str().into(),
            state_dir: dir.to_string_lossy().as_ref().into(),
        }
    }

    fn options(node: &NodeConfig) -> String {
        serde_json::Value::Object(node.options.clone()).to_string()
    }

    fn emitter(node: &NodeConfig, outputs: Outputs, snapshot: Option<&NodeSnapshot>) -> Emitter {
        let restored = snapshot.and_then(|s| s.watermark);
        let watermark = node
            .event_time
            .as_deref()
            .map(|column| WatermarkGenerator::new(column, node.watermark_delay, restored));
        Emitter {
            outputs,
            watermark,
            last_watermark: restored,
        }
    }

    fn source(&self, new: NewNode<'_>, control: Receiver<Control>) -> Result<Task> {
        let NewNode {
            node,
            component,
            env,
            slot,
            snapshot,
        } = new;
        let mut source = component.create_source(&Self::options(node), &self.context(node))?;
        if let Some(s) = snapshot {
            source
                .restore(&s.state)
                .context("restoring from the last checkpoint")?;
        }
        Ok(Task::Source(SourceTask {
            env,
            source,
            control,
            out: Self::emitter(node, slot.outputs, snapshot),
            batch_size: self.file.settings.batch_size,
            trigger: self.file.settings.trigger,
        }))
    }

    fn transform(&self, new: NewNode<'_>) -> Result<Task> {
        let NewNode {
            node,
            component,
            env,
            slot,
            snapshot,
        } = new;
        let mut transform =
            component.create_transform(&Self::options(node), &self.context(node))?;
        if let Some(s) = snapshot {
            transform
                .restore(&s.state)
                .context("restoring from the last checkpoint")?;
        }
        Ok(Task::Transform(TransformTask {
            env,
            operator: Box::new(transform),
            inputs: Inputs::new(slot.receivers, None),
            out: Self::emitter(node, slot.outputs, snapshot),
        }))
    }

    fn sink(&self, new: NewNode<'_>, control: Receiver<Control>) -> Result<Task> {
        let NewNode {
            node,
            component,
            env,
            slot,
            snapshot,
        } = new;
        let sink = component.create_sink(&Self::options(node), &self.context(node))?;
        let restored = self.restored.zip(snapshot).map(|(checkpoint, s)| {
            let sources = checkpoint.positions_json(&self.source_ids());
            (checkpoint.epoch, s.state.clone(), sources)
        });
        Ok(Task::Sink(SinkTask {
            env,
            sink,
            inputs: Inputs::new(slot.receivers, Some(control)),
            restored,
            first_epoch: self.first_epoch,
            last_epoch: None,
        }))
    }

    fn source_ids(&self) -> Vec<&str> {
        let sources = self
            .file
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Source);
        sources.map(|n| n.id.as_str()).collect()
    }
}
