//! Pipeline files: one pipeline per TOML, YAML or JSON file (the `config` crate),
//! `${ENV}` interpolation, host keys checked here and plugin options handed on as JSON.

mod inputs;
mod interpolate;
mod locate;
mod settings;

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::{Map, Value};

pub use inputs::InputRef;
pub use settings::{offending_key, PipelineSettings, RestartPolicy, Tolerance, Trigger};

/// What a node is in the graph: the kind of component it runs.
pub use ferry_plugin_api::abi::ComponentKind;

/// The pipeline file's section for each kind of node.
pub trait Section {
    /// `sources`, `transforms` or `sinks`.
    fn section(self) -> &'static str;
}

impl Section for ComponentKind {
    fn section(self) -> &'static str {
        match self {
            ComponentKind::Source => "sources",
            ComponentKind::Transform => "transforms",
            ComponentKind::Sink => "sinks",
        }
    }
}

/// The input name for the pipeline's dead-letter output.
pub const DEAD_LETTER: &str = "$dead_letter";

/// Keys of a node section the host consumes; everything else is the plugin's options.
const HOST_KEYS: [&str; 5] = [
    "plugin",
    "inputs",
    "event_time",
    "watermark_delay",
    "idle_timeout",
];

/// One `[sources.<id>]`, `[transforms.<id>]` or `[sinks.<id>]` section.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub id: String,
    pub kind: ComponentKind,
    /// The component name (`plugin = "datagen"`).
    pub plugin: String,
    pub inputs: Vec<InputRef>,
    /// Spark's `withWatermark(event_time, watermark_delay)` on the stream entering the
    /// node (for a source, the stream it produces): the watermark is the largest
    /// `event_time` seen, less the delay.
    pub event_time: Option<String>,
    pub watermark_delay: Duration,
    /// Sources: after this long without data, the source is idle and stops holding
    /// back the watermark of multi-input nodes downstream.
    pub idle_timeout: Option<Duration>,
    /// The rest of the section, for the plugin.
    pub options: Map<String, Value>,
}

/// A parsed pipeline file.
#[derive(Clone, Debug)]
pub struct PipelineFile {
    pub path: PathBuf,
    pub text: String,
    pub settings: PipelineSettings,
    pub nodes: Vec<NodeConfig>,
}

/// Problems found in one file, each with `file:line` where it can be found.
#[derive(Debug)]
pub struct Problems {
    path: PathBuf,
    text: String,
    pub list: Vec<String>,
}

impl Problems {
    pub fn new(path: &Path, text: &str) -> Self {
        Self {
            path: path.to_path_buf(),
            text: text.to_string(),
            list: Vec::new(),
        }
    }

    /// Records a problem in `section` (e.g. `["sources", "gen"]`), at `key` if known.
    pub fn add(&mut self, section: &[&str], key: Option<&str>, message: impl Display) {
        let line = locate::locate(&self.text, section, key)
            .map(|l| format!(":{l}"))
            .unwrap_or_default();
        let place = if section.is_empty() {
            String::new()
        } else {
            format!(" [{}]", section.join("."))
        };
        self.list
            .push(format!("{}{line}:{place} {message}", self.path.display()));
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Reads a pipeline file. Problems are collected, not returned at the first: the file
/// comes back whenever it could be parsed at all, so later checks can add theirs.
pub fn load(path: &Path) -> (Option<PipelineFile>, Problems) {
    let raw = match std::fs::read_to_string(path) {
        Ok(raw) => raw,
        Err(e) => {
            let mut problems = Problems::new(path, "");
            problems.add(&[], None, format!("cannot read the pipeline file: {e}"));
            return (None, problems);
        }
    };
    let mut problems = Problems::new(path, &raw);
    let parsed = interpolate::interpolate(&raw, |k| std::env::var(k).ok())
        .and_then(|text| parse_tree(path, &text).map(|tree| (text, tree)));
    match parsed {
        Ok((text, tree)) => {
            let file = from_tree(path, text, tree, &mut problems);
            (Some(file), problems)
        }
        Err(e) => {
            problems.add(&[], None, format!("{e:#}"));
            (None, problems)
        }
    }
}

/// A pipeline file that must have no problem at all.
pub fn load_valid(path: &Path) -> Result<PipelineFile, Problems> {
    match load(path) {
        (Some(file), problems) if problems.is_empty() => Ok(file),
        (_, problems) => Err(problems),
    }
}

fn parse_tree(path: &Path, text: &str) -> Result<Map<String, Value>> {
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => config::FileFormat::Toml,
        Some("yaml" | "yml") => config::FileFormat::Yaml,
        Some("json") => config::FileFormat::Json,
        other => anyhow::bail!(
            "unsupported file extension {:?}: use .toml, .yaml, .yml or .json",
            other.unwrap_or("")
        ),
    };
    let cfg = config::Config::builder()
        .add_source(config::File::from_str(text, format))
        .build()
        .context("cannot parse the pipeline file")?;
    cfg.try_deserialize::<Map<String, Value>>()
        .context("cannot parse the pipeline file")
}

fn from_tree(
    path: &Path,
    text: String,
    mut tree: Map<String, Value>,
    problems: &mut Problems,
) -> PipelineFile {
    let settings = settings::parse(tree.remove("pipeline"), problems);
    let mut nodes = Vec::new();
    for kind in [
        ComponentKind::Source,
        ComponentKind::Transform,
        ComponentKind::Sink,
    ] {
        if let Some(section) = tree.remove(kind.section()) {
            nodes.extend(parse_nodes(kind, section, problems));
        }
    }
    for unknown in tree.keys() {
        problems.add(
            &[unknown.as_str()],
            None,
            format!("unknown section '{unknown}': expected pipeline, sources, transforms or sinks"),
        );
    }
    PipelineFile {
        path: path.to_path_buf(),
        text,
        settings: settings.unwrap_or_else(PipelineSettings::fallback),
        nodes,
    }
}

fn parse_nodes(kind: ComponentKind, section: Value, problems: &mut Problems) -> Vec<NodeConfig> {
    let Value::Object(entries) = section else {
        problems.add(&[kind.section()], None, "must be a table of named sections");
        return Vec::new();
    };
    entries
        .into_iter()
        .filter_map(|(id, body)| parse_node(kind, id, body, problems))
        .collect()
}

fn parse_node(
    kind: ComponentKind,
    id: String,
    body: Value,
    problems: &mut Problems,
) -> Option<NodeConfig> {
    let section = [kind.section(), id.as_str()];
    let Value::Object(mut options) = body else {
        problems.add(&section, None, "must be a table");
        return None;
    };
    let plugin = match options.remove("plugin") {
        Some(Value::String(p)) => Some(p),
        Some(_) => {
            problems.add(&section, Some("plugin"), "plugin: must be a string");
            None
        }
        None => {
            problems.add(
                &section,
                None,
                "missing key 'plugin' (the component to run)",
            );
            None
        }
    };
    let inputs = inputs::take(&mut options, &section, problems);
    let event_time = take_string(&mut options, "event_time", &section, problems);
    let watermark_delay = take_duration(&mut options, "watermark_delay", &section, problems);
    let idle_timeout = take_duration(&mut options, "idle_timeout", &section, problems);
    let mut refuse =
        |key: &str, why: &str| problems.add(&section, Some(key), format!("{key}: {why}"));
    if kind == ComponentKind::Sink && event_time.is_some() {
        refuse(
            "event_time",
            "a sink does not use event time (declare it on the source or on the operator that needs it)",
        );
    }
    if watermark_delay.is_some() && event_time.is_none() {
        refuse("watermark_delay", "needs event_time on the same node");
    }
    if kind != ComponentKind::Source && idle_timeout.is_some() {
        refuse("idle_timeout", "only a source can be idle");
    }
    debug_assert!(HOST_KEYS.iter().all(|k| !options.contains_key(*k)));
    Some(NodeConfig {
        id,
        kind,
        plugin: plugin?,
        inputs,
        event_time,
        watermark_delay: watermark_delay.unwrap_or_default(),
        idle_timeout,
        options,
    })
}

fn take_duration(
    options: &mut Map<String, Value>,
    key: &str,
    section: &[&str],
    problems: &mut Problems,
) -> Option<Duration> {
    let text = take_string(options, key, section, problems)?;
    match ferry_plugin_api::sdk::duration::parse_duration(&text) {
        Ok(d) => Some(d),
        Err(e) => {
            problems.add(section, Some(key), format!("{key}: {e}"));
            None
        }
    }
}

fn take_string(
    options: &mut Map<String, Value>,
    key: &str,
    section: &[&str],
    problems: &mut Problems,
) -> Option<String> {
    match options.remove(key)? {
        Value::String(s) => Some(s),
        _ => {
            problems.add(section, Some(key), format!("{key}: must be a string"));
            None
        }
    }
}

#[cfg(test)]
mod tests;
