//! Creating a pipeline's plugin instances: what each is told (where it runs, how it is
//! wired, its event time and its inputs' schemas), upstream nodes first, for `run` and
//! `validate` alike.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use ferry_plugin_api::abi::DEAD_LETTER_PORT;
use ferry_plugin_api::sdk::ddl::schema_to_ddl;

use super::dead_letter;
use crate::config::{ComponentKind, NodeConfig, PipelineFile, Section, Tolerance};
use crate::graph::{self, EventTime};
use crate::plugins::{Instance, NodeSetup, Registry};

/// What a node's instance is told; `validate` builds the same.
pub fn node_setup(
    file: &PipelineFile,
    node: &NodeConfig,
    event_time: Option<EventTime>,
    state_dir: &Path,
    cancelled: &'static AtomicBool,
) -> NodeSetup {
    NodeSetup {
        pipeline: file.settings.name.clone(),
        node: node.id.clone(),
        state_dir: state_dir.join("nodes").join(&node.id),
        inputs: node.inputs.iter().map(|i| i.name.clone()).collect(),
        outputs: read_ports(file, node),
        event_time,
        retain_checkpoints: file.settings.retain_checkpoints,
        input_schemas: Vec::new(),
        tolerate_rejects: file.settings.errors.tolerance == Tolerance::All,
        cancelled,
    }
}

/// The ports of `node` that other nodes read.
fn read_ports(file: &PipelineFile, node: &NodeConfig) -> Vec<String> {
    let mut ports: Vec<String> = Vec::new();
    for input in file.nodes.iter().flat_map(|n| &n.inputs) {
        let port = match input {
            i if i.is_dead_letter() && node.kind != ComponentKind::Sink => DEAD_LETTER_PORT,
            i if i.node == node.id => i.port.as_str(),
            _ => continue,
        };
        if !ports.iter().any(|p| p == port) {
            ports.push(port.to_string());
        }
    }
    ports
}

/// Why a node has no instance.
#[derive(Debug)]
pub enum NotCreated {
    /// No loaded library provides the component.
    Missing(anyhow::Error),
    /// The plugin refused its options or context.
    Refused(anyhow::Error),
}

/// Creates every node's instance, upstream nodes first so that each is told the schemas
/// its inputs are known to have. Results in file order; a node downstream of a failed
/// one is told nothing of that input.
pub fn create_all(
    file: &PipelineFile,
    registry: &Registry,
    state_dir: &Path,
    cancelled: &'static AtomicBool,
) -> Vec<Result<Instance, NotCreated>> {
    let times = graph::event_times(&file.nodes);
    let index: HashMap<&str, usize> = file
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut created: Vec<Option<Result<Instance, NotCreated>>> =
        file.nodes.iter().map(|_| None).collect();
    for i in graph::upstream_first(&file.nodes) {
        let node = &file.nodes[i];
        let schemas = node.inputs.iter().map(|input| {
            if input.is_dead_letter() || input.port == DEAD_LETTER_PORT {
                return schema_to_ddl(&dead_letter::schema());
            }
            let producer = index
                .get(input.node.as_str())
                .and_then(|p| created[*p].as_ref());
            let schema = producer.and_then(|r| r.as_ref().ok()?.output_schema(&input.port));
            schema.unwrap_or_default()
        });
        let event_time = times.get(&node.id).cloned().flatten();
        let mut setup = node_setup(file, node, event_time, state_dir, cancelled);
        setup.input_schemas = schemas.collect();
        let instance = match registry.find(node.kind, &node.plugin) {
            Ok(component) => component
                .create(&options(node), &setup)
                .map_err(NotCreated::Refused),
            Err(e) => Err(NotCreated::Missing(e)),
        };
        created[i] = Some(instance);
    }
    created
        .into_iter()
        .map(|c| c.expect("every node is created"))
        .collect()
}

/// `[sections.id] (plugin 'name')`, as errors name a node.
pub(super) fn at(node: &NodeConfig) -> String {
    format!(
        "[{}.{}] (plugin '{}')",
        node.kind.section(),
        node.id,
        node.plugin
    )
}

fn options(node: &NodeConfig) -> String {
    serde_json::Value::Object(node.options.clone()).to_string()
}
