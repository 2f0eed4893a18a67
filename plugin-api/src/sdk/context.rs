//! Where an instance runs, as its constructor sees it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arrow::datatypes::SchemaRef;

use super::ddl::parse_ddl;
use super::state::StateConfig;
use super::{Error, Result};
use crate::abi::NodeContextRef;

/// The flag of contexts made outside a pipeline.
static NEVER_CANCELLED: AtomicBool = AtomicBool::new(false);

/// Where an instance runs: its pipeline and node, a folder for its own files, how it is
/// wired and its event time.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Context {
    /// The pipeline's name.
    pub pipeline: String,
    /// The node id from the pipeline file.
    pub node: String,
    /// A folder this node may keep files in (created on first use by whoever writes).
    pub state_dir: PathBuf,
    /// The node's input names, by input index: the keys of `inputs = { left = "a" }`,
    /// or the references as written in `inputs = ["a", "b.late"]`.
    pub inputs: Vec<String>,
    /// The node's output ports other nodes read.
    pub outputs: Vec<String>,
    /// The event-time column of the node's input (for a source, of its output): its
    /// own `event_time`, or the one its inputs carry.
    pub event_time: Option<String>,
    /// The watermark delay of that event time.
    pub watermark_delay: Duration,
    /// How many checkpoints the host keeps: state they reference must stay restorable.
    pub retain_checkpoints: usize,
    /// Each input's schema where it is known before any data (by input index): check
    /// column-naming options against it in `create`, so `ferry validate` reports them.
    pub input_schemas: Vec<Option<SchemaRef>>,
    cancelled: &'static AtomicBool,
}

impl Context {
    /// A context for a node outside a running pipeline (tests, tools): no inputs, no
    /// event time, two checkpoints kept.
    pub fn new(pipeline: &str, node: &str, state_dir: impl Into<PathBuf>) -> Self {
        Self {
            pipeline: pipeline.to_string(),
            node: node.to_string(),
            state_dir: state_dir.into(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            event_time: None,
            watermark_delay: Duration::ZERO,
            retain_checkpoints: 2,
            input_schemas: Vec::new(),
            cancelled: &NEVER_CANCELLED,
        }
    }

    /// The same context with these input names.
    pub fn with_inputs(mut self, inputs: &[&str]) -> Self {
        self.inputs = inputs.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The same context with these input schemas.
    pub fn with_input_schemas(mut self, schemas: Vec<Option<SchemaRef>>) -> Self {
        self.input_schemas = schemas;
        self
    }

    /// The only input's schema, if the node has one input and it is known.
    pub fn input_schema(&self) -> Option<&SchemaRef> {
        match self.input_schemas.as_slice() {
            [Some(schema)] => Some(schema),
            _ => None,
        }
    }

    /// The only input's schema, for a component that cannot work without it (it plans,
    /// stores or decodes rows by it); an error saying so otherwise.
    pub fn require_input_schema(&self) -> Result<SchemaRef> {
        self.input_schema().cloned().ok_or_else(|| {
            Error::msg("needs its input's schema: read from a source with a declared schema")
        })
    }

    /// Checks that the columns an option names are in the input, when its schema is
    /// known: `ferry validate` then reports a misspelt column before any data flows.
    pub fn check_columns<'a>(
        &self,
        option: &str,
        columns: impl IntoIterator<Item = &'a str>,
    ) -> Result<()> {
        let Some(schema) = self.input_schema() else {
            return Ok(());
        };
        for column in columns {
            if schema.field_with_name(column).is_err() {
                let known: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                return Err(Error::msg(format!(
                    "{option}: no column '{column}' in the input (its columns: {})",
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The same context with this event time.
    pub fn with_event_time(mut self, column: &str, delay: Duration) -> Self {
        self.event_time = Some(column.to_string());
        self.watermark_delay = delay;
        self
    }

    /// Where this node's state tables live, keeping what its retained checkpoints need.
    pub fn state_config(&self) -> StateConfig {
        let mut config = StateConfig::new(self.state_dir.join("state"));
        config.retain = self.retain_checkpoints;
        config
    }

    /// Whether the host is tearing the pipeline down: a long call may return early.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    pub(crate) fn from_abi(ctx: NodeContextRef) -> Self {
        Self {
            pipeline: ctx.pipeline().to_string(),
            node: ctx.node().to_string(),
            state_dir: PathBuf::from(ctx.state_dir().as_str()),
            inputs: ctx.inputs().iter().map(|s| s.to_string()).collect(),
            outputs: ctx.outputs().iter().map(|s| s.to_string()).collect(),
            event_time: ctx.event_time().map(|s| s.to_string()).into_option(),
            watermark_delay: Duration::from_micros(ctx.watermark_delay_us()),
            retain_checkpoints: ctx.retain_checkpoints().max(1) as usize,
            input_schemas: ctx
                .input_schemas()
                .iter()
                .map(|ddl| known_schema(ddl))
                .collect(),
            cancelled: ctx.cancelled(),
        }
    }
}

/// A schema the host sent as DDL; empty means unknown.
fn known_schema(ddl: &str) -> Option<SchemaRef> {
    (!ddl.is_empty())
        .then(|| parse_ddl(ddl).ok())
        .flatten()
        .map(std::sync::Arc::new)
}
