//! Turns a pipeline file into running parts: plugin instances restored from the last
//! checkpoint, a bounded channel for every edge (from a node's port to another node's
//! input), and one task per node.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use crossbeam_channel::{bounded, unbounded, Sender};
use ferry_plugin_api::abi::RestoredWatermarks;

use super::coordinator::Coordinator;
use super::create::{at, create_all, NotCreated};
use super::inputs::{Edge, Inputs};
use super::message::{Control, Event};
use super::sink::{Recovery, SinkTask};
use super::source::SourceTask;
use super::task::{Emitter, NodeEnv, NodeStats, Outputs};
use super::transform::TransformTask;
use super::watermark::WatermarkGenerator;
use crate::checkpoint::{Checkpoint, CheckpointStore, NodeSnapshot};
use crate::config::{ComponentKind, NodeConfig, PipelineFile};
use crate::plugins::{Instance, Ports, Registry, DEAD_LETTER};

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
    let store = CheckpointStore::open(&state_dir, file.settings.retain_checkpoints)?;
    let restored = store.latest()?;
    if let Some(cp) = &restored {
        tracing::info!(pipeline = %file.settings.name, "resuming after checkpoint {}", cp.epoch);
    }
    let first_epoch = restored.as_ref().map_or(1, |c| c.epoch + 1);
    // One flag per run, leaked: instances keep a reference to it.
    let cancelled: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    let created = create_all(file, registry, &state_dir, cancelled);
    let instances = file
        .nodes
        .iter()
        .zip(created)
        .map(|(node, c)| match c {
            Ok(instance) => Ok(instance),
            Err(NotCreated::Missing(e) | NotCreated::Refused(e)) => Err(e.context(at(node))),
        })
        .collect::<Result<Vec<_>>>()?;
    let ports: Vec<Ports> = instances.iter().map(Instance::ports).collect();
    let (mut edges, mut outputs) = wire(&file.nodes, &ports)?;
    let (events, events_rx) = unbounded();
    let mut parts = Parts::default();
    let builder = Builder {
        file,
        restored: restored.as_ref(),
        first_epoch,
    };
    for (index, (node, instance)) in file.nodes.iter().zip(instances).enumerate() {
        let env = NodeEnv {
            index,
            id: node.id.clone(),
            events: events.clone(),
            stats: Arc::default(),
        };
        parts.stats.push((env.id.clone(), env.stats.clone()));
        let wiring = Wiring {
            edges: std::mem::take(&mut edges[index]),
            outputs: std::mem::replace(&mut outputs[index], Outputs::new(0)),
        };
        let task = builder
            .task(node, instance, env, wiring, &mut parts)
            .with_context(|| at(node))?;
        parts.tasks.push((node.id.clone(), task));
    }
    let coordinator = Coordinator {
        pipeline: file.settings.name.clone(),
        names: file.nodes.iter().map(|n| n.id.clone()).collect(),
        sources: parts.sources,
        transforms: parts.transforms,
        sinks: parts.sinks,
        events: events_rx,
        store,
        interval: file.settings.checkpoint_interval.0,
        next_epoch: first_epoch,
        shutdown: shutdown.clone(),
        cancelled,
    };
    Ok(Built {
        coordinator,
        tasks: parts.tasks,
        events,
        stats: parts.stats,
    })
}

#[derive(Default)]
struct Parts {
    tasks: Vec<(String, Task)>,
    stats: Vec<(String, Arc<NodeStats>)>,
    sources: Vec<(usize, Sender<Control>)>,
    transforms: Vec<(usize, Sender<Control>)>,
    sinks: Vec<(usize, Sender<Control>)>,
}

/// One node's edges: incoming ones and outgoing ones by port.
struct Wiring {
    edges: Vec<Edge>,
    outputs: Outputs,
}

/// Creates a bounded channel for every edge. `$dead_letter` is one input fed by the
/// `dead_letter` port of every source and transform.
fn wire(nodes: &[NodeConfig], ports: &[Ports]) -> Result<(Vec<Vec<Edge>>, Vec<Outputs>)> {
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut edges: Vec<Vec<Edge>> = nodes.iter().map(|_| Vec::new()).collect();
    let mut outputs: Vec<Outputs> = ports.iter().map(|p| Outputs::new(p.len())).collect();
    for (consumer, node) in nodes.iter().enumerate() {
        for (input, reference) in node.inputs.iter().enumerate() {
            let producers: Vec<(usize, usize)> = if reference.is_dead_letter() {
                let producing = nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.kind != ComponentKind::Sink);
                producing.map(|(i, _)| (i, DEAD_LETTER)).collect()
            } else {
                let producer = *index
                    .get(reference.node.as_str())
                    .ok_or_else(|| anyhow!("no node named '{}'", reference.node))?;
                let port = ports[producer].index(&reference.port).ok_or_else(|| {
                    unknown_port(&node.id, &reference.reference(), &ports[producer])
                })?;
                vec![(producer, port)]
            };
            for (producer, port) in producers {
                let (tx, receiver) = bounded(EDGE_CAPACITY);
                outputs[producer].connect(port, tx);
                edges[consumer].push(Edge { receiver, input });
            }
        }
    }
    Ok((edges, outputs))
}

/// The message for `inputs = ["node.port"]` naming a port the node does not have.
pub fn unknown_port(consumer: &str, reference: &str, ports: &Ports) -> anyhow::Error {
    anyhow!(
        "node '{consumer}' reads '{reference}', but that node's ports are {}",
        ports.names().join(", ")
    )
}

/// What building every node's task needs.
struct Builder<'a> {
    file: &'a PipelineFile,
    restored: Option<&'a Checkpoint>,
    first_epoch: u64,
}

impl Builder<'_> {
    fn task(
        &self,
        node: &NodeConfig,
        instance: Instance,
        env: NodeEnv,
        wiring: Wiring,
        parts: &mut Parts,
    ) -> Result<Task> {
        let snapshot = self.restored.and_then(|c| c.nodes.get(&node.id));
        let (control, control_rx) = unbounded();
        let index = env.index;
        match instance {
            Instance::Source(mut source) => {
                parts.sources.push((index, control));
                if let Some((epoch, s)) = self.epoch().zip(snapshot) {
                    source
                        .restore(epoch, &s.state, watermarks(s))
                        .context("restoring from the last checkpoint")?;
                }
                let restored = snapshot.and_then(|s| s.watermarks.output);
                let generator = (node.event_time.as_deref())
                    .filter(|_| !source.supplies_watermarks())
                    .map(|c| WatermarkGenerator::new(c, node.watermark_delay, restored));
                Ok(Task::Source(SourceTask {
                    env,
                    source,
                    control: control_rx,
                    out: Emitter::new(wiring.outputs, generator, restored),
                    batch_size: self.file.settings.batch_size,
                    trigger: self.file.settings.trigger,
                    idle_timeout: node.idle_timeout,
                }))
            }
            Instance::Transform(mut transform) => {
                parts.transforms.push((index, control));
                if let Some((epoch, s)) = self.epoch().zip(snapshot) {
                    transform
                        .restore(epoch, &s.state, watermarks(s))
                        .context("restoring from the last checkpoint")?;
                }
                let mut inputs = Inputs::new(wiring.edges, Some(control_rx));
                if let Some(column) = &node.event_time {
                    inputs = inputs.with_event_time(column, node.watermark_delay);
                }
                if let Some(s) = snapshot {
                    inputs.restore(&s.watermarks.inputs);
                }
                let restored = snapshot.and_then(|s| s.watermarks.output);
                Ok(Task::Transform(TransformTask {
                    env,
                    transform,
                    inputs,
                    out: Emitter::new(wiring.outputs, None, restored),
                    next_epoch: self.first_epoch,
                }))
            }
            Instance::Sink(sink) => {
                parts.sinks.push((index, control));
                let restored = self.restored.zip(snapshot).map(|(checkpoint, s)| Recovery {
                    epoch: checkpoint.epoch,
                    handle: s.state.clone(),
                    sources: checkpoint.positions_json(&self.source_ids()),
                });
                Ok(Task::Sink(SinkTask {
                    env,
                    sink,
                    inputs: Inputs::new(wiring.edges, Some(control_rx)),
                    restored,
                    first_epoch: self.first_epoch,
                    last_epoch: None,
                }))
            }
        }
    }

    fn epoch(&self) -> Option<u64> {
        self.restored.map(|c| c.epoch)
    }

    fn source_ids(&self) -> Vec<&str> {
        let sources = self
            .file
            .nodes
            .iter()
            .filter(|n| n.kind == ComponentKind::Source);
        sources.map(|n| n.id.as_str()).collect()
    }
}

fn watermarks(snapshot: &NodeSnapshot) -> RestoredWatermarks {
    RestoredWatermarks {
        input: snapshot.watermarks.input().unwrap_or(i64::MIN),
        output: snapshot.watermarks.output.unwrap_or(i64::MIN),
    }
}
