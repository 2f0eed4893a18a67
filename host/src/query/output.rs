//! A query's result on stdout: an aligned table, CSV or JSON lines.

use std::io::{BufWriter, Write};

use anyhow::Result;
use arrow::array::RecordBatch;
use arrow::util::pretty::pretty_format_batches_with_schema;
use datafusion::prelude::DataFrame;
use futures::StreamExt;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns with a header (the whole result is held to size the columns).
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row (nulls are left out).
    Json,
}

pub async fn print(frame: DataFrame, format: Format) -> Result<()> {
    let out = BufWriter::new(std::io::stdout().lock());
    match format {
        Format::Table => table(frame, out).await,
        Format::Csv => stream(frame, arrow::csv::Writer::new(out)).await,
        Format::Json => stream(frame, arrow::json::LineDelimitedWriter::new(out)).await,
    }
}

async fn table(frame: DataFrame, mut out: impl Write) -> Result<()> {
    let schema = frame.schema().inner().clone();
    let batches = frame.collect().await?;
    let text = pretty_format_batches_with_schema(schema, &batches)?;
    writeln!(out, "{text}")?;
    Ok(out.flush()?)
}

/// The writers csv and json share: one batch at a time, so a result of any size streams.
trait BatchWriter {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()>;
    fn finish(self) -> Result<()>;
}

impl<W: Write> BatchWriter for arrow::csv::Writer<W> {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.write(batch)?)
    }
    fn finish(self) -> Result<()> {
        Ok(self.into_inner().flush()?)
    }
}

impl<W: Write> BatchWriter for arrow::json::LineDelimitedWriter<W> {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.write(batch)?)
    }
    fn finish(mut self) -> Result<()> {
        arrow::json::LineDelimitedWriter::finish(&mut self)?;
        Ok(self.into_inner().flush()?)
    }
}

async fn stream(frame: DataFrame, mut writer: impl BatchWriter) -> Result<()> {
    let mut batches = frame.execute_stream().await?;
    // An empty result still gets its CSV header.
    writer.write_batch(&RecordBatch::new_empty(batches.schema()))?;
    while let Some(batch) = batches.next().await {
        writer.write_batch(&batch?)?;
    }
    writer.finish()
}
