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
use super::task::{NodeEnv, NodeStats, Outputs};
use super::transform::{Merge, Operator, TransformTask};
use super::watermark::WatermarkGenerator;
use crate::checkpoint::{Checkpoint, CheckpointStore, NodeSnapshot};
use crate::config::{NodeConfig, NodeKind, PipelineFile, DEAD_LETTER};
use crate::plugins::Registry;

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
    /// Node id, its task and the coordinator's line, by node index.
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

pub fn build(
    file: &PipelineFile,
    registry: &Registry,
    shutdown: &Arc<AtomicBool>,
) -> Result<Built> {
    let settings = &file.settings;
    let state_dir = state_dir(file);
    let store = CheckpointStore::open(&state_dir)?;
    let restored = store.latest()?;
    if let Some(cp) = &restored {
        tracing::info!(pipeline = %settings.name, "resuming after checkpoint {}", cp.epoch);
    }
    let mut nodes: Vec<&NodeConfig> = file.nodes.iter().collect();
    let dead_letter = nodes
        .iter()
        .any(|n| n.inputs.iter().any(|i| i == DEAD_LETTER));
    let mut names: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
    if dead_letter {
        names.push(DEAD_LETTER.to_string());
    }
    let mut slots: Vec<Slot> = names.iter().map(|_| Slot::default()).collect();
    wire(&nodes, &names, dead_letter, &mut slots);

    let (events, events_rx) = unbounded();
    let mut tasks = Vec::new();
    let mut stats = Vec::new();
    let (mut sources, mut sinks) = (Vec::new(), Vec::new());
    let first_epoch = restored.as_ref().map_or(1, |c| c.epoch + 1);
    let slots_iter = slots.into_iter().enumerate();
    let mut built_nodes = Vec::new();
    for (index, slot) in slots_iter {
        let env = NodeEnv {
            index,
            id: names[index].clone(),
            events: events.clone(),
            stats: Arc::default(),
            tolerance: settings.errors.tolerance,
        };
        stats.push((env.id.clone(), env.stats.clone()));
        built_nodes.push((env, slot));
    }
    for (env, slot) in built_nodes {
        let snapshot = restored.as_ref().and_then(|c| c.nodes.get(&env.id));
        let task = match nodes.get(env.index) {
            None => merge_task(env.clone(), slot),
            Some(node) => {
                let ctx = context(file, node, &state_dir);
                let made = make_task(
                    node,
                    env.clone(),
                    slot,
                    snapshot,
                    &restored,
                    first_epoch,
                    registry,
                    &ctx,
                    file,
                );
                let (task, control) = made.with_context(|| {
                    format!(
                        "[{}.{}] (plugin '{}')",
                        node.kind.section(),
                        node.id,
                        node.plugin
                    )
                })?;
                match (node.kind, control) {
                    (NodeKind::Source, Some(c)) => sources.push((env.index, c)),
                    (NodeKind::Sink, Some(c)) => sinks.push((env.index, c)),
                    _ => {}
                }
                task
            }
        };
        tasks.push((env.id.clone(), task));
    }
    nodes.clear();
    let coordinator = Coordinator {
        pipeline: settings.name.clone(),
        names,
        sources,
        sinks,
        events: events_rx,
        store,
        interval: settings.checkpoint_interval.0,
        next_epoch: first_epoch,
        shutdown: shutdown.clone(),
    };
    Ok(Built {
        coordinator,
        tasks,
        events,
        stats,
    })
}

/// `state_dir`, or `./state/<name>`.
pub fn state_dir(file: &PipelineFile) -> PathBuf {
    file.settings
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("state").join(&file.settings.name))
}

fn context(file: &PipelineFile, node: &NodeConfig, state_dir: &std::path::Path) -> NodeContext {
    NodeContext {
        pipeline: file.settings.name.as_str().into(),
        node: node.id.as_str().into(),
        state_dir: state_dir
            .join("nodes")
            .join(&node.id)
            .to_string_lossy()
            .as_ref()
            .into(),
    }
}

/// Creates a bounded channel for every edge; every plugin source and transform also
/// feeds the dead-letter node when there is one.
fn wire(nodes: &[&NodeConfig], names: &[String], dead_letter: bool, slots: &mut [Slot]) {
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
        for (producer, node) in nodes.iter().enumerate() {
            if node.kind != NodeKind::Sink {
                let (tx, rx) = bounded(EDGE_CAPACITY);
                slots[producer].outputs.dead_letter.push(tx);
                slots[merge].receivers.push(rx);
            }
        }
    }
}

fn merge_task(env: NodeEnv, slot: Slot) -> Task {
    Task::Transform(TransformTask {
        env,
        operator: Box::new(Merge),
        inputs: Inputs::new(slot.receivers, None),
        outputs: slot.outputs,
        watermark: None,
        last_watermark: None,
    })
}

#[allow(clippy::too_many_arguments)]
fn make_task(
    node: &NodeConfig,
    env: NodeEnv,
    slot: Slot,
    snapshot: Option<&NodeSnapshot>,
    restored: &Option<Checkpoint>,
    first_epoch: u64,
    registry: &Registry,
    ctx: &NodeContext,
    file: &PipelineFile,
) -> Result<(Task, Option<Sender<Control>>)> {
    let component = registry.find(node.kind, &node.plugin)?;
    let options = serde_json::Value::Object(node.options.clone()).to_string();
    let restored_watermark = snapshot.and_then(|s| s.watermark);
    let watermark = node
        .event_time
        .as_deref()
        .map(|c| WatermarkGenerator::new(c, node.watermark_delay, restored_watermark));
    match node.kind {
        NodeKind::Source => {
            let mut source = component.create_source(&options, ctx)?;
            if let Some(s) = snapshot {
                source
                    .restore(&s.state)
                    .context("restoring from the last checkpoint")?;
            }
            let (control, control_rx) = unbounded();
            let task = SourceTask {
                env,
                source,
                control: control_rx,
                outputs: slot.outputs,
                watermark,
                batch_size: file.settings.batch_size,
                trigger: file.settings.trigger,
            };
            Ok((Task::Source(task), Some(control)))
        }
        NodeKind::Transform => {
            let mut transform = component.create_transform(&options, ctx)?;
            if let Some(s) = snapshot {
                transform
                    .restore(&s.state)
                    .context("restoring from the last checkpoint")?;
            }
            let operator: Box<dyn Operator> = Box::new(transform);
            let task = TransformTask {
                env,
                operator,
                inputs: Inputs::new(slot.receivers, None),
                outputs: slot.outputs,
                watermark,
                last_watermark: restored_watermark,
            };
            Ok((Task::Transform(task), None))
        }
        NodeKind::Sink => {
            let sink = component.create_sink(&options, ctx)?;
            let (control, control_rx) = unbounded();
            let handle = restored
                .as_ref()
                .zip(snapshot)
                .map(|(c, s)| (c.epoch, s.state.clone()));
            let task = SinkTask {
                env,
                sink,
                inputs: Inputs::new(slot.receivers, Some(control_rx)),
                restored: handle,
                first_epoch,
            };
            Ok((Task::Sink(task), Some(control)))
        }
    }
}
