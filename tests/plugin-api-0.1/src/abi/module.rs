//! The library's root module: what the host looks up in every plugin library.

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RResult, RStr, RString, RVec};
use abi_stable::{declare_root_module_statics, package_version_strings, StableAbi};

use super::{ComponentInfo, NodeContext, SinkBox, SourceBox, TransformBox};

/// The exported symbol's name; `export_plugin!` spells it out (checked by a test).
pub const ROOT_MODULE_LOADER_NAME: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// Severity of a plugin's log line.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// The host's logging callback, handed to each library once after loading.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct HostLogger {
    /// `target` is the plugin crate's name.
    pub log: extern "C" fn(level: LogLevel, target: RStr<'_>, message: RStr<'_>),
    /// Lines above this level are not sent.
    pub max_level: LogLevel,
}

/// Root module of a ferry plugin library (an abi_stable prefix type: fields may be
/// appended in later versions).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// Each factory takes a component name, its options as JSON and where it runs.
    pub components: extern "C" fn() -> RVec<ComponentInfo>,
    pub set_logger: extern "C" fn(HostLogger),
    pub create_source: extern "C" fn(
        name: RStr<'_>,
        options_json: RStr<'_>,
        ctx: &NodeContext,
    ) -> RResult<SourceBox, RString>,
    pub create_transform: extern "C" fn(
        name: RStr<'_>,
        options_json: RStr<'_>,
        ctx: &NodeContext,
    ) -> RResult<TransformBox, RString>,
    #[sabi(last_prefix_field)]
    pub create_sink: extern "C" fn(
        name: RStr<'_>,
        options_json: RStr<'_>,
        ctx: &NodeContext,
    ) -> RResult<SinkBox, RString>,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "ferry_plugin";
    const NAME: &'static str = "ferry_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

#[cfg(test)]
mod tests {
    #[test]
    fn loader_name_matches_abi_stable() {
        assert_eq!(
            super::ROOT_MODULE_LOADER_NAME,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }
}
