//! Just enough of the 0.1 SDK for a plugin to export a 0.1 root module: a transform
//! trait over the FFI batch (the real SDK's arrow-rs side is left out) and the
//! `export_plugin!` macro with the glue it expands to.

use crate::abi::{Emitted, FfiBatch, NodeContext};

/// A transform, as the pruned SDK knows it.
pub trait Transform: Send + Sized + 'static {
    /// The name pipelines use in `plugin = "..."`.
    const NAME: &'static str;
    /// One line on what it does.
    const DESCRIPTION: &'static str;

    fn create(options_json: &str, ctx: &NodeContext) -> Result<Self, String>;

    fn process(&mut self, batch: FfiBatch) -> Result<Emitted, String>;
}

/// The glue `export_plugin!` expands to, each call guarded so an error or a panic
/// becomes an error message.
#[doc(hidden)]
pub mod export {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use abi_stable::sabi_trait::TD_Opaque;
    use abi_stable::std_types::{RResult, RSlice, RStr, RString, RVec};

    use super::Transform;
    use crate::abi::{
        ComponentInfo, ComponentKind, Emitted, FfiBatch, NodeContext, TransformBox,
        TransformObject, TransformObject_TO,
    };

    /// Runs `f`, turning an error or a panic into the message the host receives.
    pub fn guard<T>(f: impl FnOnce() -> Result<T, String>) -> RResult<T, RString> {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(Ok(value)) => RResult::ROk(value),
            Ok(Err(e)) => RResult::RErr(e.into()),
            Err(_) => RResult::RErr("panicked".into()),
        }
    }

    /// Describes a transform for the host's registry.
    pub fn transform_info<T: Transform>(version: &str) -> ComponentInfo {
        ComponentInfo {
            name: T::NAME.into(),
            kind: ComponentKind::Transform,
            version: version.into(),
            description: T::DESCRIPTION.into(),
            options_schema: r#"{"type":"object"}"#.into(),
        }
    }

    /// Lists components, never unwinding into the host.
    pub fn components(list: impl FnOnce() -> Vec<ComponentInfo>) -> RVec<ComponentInfo> {
        match guard(|| Ok(list())) {
            RResult::ROk(all) => all.into(),
            RResult::RErr(_) => RVec::new(),
        }
    }

    pub fn unknown_component<T>(name: RStr<'_>, kind: &str) -> RResult<T, RString> {
        RResult::RErr(format!("this library has no {kind} named '{name}'").into())
    }

    pub fn create_transform<T: Transform>(
        options: RStr<'_>,
        ctx: &NodeContext,
    ) -> RResult<TransformBox, RString> {
        guard(|| {
            let transform = T::create(options.as_str(), ctx)?;
            Ok(TransformObject_TO::from_value(
                TransformAdapter(transform),
                TD_Opaque,
            ))
        })
    }

    struct TransformAdapter<T>(T);

    impl<T: Transform> TransformObject for TransformAdapter<T> {
        fn restore(&mut self, _state: RSlice<'_, u8>) -> RResult<(), RString> {
            RResult::ROk(())
        }

        fn process(&mut self, batch: FfiBatch) -> RResult<Emitted, RString> {
            guard(|| self.0.process(batch))
        }

        fn on_watermark(&mut self, _watermark: i64) -> RResult<Emitted, RString> {
            RResult::ROk(Emitted::default())
        }

        fn checkpoint(&mut self, _epoch: u64) -> RResult<RVec<u8>, RString> {
            RResult::ROk(RVec::new())
        }
    }
}

/// Turns the crate into a ferry plugin library (ABI 0.1) that exports the listed
/// transforms.
///
/// ```ignore
/// ferry_plugin_api::export_plugin! { transforms: [OldPassthrough] }
/// ```
#[macro_export]
macro_rules! export_plugin {
    (transforms: [$($transform:ty),* $(,)?] $(,)?) => {
        #[doc(hidden)]
        pub mod __ferry_plugin_export {
            #[allow(unused_imports)]
            use super::*;
            use $crate::abi::{
                HostLogger, NodeContext, PluginModule, PluginModuleRef, SinkBox, SourceBox,
                TransformBox,
            };
            use $crate::abi_stable::library::{CheckTypeLayout, LibHeader, RootModuleResult};
            use $crate::abi_stable::prefix_type::PrefixTypeTrait;
            use $crate::abi_stable::std_types::{RResult, RStr, RString, RVec};
            use $crate::sdk::export as ex;
            use $crate::sdk::Transform as _;

            extern "C" fn components() -> RVec<$crate::abi::ComponentInfo> {
                ex::components(|| vec![
                    $(ex::transform_info::<$transform>(env!("CARGO_PKG_VERSION")),)*
                ])
            }

            extern "C" fn create_source(
                name: RStr<'_>, _options: RStr<'_>, _ctx: &NodeContext,
            ) -> RResult<SourceBox, RString> {
                ex::unknown_component(name, "source")
            }

            extern "C" fn create_transform(
                name: RStr<'_>, options: RStr<'_>, ctx: &NodeContext,
            ) -> RResult<TransformBox, RString> {
                $(if name.as_str() == <$transform>::NAME {
                    return ex::create_transform::<$transform>(options, ctx);
                })*
                ex::unknown_component(name, "transform")
            }

            extern "C" fn create_sink(
                name: RStr<'_>, _options: RStr<'_>, _ctx: &NodeContext,
            ) -> RResult<SinkBox, RString> {
                ex::unknown_component(name, "sink")
            }

            extern "C" fn set_logger(_host: HostLogger) {}

            fn root_module() -> PluginModuleRef {
                PluginModule {
                    components,
                    set_logger,
                    create_source,
                    create_transform,
                    create_sink,
                }
                .leak_into_prefix()
            }

            extern "C" fn load_root_module() -> RootModuleResult {
                $crate::abi_stable::library::__call_root_module_loader(root_module)
            }

            /// What `#[export_root_module]` would generate, spelt out so that plugin
            /// crates need not depend on abi_stable themselves.
            #[export_name = "_1as_0lib_1header_0root_bmodule_bloader"]
            pub static LIB_HEADER: LibHeader = {
                // SAFETY: `load_root_module` returns this library's `PluginModuleRef`,
                // the type named here; abi_stable checks its layout at load.
                unsafe { LibHeader::from_constructor::<PluginModuleRef>(load_root_module, CheckTypeLayout::Yes) }
            };
        }
    };
}
