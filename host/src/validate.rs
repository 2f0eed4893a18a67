//! Checks a pipeline file as `run` would before starting: syntax, host keys, wiring,
//! components, each plugin's options (by creating and dropping an instance) and the
//! ports the inputs name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::config::{self, offending_key, NodeConfig, PipelineFile, Problems, Section};
use crate::graph;
use crate::plugins::{default_plugin_dirs, Ports, Registry};
use crate::runtime::{create_all, unknown_port, NotCreated};

/// A file that passed every check, with the plugins it can use.
pub struct Checked {
    pub file: PipelineFile,
    pub registry: Registry,
    /// What may not be what the author meant, though the pipeline can run.
    pub warnings: Vec<String>,
}

/// Instances made here are dropped at once; nothing ever cancels them.
static NOT_CANCELLED: AtomicBool = AtomicBool::new(false);

pub fn check(path: &Path) -> Result<Checked, Problems> {
    let (file, mut problems) = config::load(path);
    let Some(file) = file else {
        return Err(problems);
    };
    graph::check(&file, &mut problems);
    let registry = Registry::discover(&plugin_dirs(&file));
    let instances = create_all(&file, &registry, &std::env::temp_dir(), &NOT_CANCELLED);
    let mut ports = HashMap::new();
    for (node, instance) in file.nodes.iter().zip(instances) {
        let section = [node.kind.section(), node.id.as_str()];
        let instance = match instance {
            Ok(instance) => instance,
            Err(NotCreated::Missing(e)) => {
                problems.add(&section, Some("plugin"), e);
                continue;
            }
            Err(NotCreated::Refused(e)) => {
                let message = format!("{e:#}");
                let at = offending_key(&message);
                problems.add(&section, at, format!("plugin '{}': {message}", node.plugin));
                continue;
            }
        };
        if instance.tolerates_rejects() && !dead_letter_is_read(&file, node) {
            problems.add(
                &section,
                None,
                format!("its rejected records go to the dead-letter output (errors.tolerance = \"all\" or the plugin's own mode), but no node reads them: add a sink with inputs = [\"$dead_letter\"] or [\"{}.dead_letter\"]; rejected records are never dropped silently", node.id),
            );
        }
        ports.insert(node.id.as_str(), instance.ports());
    }
    check_ports(&file, &ports, &mut problems);
    if problems.is_empty() {
        let warnings = graph::watermark_warnings(&file)
            .into_iter()
            .map(|w| format!("{}: {w}", file.path.display()))
            .collect();
        Ok(Checked {
            file,
            registry,
            warnings,
        })
    } else {
        Err(problems)
    }
}

/// The pipeline's `plugin_path` (relative to the file), then the defaults.
pub fn plugin_dirs(file: &PipelineFile) -> Vec<PathBuf> {
    let base = file.path.parent().unwrap_or(Path::new("."));
    let mut dirs: Vec<PathBuf> = file
        .settings
        .plugin_path
        .iter()
        .map(|p| base.join(p))
        .collect();
    dirs.extend(default_plugin_dirs());
    dirs
}

/// Whether some node reads `node`'s rejected records.
fn dead_letter_is_read(file: &PipelineFile, node: &NodeConfig) -> bool {
    let inputs = file.nodes.iter().flat_map(|n| &n.inputs);
    inputs.into_iter().any(|i| {
        i.is_dead_letter()
            || (i.node == node.id && i.port == ferry_plugin_api::abi::DEAD_LETTER_PORT)
    })
}

/// Every `inputs = ["node.port"]` names a port that node has.
fn check_ports(file: &PipelineFile, ports: &HashMap<&str, Ports>, problems: &mut Problems) {
    for node in &file.nodes {
        for input in node.inputs.iter().filter(|i| !i.is_dead_letter()) {
            let Some(producer) = ports.get(input.node.as_str()) else {
                continue; // an unknown node or a failed instance: reported already
            };
            if producer.index(&input.port).is_none() {
                let e = unknown_port(&node.id, &input.reference(), producer);
                problems.add(&[node.kind.section(), &node.id], Some("inputs"), e);
            }
        }
    }
}
