//! Safe handles on component instances living in a plugin library. Every call returns
//! the plugin's error (or caught panic) as an error; batches cross by the C Data
//! Interface, so nothing allocated on one side is freed on the other. Each input and
//! each output port of an instance is a stream with its own exporter or importer, so
//! the schema crosses only when it changes.

use std::time::Duration;

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::sabi_types::RMut;
use abi_stable::std_types::{RResult, RString, RVec};
use anyhow::{anyhow, Result};
use arrow::array::RecordBatch;
use ferry_plugin_api::abi::{
    BatchExporter, BatchImporter, FfiBatch, HostOutput, OutputObject_TO, RejectPolicy,
    RestoredWatermarks, SinkBox, SourceBox, SourceStatus, StateSize, TransformBox,
};

use super::output::{CallOutput, Emitted};
use super::Ports;

/// The result of polling a source.
#[derive(Debug)]
pub struct Polled {
    pub status: SourceStatus,
    pub emitted: Emitted,
}

fn ok<T>(r: RResult<T, RString>) -> Result<T> {
    r.into_result().map_err(|e| anyhow!("{e}"))
}

fn ports(declared: RVec<RString>) -> Result<Ports> {
    Ports::new(declared.into_iter().map(RString::into_string).collect())
}

/// What a producing instance keeps for its calls: its ports and their streams.
struct Producer {
    ports: Ports,
    streams: Vec<BatchImporter>,
    tolerate_rejects: bool,
}

impl Producer {
    fn new(
        declared: RVec<RString>,
        policy: RejectPolicy,
        pipeline_tolerates: bool,
    ) -> Result<Self> {
        Ok(Self {
            ports: ports(declared)?,
            streams: Vec::new(),
            tolerate_rejects: tolerates(policy, pipeline_tolerates),
        })
    }

    /// Makes a call with an output handle; a record refused under tolerance `none`
    /// becomes the call's error, typed so the runtime does not restart for it.
    fn call<T>(
        &mut self,
        f: impl FnOnce(HostOutput<'_>) -> RResult<T, RString>,
    ) -> Result<(T, Emitted)> {
        let mut out = CallOutput::new(&self.ports, &mut self.streams, self.tolerate_rejects);
        let result = f(OutputObject_TO::from_ptr(RMut::new(&mut out), TD_Opaque));
        match (result.into_result(), out.refused) {
            (_, Some(refused)) => Err(refused.into()),
            (Ok(value), None) => Ok((value, out.emitted)),
            (Err(e), None) => Err(anyhow!("{e}")),
        }
    }
}

fn export(batch: RecordBatch, exporter: &mut BatchExporter) -> Result<FfiBatch> {
    exporter
        .export(batch)
        .map_err(|e| anyhow!("exporting a batch to the plugin: {e}"))
}

/// One exporter per input.
fn exporters(inputs: usize) -> Vec<BatchExporter> {
    (0..inputs).map(|_| BatchExporter::default()).collect()
}

fn export_to(
    exporters: &mut [BatchExporter],
    input: usize,
    batch: RecordBatch,
) -> Result<FfiBatch> {
    let exporter = exporters
        .get_mut(input)
        .ok_or_else(|| anyhow!("no input {input}"))?;
    export(batch, exporter)
}

pub struct SourceInstance {
    obj: SourceBox,
    producer: Producer,
}

/// Whether rejected records become dead-letter rows: the instance's own policy, else
/// the pipeline's tolerance.
fn tolerates(policy: RejectPolicy, pipeline_tolerates: bool) -> bool {
    match policy {
        RejectPolicy::Pipeline => pipeline_tolerates,
        RejectPolicy::Fail => false,
        RejectPolicy::DeadLetter => true,
    }
}

impl SourceInstance {
    pub(super) fn new(obj: SourceBox, pipeline_tolerates: bool) -> Result<Self> {
        let producer = Producer::new(obj.output_ports(), obj.reject_policy(), pipeline_tolerates)?;
        Ok(Self { obj, producer })
    }

    pub fn restore(&mut self, epoch: u64, state: &[u8], w: RestoredWatermarks) -> Result<()> {
        ok(self.obj.restore(epoch, state.into(), w))
    }

    /// Whether it sets its own watermark instead of the host deriving one from its rows.
    pub fn supplies_watermarks(&self) -> bool {
        self.obj.supplies_watermarks()
    }

    pub fn poll(&mut self, max_rows: usize, timeout: Duration) -> Result<Polled> {
        let obj = &mut self.obj;
        let timeout = timeout.as_millis() as u64;
        let (status, emitted) = self
            .producer
            .call(|out| obj.poll(max_rows as u64, timeout, out))?;
        Ok(Polled { status, emitted })
    }

    pub fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        ok(self.obj.checkpoint(epoch)).map(|v| v.into_vec())
    }

    pub fn commit(&mut self, epoch: u64) -> Result<()> {
        ok(self.obj.commit(epoch))
    }
}

pub struct TransformInstance {
    obj: TransformBox,
    inputs: Vec<BatchExporter>,
    producer: Producer,
}

impl TransformInstance {
    pub(super) fn new(obj: TransformBox, inputs: usize, pipeline_tolerates: bool) -> Result<Self> {
        let producer = Producer::new(obj.output_ports(), obj.reject_policy(), pipeline_tolerates)?;
        let inputs = exporters(inputs);
        Ok(Self {
            obj,
            inputs,
            producer,
        })
    }

    pub fn restore(&mut self, epoch: u64, state: &[u8], w: RestoredWatermarks) -> Result<()> {
        ok(self.obj.restore(epoch, state.into(), w))
    }

    pub fn process(&mut self, input: usize, batch: RecordBatch) -> Result<Emitted> {
        let batch = export_to(&mut self.inputs, input, batch)?;
        let obj = &mut self.obj;
        let call = self
            .producer
            .call(|out| obj.process(input as u32, batch, out));
        call.map(|(_, emitted)| emitted)
    }

    pub fn on_watermark(&mut self, watermark: i64) -> Result<Emitted> {
        let obj = &mut self.obj;
        let call = self.producer.call(|out| obj.on_watermark(watermark, out));
        call.map(|(_, emitted)| emitted)
    }

    pub fn on_barrier(&mut self, epoch: u64) -> Result<Emitted> {
        let obj = &mut self.obj;
        let call = self.producer.call(|out| obj.on_barrier(epoch, out));
        call.map(|(_, emitted)| emitted)
    }

    pub fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        ok(self.obj.checkpoint(epoch)).map(|v| v.into_vec())
    }

    pub fn commit(&mut self, epoch: u64) -> Result<()> {
        ok(self.obj.commit(epoch))
    }

    pub fn abort(&mut self, epoch: u64) -> Result<()> {
        ok(self.obj.abort(epoch))
    }

    pub fn state_size(&self) -> StateSize {
        self.obj.state_size()
    }
}

pub struct SinkInstance {
    obj: SinkBox,
    inputs: Vec<BatchExporter>,
}

impl SinkInstance {
    pub(super) fn new(obj: SinkBox, inputs: usize) -> Self {
        Self {
            obj,
            inputs: exporters(inputs),
        }
    }

    pub fn write(&mut self, input: usize, batch: RecordBatch) -> Result<()> {
        let batch = export_to(&mut self.inputs, input, batch)?;
        ok(self.obj.write(input as u32, batch))
    }

    pub fn prepare(&mut self, epoch: u64) -> Result<Vec<u8>> {
        ok(self.obj.prepare(epoch)).map(|v| v.into_vec())
    }

    pub fn commit(&mut self, epoch: u64, handle: &[u8], sources_json: &str) -> Result<()> {
        ok(self.obj.commit(epoch, handle.into(), sources_json.into()))
    }

    pub fn abort(&mut self, epoch: u64) -> Result<()> {
        ok(self.obj.abort(epoch))
    }

    pub fn finishing(&mut self, epoch: u64) -> Result<()> {
        ok(self.obj.finishing(epoch))
    }
}

/// An instance of any kind.
pub enum Instance {
    Source(SourceInstance),
    Transform(TransformInstance),
    Sink(SinkInstance),
}

impl Instance {
    /// The schema of a port's rows as Spark DDL, if known before any data.
    pub fn output_schema(&self, port: &str) -> Option<String> {
        let ddl = match self {
            Instance::Source(s) => s.obj.output_schema(port.into()),
            Instance::Transform(t) => t.obj.output_schema(port.into()),
            Instance::Sink(_) => return None,
        };
        (!ddl.is_empty()).then(|| ddl.into_string())
    }

    /// Whether its rejected records go to its `dead_letter` port.
    pub fn tolerates_rejects(&self) -> bool {
        match self {
            Instance::Source(s) => s.producer.tolerate_rejects,
            Instance::Transform(t) => t.producer.tolerate_rejects,
            Instance::Sink(_) => false,
        }
    }

    /// Its output ports (none for a sink).
    pub fn ports(&self) -> Ports {
        match self {
            Instance::Source(s) => s.producer.ports.clone(),
            Instance::Transform(t) => t.producer.ports.clone(),
            Instance::Sink(_) => Ports::none(),
        }
    }
}
