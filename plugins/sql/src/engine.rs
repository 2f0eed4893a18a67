//! The query, planned once by DataFusion and executed on each batch.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::{collect, ExecutionPlan};
use datafusion::prelude::{SessionConfig, SessionContext};
use ferry_plugin_api::sdk::rows::row_as_json;
use ferry_plugin_api::sdk::{Error, Output, Result};
use tokio::runtime::Runtime;

use crate::input::{self, Slot};
use crate::spark;
use crate::tables::Tables;

/// The name the query reads the stream by.
pub const INPUT: &str = "input";

pub struct Engine {
    rt: Runtime,
    ctx: SessionContext,
    task: Arc<TaskContext>,
    query: String,
    slot: Arc<Slot>,
    input: SchemaRef,
    plan: Arc<dyn ExecutionPlan>,
    /// Whether the stream feeds a side that a join collects once per plan (the build
    /// side): then the plan's state is reset for every batch.
    reset_per_batch: bool,
}

/// DataFusion's errors, as `ferry validate` shows them.
fn df(e: impl std::fmt::Display) -> Error {
    Error::msg(e.to_string())
}

impl Engine {
    pub fn new(query: &str, input: SchemaRef, tables: &Tables) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(df)?;
        let config = SessionConfig::new()
            .with_target_partitions(1)
            .set_bool("datafusion.sql_parser.enable_ident_normalization", false)
            .set_str("datafusion.sql_parser.dialect", "bigquery");
        let mut ctx = SessionContext::new_with_config(config);
        spark::register(&mut ctx).map_err(df)?;
        let slot = Arc::new(Slot::default());
        let table = input::table(input.clone(), slot.clone()).map_err(df)?;
        ctx.register_table(INPUT, Arc::new(table)).map_err(df)?;
        rt.block_on(tables.register(&ctx))?;
        let (plan, reset_per_batch) = rt.block_on(plan(&ctx, query))?;
        Ok(Self {
            task: ctx.task_ctx(),
            rt,
            ctx,
            query: query.to_string(),
            slot,
            input,
            plan,
            reset_per_batch,
        })
    }

    pub fn schema(&self) -> SchemaRef {
        self.plan.schema()
    }

    /// The query's rows for `batch`.
    pub fn run(&self, batch: &RecordBatch) -> Result<Vec<RecordBatch>> {
        // The declared schema, whatever field metadata the batch carries.
        let batch = RecordBatch::try_new(self.input.clone(), batch.columns().to_vec())?;
        self.slot.put(batch);
        let plan = match self.reset_per_batch {
            true => datafusion::physical_plan::execution_plan::reset_plan_states(self.plan.clone())
                .map_err(df)?,
            false => self.plan.clone(),
        };
        self.rt
            .block_on(collect(plan, self.task.clone()))
            .map_err(df)
    }

    /// Runs the query on `batch` and hands `handle` the input rows with the query's rows
    /// for them. If the query fails on the batch, each half is run on its own, down to
    /// the single rows it fails on: those are rejected with the error (under
    /// `errors.tolerance = "none"` the first fails the task); the rest go on, in order.
    pub fn run_or_reject(
        &self,
        batch: &RecordBatch,
        out: &mut Output<'_>,
        handle: &mut impl FnMut(&RecordBatch, Vec<RecordBatch>, &mut Output<'_>) -> Result<()>,
    ) -> Result<()> {
        match self.run(batch) {
            Ok(rows) => handle(batch, rows, out),
            Err(e) if batch.num_rows() == 1 => {
                out.reject(row_as_json(batch, 0)?, format!("sql: {e}"), "")
            }
            Err(_) => {
                let half = batch.num_rows() / 2;
                self.run_or_reject(&batch.slice(0, half), out, handle)?;
                self.run_or_reject(&batch.slice(half, batch.num_rows() - half), out, handle)
            }
        }
    }

    /// Re-reads the lookup tables and plans the query again, after a table changed.
    pub fn replan(&mut self, tables: &Tables) -> Result<()> {
        self.rt.block_on(tables.register(&self.ctx))?;
        (self.plan, self.reset_per_batch) = self.rt.block_on(plan(&self.ctx, &self.query))?;
        Ok(())
    }
}

async fn plan(ctx: &SessionContext, query: &str) -> Result<(Arc<dyn ExecutionPlan>, bool)> {
    let frame = ctx.sql(query).await.map_err(df)?;
    refuse_stateful(frame.logical_plan())?;
    let plan = frame.create_physical_plan().await.map_err(df)?;
    let reset = stream_on_build_side(&plan);
    Ok((plan, reset))
}

/// Refuses what would need state across batches: each batch is queried on its own.
fn refuse_stateful(plan: &LogicalPlan) -> Result<()> {
    let mut found = None;
    plan.apply_with_subqueries(|node| {
        found = match node {
            LogicalPlan::Aggregate(_) => Some("GROUP BY or an aggregate function"),
            LogicalPlan::Distinct(_) => Some("DISTINCT"),
            LogicalPlan::Sort(_) => Some("ORDER BY"),
            LogicalPlan::Limit(_) => Some("LIMIT"),
            LogicalPlan::Window(_) => Some("a window function (OVER)"),
            LogicalPlan::Join(join) if reads_input(&join.left) && reads_input(&join.right) => {
                Some("a join of the stream with itself")
            }
            _ => None,
        };
        Ok(match found {
            Some(_) => TreeNodeRecursion::Stop,
            None => TreeNodeRecursion::Continue,
        })
    })
    .map_err(df)?;
    match found {
        Some(what) => Err(Error::msg(format!(
            "query: {what} over a stream needs state across batches, which the sql \
             transform does not keep: aggregate with the window plugin (kind = \"global\" \
             for a running aggregation, tumbling/sliding/session windows over event time), \
             deduplicate with the dedup plugin"
        ))),
        None => Ok(()),
    }
}

fn reads_input(plan: &LogicalPlan) -> bool {
    let mut reads = false;
    let _ = plan.apply(|node| {
        reads |= matches!(node, LogicalPlan::TableScan(scan) if scan.table_name.table() == INPUT);
        Ok(TreeNodeRecursion::Continue)
    });
    reads
}

/// Whether the stream reaches the first child (the side a join collects and keeps) of
/// any node with several children.
fn stream_on_build_side(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let children = plan.children();
    let here = children.len() > 1 && reads_stream(children[0]);
    here || children.into_iter().any(stream_on_build_side)
}

fn reads_stream(plan: &Arc<dyn ExecutionPlan>) -> bool {
    plan.name() == "StreamingTableExec" || plan.children().into_iter().any(reads_stream)
}
