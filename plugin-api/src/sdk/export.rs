//! The glue `export_plugin!` expands to: adapters from the safe traits to the FFI
//! objects, each call guarded so an error or a panic becomes an error message.

use std::any::Any;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RSlice, RStr, RString, RVec};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::ddl::schema_to_ddl;
use super::{
    logging, options_schema, parse_options, Commit, Component, Context, Emit, Error, Output,
    Restored, Result,
};
use super::{Sink, Source, SourceStatus, Transform};
use crate::abi::{
    BatchExporter, BatchImporter, ComponentInfo, ComponentKind, FfiBatch, HostLogger, HostOutput,
    NodeContextRef, RejectPolicy, RestoredWatermarks, SinkBox, SinkObject, SinkObject_TO,
    SourceBox, SourceObject, SourceObject_TO, StateSize, TransformBox, TransformObject,
    TransformObject_TO,
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

/// Parses the options and builds the instance, with the names of its inputs.
fn create<C: Component>(options: RStr<'_>, ctx: NodeContextRef) -> Result<(C, Vec<String>)> {
    let options = parse_options::<C::Options>(options.as_str())?;
    let ctx = Context::from_abi(ctx);
    let component = C::create(options, &ctx)?;
    Ok((component, ctx.inputs))
}

pub fn create_source<S: Source>(
    options: RStr<'_>,
    ctx: NodeContextRef,
) -> RResult<SourceBox, RString> {
    guard(|| {
        let (inner, _) = create::<S>(options, ctx)?;
        let adapter = SourceAdapter {
            inner,
            out: Exporters::default(),
        };
        Ok(SourceObject_TO::from_value(adapter, TD_Opaque))
    })
}

pub fn create_transform<T: Transform>(
    options: RStr<'_>,
    ctx: NodeContextRef,
) -> RResult<TransformBox, RString> {
    guard(|| {
        let (inner, inputs) = create::<T>(options, ctx)?;
        let adapter = TransformAdapter {
            inner,
            input: Importers::new(inputs),
            out: Exporters::default(),
        };
        Ok(TransformObject_TO::from_value(adapter, TD_Opaque))
    })
}

pub fn create_sink<K: Sink>(options: RStr<'_>, ctx: NodeContextRef) -> RResult<SinkBox, RString> {
    guard(|| {
        let (inner, inputs) = create::<K>(options, ctx)?;
        let adapter = SinkAdapter {
            inner,
            input: Importers::new(inputs),
        };
        Ok(SinkObject_TO::from_value(adapter, TD_Opaque))
    })
}

fn from_host(r: RResult<(), RString>) -> Result<()> {
    r.into_result().map_err(|e| Error::msg(e.into_string()))
}

/// One stream per output port, so each port's schema crosses once.
#[derive(Default)]
struct Exporters(HashMap<String, BatchExporter>);

impl Exporters {
    fn export(&mut self, port: &str, batch: RecordBatch) -> Result<FfiBatch> {
        if !self.0.contains_key(port) {
            self.0.insert(port.to_string(), BatchExporter::default());
        }
        let exporter = self.0.get_mut(port).expect("inserted above");
        Ok(exporter.export(batch)?)
    }
}

/// One stream per input, with the inputs' names.
struct Importers {
    names: Vec<String>,
    streams: Vec<BatchImporter>,
}

impl Importers {
    fn new(names: Vec<String>) -> Self {
        let streams = names.iter().map(|_| BatchImporter::default()).collect();
        Self { names, streams }
    }

    fn import(&mut self, input: u32, batch: FfiBatch) -> Result<(&str, RecordBatch)> {
        let i = input as usize;
        let (Some(name), Some(stream)) = (self.names.get(i), self.streams.get_mut(i)) else {
            return Err(Error::msg(format!(
                "the host sent a batch for input {i}, but this node has {} inputs",
                self.names.len()
            )));
        };
        let batch = stream
            .import(batch)
            .map_err(|e| Error::msg(format!("importing a batch from the host: {e}")))?;
        Ok((name, batch))
    }
}

/// A call's output, handed to the host as it is produced.
struct ToHost<'a, 'h> {
    host: HostOutput<'h>,
    streams: &'a mut Exporters,
}

impl Emit for ToHost<'_, '_> {
    fn emit(&mut self, port: &str, batch: RecordBatch) -> Result<()> {
        let batch = self.streams.export(port, batch)?;
        from_host(self.host.emit(port.into(), batch))
    }

    fn reject(&mut self, raw: &[u8], reason: &str, position: &str) -> Result<()> {
        from_host(self.host.reject(raw.into(), reason.into(), position.into()))
    }

    fn watermark(&mut self, watermark: i64) {
        self.host.watermark(watermark)
    }
}

/// Runs `f` with an [`Output`] that goes to the host.
fn with_output<T>(
    host: HostOutput<'_>,
    streams: &mut Exporters,
    f: impl FnOnce(&mut Output<'_>) -> Result<T>,
) -> Result<T> {
    let mut to_host = ToHost { host, streams };
    f(&mut Output::new(&mut to_host))
}

/// Restores an instance from what the host sends, guarded.
fn restore_with(
    epoch: u64,
    state: RSlice<'_, u8>,
    watermarks: RestoredWatermarks,
    restore: impl FnOnce(&Restored<'_>) -> Result<()>,
) -> RResult<(), RString> {
    let known = |w: i64| (w != i64::MIN).then_some(w);
    let mut restored = Restored::new(epoch, state.as_slice());
    restored.input_watermark = known(watermarks.input);
    restored.output_watermark = known(watermarks.output);
    guard(|| restore(&restored))
}

/// A port's schema as the host reads it: Spark DDL, empty when unknown.
fn ddl(schema: Option<SchemaRef>) -> RString {
    schema.map(|s| schema_to_ddl(&s)).unwrap_or_default().into()
}

fn ports(list: Vec<String>) -> RVec<RString> {
    list.into_iter().map(RString::from).collect()
}

/// The methods sources and transforms share, delegating to the component: the two
/// `#[sabi_trait]`s are distinct traits, so each adapter's impl needs its own copy.
macro_rules! producer_methods {
    () => {
        fn output_ports(&self) -> RVec<RString> {
            ports(self.inner.output_ports())
        }

        fn reject_policy(&self) -> RejectPolicy {
            self.inner.reject_policy()
        }

        fn output_schema(&self, port: RStr<'_>) -> RString {
            ddl(self.inner.output_schema(port.as_str()))
        }

        fn restore(
            &mut self,
            epoch: u64,
            state: RSlice<'_, u8>,
            watermarks: RestoredWatermarks,
        ) -> RResult<(), RString> {
            let inner = &mut self.inner;
            restore_with(epoch, state, watermarks, |r| inner.restore(r))
        }
    };
}

/// A source, and the streams its batches leave by.
struct SourceAdapter<S> {
    inner: S,
    out: Exporters,
}

impl<S: Source> SourceObject for SourceAdapter<S> {
    producer_methods!();

    fn supplies_watermarks(&self) -> bool {
        self.inner.supplies_watermarks()
    }

    fn poll(
        &mut self,
        max_rows: u64,
        timeout_ms: u64,
        out: HostOutput<'_>,
    ) -> RResult<SourceStatus, RString> {
        guard(|| {
            let timeout = Duration::from_millis(timeout_ms);
            let inner = &mut self.inner;
            with_output(out, &mut self.out, |out| {
                inner.poll(max_rows as usize, timeout, out)
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
    input: Importers,
    out: Exporters,
}

impl<T: Transform> TransformObject for TransformAdapter<T> {
    producer_methods!();

    fn process(
        &mut self,
        input: u32,
        batch: FfiBatch,
        out: HostOutput<'_>,
    ) -> RResult<(), RString> {
        guard(|| {
            let (name, batch) = self.input.import(input, batch)?;
            let inner = &mut self.inner;
            with_output(out, &mut self.out, |out| inner.process(name, batch, out))
        })
    }

    fn on_watermark(&mut self, watermark: i64, out: HostOutput<'_>) -> RResult<(), RString> {
        guard(|| {
            let inner = &mut self.inner;
            with_output(out, &mut self.out, |out| inner.on_watermark(watermark, out))
        })
    }

    fn on_barrier(&mut self, epoch: u64, out: HostOutput<'_>) -> RResult<(), RString> {
        guard(|| {
            let inner = &mut self.inner;
            with_output(out, &mut self.out, |out| inner.on_barrier(epoch, out))
        })
    }

    fn checkpoint(&mut self, epoch: u64) -> RResult<RVec<u8>, RString> {
        guard(|| self.inner.checkpoint(epoch).map(RVec::from))
    }

    fn commit(&mut self, epoch: u64) -> RResult<(), RString> {
        guard(|| self.inner.commit(epoch))
    }

    fn abort(&mut self, epoch: u64) -> RResult<(), RString> {
        guard(|| self.inner.abort(epoch))
    }

    fn state_size(&self) -> StateSize {
        self.inner.state_size()
    }
}

/// A sink, and the streams its batches come in by.
struct SinkAdapter<K> {
    inner: K,
    input: Importers,
}

impl<K: Sink> SinkObject for SinkAdapter<K> {
    fn write(&mut self, input: u32, batch: FfiBatch) -> RResult<(), RString> {
        guard(|| {
            let (name, batch) = self.input.import(input, batch)?;
            self.inner.write(name, batch)
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
                ComponentKind, HostLogger, NodeContextRef, PluginModule, PluginModuleRef, SinkBox,
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
                name: RStr<'_>, options: RStr<'_>, ctx: NodeContextRef,
            ) -> RResult<SourceBox, RString> {
                $(if name.as_str() == <$source>::NAME {
                    return ex::create_source::<$source>(options, ctx);
                })*
                ex::unknown_component(name, "source")
            }

            extern "C" fn create_transform(
                name: RStr<'_>, options: RStr<'_>, ctx: NodeContextRef,
            ) -> RResult<TransformBox, RString> {
                $(if name.as_str() == <$transform>::NAME {
                    return ex::create_transform::<$transform>(options, ctx);
                })*
                ex::unknown_component(name, "transform")
            }

            extern "C" fn create_sink(
                name: RStr<'_>, options: RStr<'_>, ctx: NodeContextRef,
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
