//! One Parquet file being written, its columns encoded side by side. Encoding (the
//! dictionary, the pages, their compression) is most of a lake sink's work, and arrow-rs
//! encodes one column at a time on the calling thread, so one sink would cap a pipeline
//! at one core's encoding speed. Each column of a row group has a writer of its own; a
//! batch's leaf columns go to their writers on several threads, and the closed chunks
//! are appended to the file in schema order: the file is the one `ArrowWriter` writes.
//! The first rows wait until there are enough to choose the columns' dictionaries by
//! (dictionary.rs).

use std::fs::File;
use std::io::Write;

use ferry_plugin_api::arrow::array::RecordBatch;
use ferry_plugin_api::arrow::compute::concat_batches;
use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::sdk::threads::Workers;
use ferry_plugin_api::sdk::Result;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnWriter, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

use crate::dictionary::{self, without_needless_dictionaries};

/// Batches with fewer rows than this are encoded on the calling thread: handing columns
/// to other threads (waking them) would cost more than it saves.
const MIN_PARALLEL_ROWS: usize = 1024;

/// Rows held before the file starts: the columns' dictionaries are judged by them.
const FIRST_ROWS: usize = dictionary::SAMPLE_ROWS;

pub struct ParquetFile {
    schema: SchemaRef,
    workers: Workers,
    state: State,
}

enum State {
    /// The first rows, held until there are [`FIRST_ROWS`] (or the file closes).
    First {
        file: File,
        props: Box<WriterProperties>,
        batches: Vec<RecordBatch>,
        rows: usize,
    },
    Writing(Box<Writing>),
}

/// The file started: its header written, its row groups encoded.
struct Writing {
    file: SerializedFileWriter<File>,
    columns: ArrowRowGroupWriterFactory,
    row_group_rows: usize,
    open: Option<RowGroup>,
}

/// The row group being encoded: a writer per leaf column, in schema order.
struct RowGroup {
    writers: Vec<ArrowColumnWriter>,
    rows: usize,
}

impl ParquetFile {
    /// A file on `file` for rows of `schema`, its columns encoded by `workers`.
    pub fn new(file: File, schema: SchemaRef, props: WriterProperties, workers: Workers) -> Self {
        let state = State::First {
            file,
            props: Box::new(props),
            batches: Vec::new(),
            rows: 0,
        };
        Self {
            schema,
            workers,
            state,
        }
    }

    /// Encodes `batch`, closing row groups as they reach `max_row_group_row_count`.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match &mut self.state {
            State::Writing(w) => w.write(&self.schema, batch, &self.workers),
            State::First { batches, rows, .. } => {
                batches.push(batch.clone());
                *rows += batch.num_rows();
                if *rows >= FIRST_ROWS {
                    self.start()?;
                }
                Ok(())
            }
        }
    }

    /// Starts the file: judges the columns' dictionaries by the first rows, writes the
    /// header, and encodes the first rows.
    fn start(&mut self) -> Result<&mut Writing> {
        if let State::First {
            file,
            props,
            batches,
            ..
        } = &mut self.state
        {
            let first = concat_batches(&self.schema, batches.iter())?;
            let props = without_needless_dictionaries(props.as_ref().clone(), &first)?;
            let mut writing = Writing::new(file.try_clone()?, &self.schema, props)?;
            writing.write(&self.schema, &first, &self.workers)?;
            self.state = State::Writing(Box::new(writing));
        }
        match &mut self.state {
            State::Writing(w) => Ok(w),
            State::First { .. } => unreachable!("started above"),
        }
    }

    /// Bytes the file holds once closed, about: written, plus the open row group encoded
    /// (the first rows: their Arrow size).
    pub fn bytes(&self) -> u64 {
        match &self.state {
            State::Writing(w) => w.bytes(),
            State::First { batches, .. } => {
                (batches.iter().map(RecordBatch::get_array_memory_size)).sum::<usize>() as u64
            }
        }
    }

    /// Closes the open row group, writes the footer and flushes; returns the file.
    pub fn finish(mut self) -> Result<File> {
        let workers = self.workers.clone();
        let w = self.start()?;
        w.close_row_group(&workers)?;
        w.file.finish()?;
        let file = w.file.inner_mut();
        file.flush()?;
        Ok(file.try_clone()?)
    }
}

impl Writing {
    fn new(file: File, schema: &SchemaRef, props: WriterProperties) -> Result<Self> {
        let row_group_rows = props.max_row_group_row_count().unwrap_or(usize::MAX);
        // ArrowWriter writes the header and the Arrow schema readers use, then hands over.
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        let (file, columns) = writer.into_serialized_writer()?;
        Ok(Self {
            file,
            columns,
            row_group_rows,
            open: None,
        })
    }

    fn write(&mut self, schema: &SchemaRef, batch: &RecordBatch, workers: &Workers) -> Result<()> {
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            let group = match &mut self.open {
                Some(group) => group,
                open => open.insert(RowGroup {
                    writers: self
                        .columns
                        .create_column_writers(self.file.flushed_row_groups().len())?,
                    rows: 0,
                }),
            };
            let take = rest.num_rows().min(self.row_group_rows - group.rows);
            group.write(schema, &rest.slice(0, take), workers)?;
            rest = rest.slice(take, rest.num_rows() - take);
            if group.rows >= self.row_group_rows {
                self.close_row_group(workers)?;
            }
        }
        Ok(())
    }

    fn bytes(&self) -> u64 {
        let open = self.open.as_ref().map_or(0, |group| {
            group
                .writers
                .iter()
                .map(ArrowColumnWriter::get_estimated_total_bytes)
                .sum()
        });
        (self.file.bytes_written() + open) as u64
    }

    /// Closes the open row group's writers (side by side: a dictionary column's pages are
    /// written out only now) and appends their chunks to the file.
    fn close_row_group(&mut self, workers: &Workers) -> Result<()> {
        let Some(group) = self.open.take() else {
            return Ok(());
        };
        let (rows, writers) = (group.rows, group.writers);
        let chunks = each(workers, rows, writers, ArrowColumnWriter::close);
        let mut row_group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk?.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        Ok(())
    }
}

impl RowGroup {
    fn write(&mut self, schema: &SchemaRef, batch: &RecordBatch, workers: &Workers) -> Result<()> {
        let mut leaves = Vec::with_capacity(self.writers.len());
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            leaves.extend(compute_leaves(field, column)?);
        }
        let work: Vec<_> = self.writers.iter_mut().zip(leaves).collect();
        for written in each(workers, batch.num_rows(), work, |(w, leaf)| w.write(&leaf)) {
            written?;
        }
        self.rows += batch.num_rows();
        Ok(())
    }
}

/// `work` on each of `items` by `workers`, or on the calling thread for few `rows`.
fn each<T: Send, R: Send>(
    workers: &Workers,
    rows: usize,
    items: Vec<T>,
    work: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    if rows < MIN_PARALLEL_ROWS {
        return items.into_iter().map(work).collect();
    }
    workers.each(items, work)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferry_plugin_api::arrow::array::{ArrayRef, Int64Array, StringArray, StructArray};
    use ferry_plugin_api::arrow::compute::concat_batches;
    use ferry_plugin_api::arrow::datatypes::{DataType, Field, Fields, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    /// `rows` rows: a number, a text with few distinct values (a dictionary), and a
    /// struct of two leaves, some of them null.
    fn batch(rows: usize) -> RecordBatch {
        let n = Int64Array::from_iter((0..rows as i64).map(|i| (i % 7 != 0).then_some(i)));
        let text = StringArray::from_iter_values((0..rows).map(|i| format!("t{}", i % 13)));
        let inner = Fields::from(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Utf8, true),
        ]);
        let nested = StructArray::new(
            inner.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values((0..rows as i64).map(|i| -i))),
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| i.to_string()),
                )),
            ],
            None,
        );
        let schema = Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("text", DataType::Utf8, false),
            Field::new("nested", DataType::Struct(inner), true),
        ]);
        let columns: Vec<ArrayRef> = vec![Arc::new(n), Arc::new(text), Arc::new(nested)];
        RecordBatch::try_new(Arc::new(schema), columns).unwrap()
    }

    #[test]
    fn columns_encoded_on_threads_read_back_as_written_in_row_groups_of_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.parquet");
        let written = [batch(3000), batch(500), batch(4000)];
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(2500))
            .build();
        let schema = written[0].schema();
        let workers = Workers::new("encode", 3);
        let file = File::create(&path).unwrap();
        let mut file = ParquetFile::new(file, schema.clone(), props, workers);
        for b in &written {
            file.write(b).unwrap();
        }
        assert!(file.bytes() > 0);
        file.finish().unwrap().sync_all().unwrap();

        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        let groups: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, [2500, 2500, 2500]);
        assert_eq!(reader.schema(), &schema);
        let read: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
        let read = concat_batches(&schema, &read).unwrap();
        assert_eq!(read, concat_batches(&schema, &written).unwrap());
    }

    /// Whether each column chunk of the file's first row group has a dictionary page.
    fn dictionaries(first: &RecordBatch, props: WriterProperties) -> Vec<(String, bool)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.parquet");
        let workers = Workers::new("encode", 2);
        let file = File::create(&path).unwrap();
        let mut file = ParquetFile::new(file, first.schema(), props, workers);
        file.write(first).unwrap();
        file.finish().unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        let group = &reader.metadata().row_groups()[0];
        (group.columns().iter())
            .map(|c| {
                (
                    c.column_path().string(),
                    c.dictionary_page_offset().is_some(),
                )
            })
            .collect()
    }

    #[test]
    fn mostly_distinct_columns_are_written_without_a_dictionary() {
        let rows = |n: usize| {
            let unique = StringArray::from_iter_values((0..n).map(|i| format!("id-{i}")));
            let few = StringArray::from_iter_values((0..n).map(|i| format!("t{}", i % 13)));
            let schema = Schema::new(vec![
                Field::new("unique", DataType::Utf8, false),
                Field::new("few", DataType::Utf8, false),
            ]);
            let columns: Vec<ArrayRef> = vec![Arc::new(unique), Arc::new(few)];
            RecordBatch::try_new(Arc::new(schema), columns).unwrap()
        };
        let on = |v: bool| vec![("unique".to_owned(), v), ("few".to_owned(), true)];
        assert_eq!(
            dictionaries(&rows(5000), WriterProperties::new()),
            on(false)
        );
        // Too few first rows to tell: the default.
        assert_eq!(dictionaries(&rows(100), WriterProperties::new()), on(true));
        let off = WriterProperties::builder()
            .set_dictionary_enabled(false)
            .build();
        assert_eq!(
            dictionaries(&rows(5000), off),
            [("unique".to_owned(), false), ("few".to_owned(), false)]
        );
    }
}
