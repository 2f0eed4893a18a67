//! Discovery: every library in the plugin folders is loaded and checked by abi_stable
//! (layout and plugin-api version). Refused libraries are remembered with the reason, so
//! a pipeline that needs one of their components can say why it is missing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RString};
use anyhow::{anyhow, Result};
use ferry_plugin_api::abi::{
    ComponentKind, HostLogger, LogLevel, NodeContext, NodeContextRef, PluginModuleRef,
};

use super::{Instance, SinkInstance, SourceInstance, TransformInstance};
use crate::config::Section;

/// A component some library provides.
#[derive(Clone)]
pub struct Registered {
    pub name: String,
    pub kind: ComponentKind,
    pub version: String,
    pub description: String,
    /// JSON schema of its options.
    pub options_schema: serde_json::Value,
    pub library: PathBuf,
    module: PluginModuleRef,
}

/// What the plugin folders hold.
#[derive(Clone, Default)]
pub struct Registry {
    pub components: Vec<Registered>,
    /// Libraries that could not be loaded, with the reason.
    pub refused: Vec<(PathBuf, String)>,
}

/// The folders searched when nothing else is said: `FERRY_PLUGIN_PATH` (colon separated),
/// the folder of the `ferry` binary (cargo puts the plugin libraries beside it), then a
/// cargo workspace's build folders: `$CARGO_TARGET_DIR` or `./target`, release and debug
/// (for a `ferry` installed elsewhere, run in a checkout).
pub fn default_plugin_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("FERRY_PLUGIN_PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    dirs.extend(exe_dir);
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    dirs.extend(["release", "debug"].map(|profile| target.join(profile)));
    dirs
}
impl Registry {
    /// Loads every plugin library in `dirs` (missing folders are skipped).
    pub fn discover(dirs: &[PathBuf]) -> Registry {
        let mut registry = Registry::default();
        let mut seen = std::collections::HashSet::new();
        for path in dirs.iter().flat_map(|d| libraries_in(d)) {
            let key = path.canonicalize().unwrap_or_else(|_| path.clone());
            if seen.insert(key) {
                registry.add_library(&path);
            }
        }
        registry
    }

    fn add_library(&mut self, path: &Path) {
        match load(path) {
            Ok(module) => self.add_components(path, module),
            Err(reason) => {
                tracing::warn!("refused plugin library {}: {reason}", path.display());
                self.refused.push((path.to_path_buf(), reason));
            }
        }
    }

    fn add_components(&mut self, path: &Path, module: PluginModuleRef) {
        for info in module.components()().into_iter() {
            let kind = info.kind;
            if let Some(first) = self
                .components
                .iter()
                .find(|c| c.name == info.name.as_str() && c.kind == kind)
            {
                tracing::warn!(
                    "{} {} in {} is also in {}: using the first",
                    kind.section(),
                    info.name,
                    path.display(),
                    first.library.display()
                );
                continue;
            }
            self.components.push(Registered {
                name: info.name.to_string(),
                kind,
                version: info.version.to_string(),
                description: info.description.to_string(),
                options_schema: serde_json::from_str(info.options_schema.as_str())
                    .unwrap_or_default(),
                library: path.to_path_buf(),
                module,
            });
        }
    }

    /// The component a node asks for, or an error saying what exists and what was refused.
    pub fn find(&self, kind: ComponentKind, name: &str) -> Result<&Registered> {
        if let Some(c) = self
            .components
            .iter()
            .find(|c| c.kind == kind && c.name == name)
        {
            return Ok(c);
        }
        let mut known: Vec<&str> = self
            .components
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.name.as_str())
            .collect();
        known.sort();
        let mut message = format!(
            "no {} component named '{name}' (available: {})",
            kind.section().trim_end_matches('s'),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
        for (path, reason) in &self.refused {
            message.push_str(&format!("; refused {}: {reason}", path.display()));
        }
        Err(anyhow!(message))
    }
}

fn libraries_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut libs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("so" | "dylib" | "dll")
                )
        })
        .collect();
    libs.sort();
    libs
}

/// Each library is loaded once per process; abi_stable never unloads it.
fn load(path: &Path) -> Result<PluginModuleRef, String> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Result<PluginModuleRef, String>>>> =
        OnceLock::new();
    let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut loaded = LOADED
        .get_or_init(Default::default)
        .lock()
        .expect("plugin cache lock");
    loaded
        .entry(key)
        .or_insert_with(|| {
            let module = lib_header_from_path(path)
                .and_then(|h| h.init_root_module::<PluginModuleRef>())
                .map_err(|e| refusal(&e))?;
            module.set_logger()(HostLogger {
                log: plugin_log,
                max_level: max_level(),
            });
            Ok(module)
        })
        .clone()
}

/// Why a library was refused, in a line; abi_stable's full layout report goes to debug.
fn refusal(e: &LibraryError) -> String {
    use abi_stable::library::RootModule;

    /// Where the library's root module type was declared, from abi_stable's report: it
    /// describes the host's root module ("Compared <this>"), then the library's ("To
    /// <other>"), each with the package and version that declared it, so for a plugin
    /// the ferry-plugin-api it was built against.
    fn declared_in(report: &str) -> Option<String> {
        let (_, other) = report.split_once("To <other>:")?;
        let (_, module) = other.split_once("type:PluginModule ")?;
        let quoted = |key: &str| module.split_once(key)?.1.split_once('\'').map(|(v, _)| v);
        Some(format!("{} {}", quoted("package:'")?, quoted("version:'")?))
    }

    let full = e
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    tracing::debug!("plugin library refused: {full}");
    match e {
        LibraryError::AbiInstability(_) => {
            let detail = full.rsplit("Error:").next().unwrap_or_default().trim();
            let ours = <PluginModuleRef as RootModule>::VERSION_STRINGS;
            let theirs = declared_in(&full).unwrap_or_else(|| "an unknown package".to_string());
            format!(
                "built against an incompatible ferry-plugin-api: its root module comes from {theirs}, this ferry loads plugins built against ferry-plugin-api {ours} (type layouts differ: {detail})"
            )
        }
        LibraryError::IncompatibleVersionNumber { expected_version, actual_version, .. } => format!(
            "built against ferry-plugin-api {actual_version}, but this ferry loads plugins built against ferry-plugin-api {expected_version}: rebuild it against that version"
        ),
        LibraryError::GetSymbolError { .. } => "not a ferry plugin (it exports no ferry root module)".to_string(),
        _ => full,
    }
}

fn max_level() -> LogLevel {
    use tracing::level_filters::LevelFilter;
    match LevelFilter::current() {
        LevelFilter::TRACE => LogLevel::Trace,
        LevelFilter::DEBUG => LogLevel::Debug,
        LevelFilter::INFO => LogLevel::Info,
        LevelFilter::WARN => LogLevel::Warn,
        _ => LogLevel::Error,
    }
}

/// Plugins' log lines, emitted on the calling node's thread (inside its span).
extern "C" fn plugin_log(level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
    let (plugin, message) = (target.as_str(), message.as_str());
    match level {
        LogLevel::Error => tracing::error!(plugin, "{message}"),
        LogLevel::Warn => tracing::warn!(plugin, "{message}"),
        LogLevel::Info => tracing::info!(plugin, "{message}"),
        LogLevel::Debug => tracing::debug!(plugin, "{message}"),
        LogLevel::Trace => tracing::trace!(plugin, "{message}"),
    }
}

/// What the host tells a new instance: where it runs and how it is wired.
#[derive(Clone, Debug)]
pub struct NodeSetup {
    pub pipeline: String,
    pub node: String,
    pub state_dir: PathBuf,
    /// Input names, by input index.
    pub inputs: Vec<String>,
    /// Output ports other nodes read.
    pub outputs: Vec<String>,
    /// The event-time column and delay of the node's input.
    pub event_time: Option<(String, Duration)>,
    pub retain_checkpoints: usize,
    /// Each input's schema as Spark DDL where known before any data, else empty.
    pub input_schemas: Vec<String>,
    /// `errors.tolerance = "all"`: rejected records become dead-letter rows.
    pub tolerate_rejects: bool,
    /// Set when the pipeline is torn down.
    pub cancelled: &'static AtomicBool,
}

impl NodeSetup {
    /// The context as it crosses: leaked, so the plugin may keep its references (a few
    /// hundred bytes per instance created).
    fn context(&self) -> NodeContextRef {
        fn leak(s: &str) -> RStr<'static> {
            RStr::from_str(Box::leak(s.to_string().into_boxed_str()))
        }
        fn leak_all(list: &[String]) -> RSlice<'static, RStr<'static>> {
            let leaked: Vec<RStr<'static>> = list.iter().map(|s| leak(s)).collect();
            RSlice::from_slice(Box::leak(leaked.into_boxed_slice()))
        }
        let (event_time, delay) = match &self.event_time {
            Some((column, delay)) => (ROption::RSome(leak(column)), delay.as_micros() as u64),
            None => (ROption::RNone, 0),
        };
        NodeContext {
            pipeline: leak(&self.pipeline),
            node: leak(&self.node),
            state_dir: leak(&self.state_dir.to_string_lossy()),
            inputs: leak_all(&self.inputs),
            outputs: leak_all(&self.outputs),
            event_time,
            watermark_delay_us: delay,
            retain_checkpoints: self.retain_checkpoints as u32,
            input_schemas: leak_all(&self.input_schemas),
            cancelled: self.cancelled,
        }
        .leak_into_prefix()
    }
}

impl Registered {
    /// An instance of this component for a node of its kind.
    pub fn create(&self, options: &str, setup: &NodeSetup) -> Result<Instance> {
        Ok(match self.kind {
            ComponentKind::Source => Instance::Source(self.create_source(options, setup)?),
            ComponentKind::Transform => Instance::Transform(self.create_transform(options, setup)?),
            ComponentKind::Sink => Instance::Sink(self.create_sink(options, setup)?),
        })
    }

    pub fn create_source(&self, options: &str, setup: &NodeSetup) -> Result<SourceInstance> {
        let create = self.module.create_source();
        let obj = ok(create(
            self.name.as_str().into(),
            options.into(),
            setup.context(),
        ))?;
        SourceInstance::new(obj, setup.tolerate_rejects)
    }

    pub fn create_transform(&self, options: &str, setup: &NodeSetup) -> Result<TransformInstance> {
        let create = self.module.create_transform();
        let obj = ok(create(
            self.name.as_str().into(),
            options.into(),
            setup.context(),
        ))?;
        TransformInstance::new(obj, setup.inputs.len(), setup.tolerate_rejects)
    }

    pub fn create_sink(&self, options: &str, setup: &NodeSetup) -> Result<SinkInstance> {
        let create = self.module.create_sink();
        let obj = ok(create(
            self.name.as_str().into(),
            options.into(),
            setup.context(),
        ))?;
        Ok(SinkInstance::new(obj, setup.inputs.len()))
    }
}

fn ok<T>(r: RResult<T, RString>) -> Result<T> {
    r.into_result().map_err(|e| anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_include_the_binary_folder_and_the_cargo_target_folder() {
        std::env::set_var("CARGO_TARGET_DIR", "/somewhere/target");
        let dirs = default_plugin_dirs();
        let exe_dir = std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        assert!(dirs.contains(&exe_dir), "{dirs:?}");
        assert!(
            dirs.contains(&PathBuf::from("/somewhere/target/release")),
            "{dirs:?}"
        );
        assert!(
            dirs.contains(&PathBuf::from("/somewhere/target/debug")),
            "{dirs:?}"
        );
    }

    #[test]
    fn a_missing_component_names_what_exists_and_what_was_refused() {
        let mut registry = Registry::default();
        registry.refused.push((
            PathBuf::from("plugins/libold.so"),
            "built against an incompatible ferry-plugin-api".into(),
        ));
        let err = registry
            .find(ComponentKind::Source, "kafka")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("no source component named 'kafka' (available: none)"),
            "{err}"
        );
        assert!(
            err.contains("refused plugins/libold.so: built against an incompatible"),
            "{err}"
        );
    }
}
