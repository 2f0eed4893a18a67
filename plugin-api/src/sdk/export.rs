//! The glue `export_plugin!` expands to: adapters from the safe traits to the FFI
//! objects, each call guarded so an error or a panic becomes an error message.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Duration;

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RSlice, RStr, RString, RVec};
use arrow::array::RecordBatch;

use super::{
    logging, options_schema, parse_options, Commit, Component, Context, Error, Output, Result,
};
use super::{Sink, Source, Transform};
use crate::abi::{
    BadRecord, BatchExporter, BatchImporter, ComponentInfo, ComponentKind, Emitted, FfiBatch,
    HostLogger, NodeContext, PollResult, SinkBox, SinkObject, SinkObject_TO, SourceBox,
    SourceObject, SourceObject_TO, TransformBox, TransformObject, TransformObject_TO,
};

/// Runs `f`, turning an error or a panic into the message the host receives.
pub fn guard<T>(f: impl FnOnce() -> Result<T>) -> RResult<T, RString> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => RResult::ROk(value),
        Ok(Err(e)) => RResult::RErr(e.to_string().into()),
        Err(panic) => RResult::RErr(format!("panicked: {}", panic_message(&*panic)).into()),
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "a non-string panic payload"
    }
}

pub fn set_logger(host: HostLogger) {
    logging::install(host);
}

/// Describes a component for the host's registry.
pub fn component_info<C: Component>(kind: ComponentKind, version: &str) -> ComponentInfo {
    ComponentInfo {
        name: C::NAME.into(),
        kind,
        version: version.into(),
        description: C::DESCRIPTION.into(),
        options_schema: options_schema::<C::Options>().into(),
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

fn create<C: Component>(options: RStr<'_>, ctx: &NodeContext) -> Result<C> {
    let options = parse_options::<C::Options>(options.as_str())?;
    C::create(options, &context(ctx))
}

fn context(ctx: &NodeContext) -> Context {
    Context {
        pipeline: ctx.pipeline.to_string(),
        node: ctx.node.to_string(),
        state_dir: PathBuf::from(ctx.state_dir.as_str()),
    }
}

pub fn create_source<S: Source>(
    options: RStr<'_>,
    ctx: &NodeContext,
) -> RResult<SourceBox, RString> {
    guard(|| {
        let source = create::<S>(options, ctx)?;
        Ok(SourceObject_TO::from_value(
            SourceAdapter {
                inner: source,
                out: BatchExporter::default(),
            },
            TD_Opaque,
        ))
    })
}

pub fn create_transform<T: Transform>(
    options: RStr<'_>,
    ctx: &NodeContext,
) -> RResult<TransformBox, RString> {
    guard(|| {
        let transform = create::<T>(options, ctx)?;
        Ok(TransformObject_TO::from_value(
            TransformAdapter {
                inner: transform,
                input: BatchImporter::default(),
                out: BatchExporter::default(),
            },
            TD_Opaque,
        ))
    })
}

pub fn create_sink<K: Sink>(options: RStr<'_>, ctx: &NodeContext) -> RResult<SinkBox, RString> {
    guard(|| {
        let sink = create::<K>(options, ctx)?;
        Ok(SinkObject_TO::from_value(
            SinkAdapter {
                inner: sink,
                input: BatchImporter::default(),
            },
            TD_Opaque,
        ))
    })
}

fn emitted(out: Output, exporter: &mut BatchExporter) -> Result<Emitted> {
    let batches = out
        .batches
        .into_iter()
        .map(|b| exporter.export(b))
        .collect::<std::result::Result<RVec<_>, _>>()?;
    let rejected = out
        .rejected
        .into_iter()
        .map(|r| BadRecord {
            raw: r.raw.into(),
            reason: r.reason.into(),
            position: r.position.into(),
        })
        .collect();
    Ok(Emitted { batches, rejected })
}

fn import(importer: &mut BatchImporter, batch: FfiBatch) -> Result<RecordBatch> {
    importer
        .import(batch)
        .map_err(|e| Error::msg(format!("importing a batch from the host: {e}")))
}

/// A source, and the stream its batches leave by.
struct SourceAdapter<S> {
    inner: S,
    out: BatchExporter,
}

impl<S: Source> SourceObject for SourceAdapter<S> {
    fn restore(&mut self, state: RSlice<'_, u8>) -> RResult<(), RString> {
        guard(|| self.inner.restore(state.as_slice()))
    }

    fn poll(&mut self, max_rows: u64, timeout_ms: u64) -> RResult<PollResult, RString> {
        guard(|| {
            let mut out = Output::default();
            let timeout = Duration::from_millis(timeout_ms);
            let status = self.inner.poll(max_rows as usize, timeout, &mut out)?;
            Ok(PollResult {
                status,
                emitted: emitted(out, &mut self.out)?,
            })
        })
    }

    fn checkpoint(&mut self, epoch: u64) -> RResult<RVec<u8>, RString> {
        guard(|| self.inner.checkpoint(epoch).map(RVec::from))
    }

    fn commit(&mut self, epoch: u64) -> RResult<(), RString> {
        guard(|| self.inner.commit(epoch))
    }
}

/// A transform, and the streams its batches come in and leave by.
struct TransformAdapter<T> {
    inner: T,
    input: BatchImporter,
    out: BatchExporter,
}

impl<T: Transform> TransformObject for TransformAdapter<T> {
    fn restore(&mut self, state: RSlice<'_, u8>) -> RResult<(), RString> {
        guard(|| self.inner.restore(state.as_slice()))
    }

    fn process(&mut self, batch: FfiBatch) -> RResult<Emitted, RString> {
        guard(|| {
            let mut out = Output::default();
            let batch = import(&mut self.input, batch)?;
            self.inner.process(batch, &mut out)?;
            emitted(out, &mut self.out)
        })
    }

    fn on_watermark(&mut self, watermark: i64) -> RResult<Emitted, RString> {
        guard(|| {
            let mut out = Output::default();
            self.inner.on_watermark(watermark, &mut out)?;
            emitted(out, &mut self.out)
        })
    }

    fn checkpoint(&mut self, epoch: u64) -> RResult<RVec<u8>, RString> {
        guard(|| self.inner.checkpoint(epoch).map(RVec::from))
    }
}

/// A sink, and the stream its batches come in by.
struct SinkAdapter<K> {
    inner: K,
    input: BatchImporter,
}

impl<K: Sink> SinkObject for SinkAdapter<K> {
    fn write(&mut self, batch: FfiBatch) -> RResult<(), RString> {
        guard(|| {
            let batch = import(&mut self.input, batch)?;
            self.inner.write(batch)
        })
    }

    fn prepare(&mut self, epoch: u64) -> RResult<RVec<u8>, RString> {
        guard(|| self.inner.prepare(epoch).map(RVec::from))
    }

    fn commit(
        &mut self,
        epoch: u64,
        handle: RSlice<'_, u8>,
        sources_json: RStr<'_>,
    ) -> RResult<(), RString> {
        guard(|| {
            let sources = serde_json::from_str(sources_json.as_str())
                .map_err(|e| Error::msg(format!("source positions from the host: {e}")))?;
            self.inner.commit(&Commit {
                epoch,
                handle: handle.as_slice(),
                sources: &sources,
            })
        })
    }

    fn abort(&mut self, epoch: u64) -> RResult<(), RString> {
        guard(|| self.inner.abort(epoch))
    }

    fn finishing(&mut self, epoch: u64) -> RResult<(), RString> {
        guard(|| self.inner.finishing(epoch))
    }
}

/// Turns the crate into a ferry plugin library that exports the listed components.
///
/// ```ignore
/// ferry_plugin_api::export_plugin! {
///     sources: [Datagen],
///     transforms: [],
///     sinks: [],
/// }
/// ```
#[macro_export]
macro_rules! export_plugin {
    (
        sources: [$($source:ty),* $(,)?],
        transforms: [$($transform:ty),* $(,)?],
        sinks: [$($sink:ty),* $(,)?] $(,)?
    ) => {
        #[doc(hidden)]
        pub mod __ferry_plugin_export {
            #[allow(unused_imports)]
            use super::*;
            use $crate::abi::{
                ComponentKind, HostLogger, NodeContext, PluginModule, PluginModuleRef, SinkBox,
                SourceBox, TransformBox,
            };
            use $crate::abi_stable::library::{CheckTypeLayout, LibHeader, RootModuleResult};
            use $crate::abi_stable::prefix_type::PrefixTypeTrait;
            use $crate::abi_stable::std_types::{RResult, RStr, RString, RVec};
            use $crate::sdk::export as ex;
            use $crate::sdk::Component as _;

            extern "C" fn components() -> RVec<$crate::abi::ComponentInfo> {
                ex::components(|| vec![
                    $(ex::component_info::<$source>(ComponentKind::Source, env!("CARGO_PKG_VERSION")),)*
                    $(ex::component_info::<$transform>(ComponentKind::Transform, env!("CARGO_PKG_VERSION")),)*
                    $(ex::component_info::<$sink>(ComponentKind::Sink, env!("CARGO_PKG_VERSION")),)*
                ])
            }

            extern "C" fn create_source(
                name: RStr<'_>, options: RStr<'_>, ctx: &NodeContext,
            ) -> RResult<SourceBox, RString> {
                $(if name.as_str() == <$source>::NAME {
                    return ex::create_source::<$source>(options, ctx);
                })*
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
                name: RStr<'_>, options: RStr<'_>, ctx: &NodeContext,
            ) -> RResult<SinkBox, RString> {
                $(if name.as_str() == <$sink>::NAME {
                    return ex::create_sink::<$sink>(options, ctx);
                })*
                ex::unknown_component(name, "sink")
            }

            extern "C" fn set_logger(host: HostLogger) {
                ex::set_logger(host)
            }

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
