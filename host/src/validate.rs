//! Checks a pipeline file as `run` would before starting: syntax, host keys, wiring,
//! components and each plugin's options (by creating and dropping an instance).

use std::path::{Path, PathBuf};

use ferry_plugin_api::abi::NodeContext;

use crate::config::{self, offending_key, NodeConfig, NodeKind, PipelineFile, Problems};
use crate::graph;
use crate::plugins::{default_plugin_dirs, Registry};

/// A file that passed every check, with the plugins it can use.
pub struct Checked {
    pub file: PipelineFile,
    pub registry: Registry,
}

pub fn check(path: &Path) -> Result<Checked, Problems> {
    let (file, mut problems) = config::load(path);
    let Some(file) = file else {
        return Err(problems);
    };
    graph::check(&file, &mut problems);
    let registry = Registry::discover(&plugin_dirs(&file));
    for node in &file.nodes {
        check_node(&file, node, &registry, &mut problems);
    }
    if problems.is_empty() {
        Ok(Checked { file, registry })
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

fn check_node(
    file: &PipelineFile,
    node: &NodeConfig,
    registry: &Registry,
    problems: &mut Problems,
) {
    let section = [node.kind.section(), node.id.as_str()];
    let component = match registry.find(node.kind, &node.plugin) {
        Ok(c) => c,
        Err(e) => return problems.add(&section, Some("plugin"), e),
    };
    let options = serde_json::Value::Object(node.options.clone()).to_string();
    let ctx = NodeContext {
        pipeline: file.settings.name.as_str().into(),
        node: node.id.as_str().into(),
        state_dir: std::env::temp_dir().to_string_lossy().as_ref().into(),
    };
    let created = match node.kind {
        NodeKind::Source => component.create_source(&options, &ctx).map(drop),
        NodeKind::Transform => component.create_transform(&options, &ctx).map(drop),
        NodeKind::Sink => component.create_sink(&options, &ctx).map(drop),
    };
    if let Err(e) = created {
        let message = e.to_string();
        problems.add(
            &section,
            offending_key(&message),
            format!("plugin '{}': {message}", node.plugin),
        );
    }
}
