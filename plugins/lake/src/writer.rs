//! One open data file: Parquet, CSV or JSON lines, with the bytes written so far, closed
//! with an fsync so that a prepared epoch survives a crash; and the Arrow IPC segments
//! that keep an open file's rows durable between checkpoints.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use ferry_plugin_api::arrow::array::RecordBatch;
use ferry_plugin_api::arrow::csv;
use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::arrow::json::LineDelimitedWriter;
use ferry_plugin_api::sdk::threads::Workers;
use ferry_plugin_api::sdk::{ascii_char, defaults, Error, ErrorContext, Result};
use parquet::basic::{BrotliLevel, Compression as PqCompression, GzipLevel, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::parquet_file::ParquetFile;
use crate::{Compression, Format, LakeOptions};

/// How files are encoded, from the options.
#[derive(Clone)]
pub enum Encoding {
    Parquet {
        props: Arc<WriterProperties>,
        /// The threads that encode a file's columns.
        workers: Workers,
    },
    Csv {
        header: bool,
        delimiter: u8,
        quote: u8,
    },
    Json,
}

impl Encoding {
    pub fn new(o: &LakeOptions) -> Result<Self> {
        Ok(match o.format {
            Format::Parquet => {
                let compression = match o.compression {
                    Compression::Zstd => {
                        PqCompression::ZSTD(ZstdLevel::try_new(o.compression_level.unwrap_or(1))?)
                    }
                    Compression::Snappy => PqCompression::SNAPPY,
                    Compression::Lz4 => PqCompression::LZ4_RAW,
                    Compression::Gzip => {
                        let level = level(o.compression_level, 6)?;
                        PqCompression::GZIP(GzipLevel::try_new(level)?)
                    }
                    Compression::Brotli => {
                        let level = level(o.compression_level, 1)?;
                        PqCompression::BROTLI(BrotliLevel::try_new(level)?)
                    }
                    Compression::None => PqCompression::UNCOMPRESSED,
                };
                let props = WriterProperties::builder()
                    .set_compression(compression)
                    .set_max_row_group_row_count(Some(o.row_group_rows.max(1)))
                    .set_dictionary_enabled(o.dictionary)
                    .set_statistics_enabled(if o.statistics {
                        EnabledStatistics::Page
                    } else {
                        EnabledStatistics::None
                    })
                    .set_created_by(format!("ferry-lake {}", env!("CARGO_PKG_VERSION")))
                    .build();
                Encoding::Parquet {
                    props: Arc::new(props),
                    workers: Workers::new("encode", defaults::threads(o.encode_threads)),
                }
            }
            Format::Csv => Encoding::Csv {
                header: o.header,
                delimiter: ascii_char("delimiter", o.delimiter)?,
                quote: ascii_char("quote", o.quote)?,
            },
            Format::Json => Encoding::Json,
        })
    }

    /// The threads that encode Parquet files, which also close them side by side; none
    /// for text files, which are closed one after the other.
    pub fn workers(&self) -> Option<&Workers> {
        match self {
            Encoding::Parquet { workers, .. } => Some(workers),
            _ => None,
        }
    }

    pub fn extension(&self) -> &'static str {
        match self {
            Encoding::Parquet { .. } => "parquet",
            Encoding::Csv { .. } => "csv",
            Encoding::Json => "json",
        }
    }
}

/// `compression_level`, or the codec's `default`; a negative level is refused here, a
/// level too high by the codec.
fn level(level: Option<i32>, default: u32) -> Result<u32> {
    let Some(level) = level else {
        return Ok(default);
    };
    u32::try_from(level).map_err(|_| Error::msg(format!("compression_level {level} is negative")))
}

/// Counts the bytes that pass through.
pub struct Counting<W> {
    inner: W,
    bytes: Arc<AtomicU64>,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type Text = Counting<BufWriter<File>>;

#[allow(clippy::large_enum_variant)] // one per open file: a few per sink
pub enum FileWriter {
    Parquet(Box<ParquetFile>),
    Csv(csv::Writer<Text>, Arc<AtomicU64>),
    Json(LineDelimitedWriter<Text>, Arc<AtomicU64>),
}

impl FileWriter {
    /// Creates `path` (its folder must exist) for rows of `schema`.
    pub fn create(encoding: &Encoding, path: &Path, schema: SchemaRef) -> Result<Self> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let bytes = Arc::new(AtomicU64::new(0));
        let text = |file| Counting {
            inner: BufWriter::with_capacity(1 << 20, file),
            bytes: bytes.clone(),
        };
        Ok(match encoding {
            Encoding::Parquet { props, workers } => FileWriter::Parquet(Box::new(
                ParquetFile::new(file, schema, props.as_ref().clone(), workers.clone()),
            )),
            Encoding::Csv {
                header,
                delimiter,
                quote,
            } => FileWriter::Csv(
                csv::WriterBuilder::new()
                    .with_header(*header)
                    .with_delimiter(*delimiter)
                    .with_quote(*quote)
                    .build(text(file)),
                bytes,
            ),
            Encoding::Json => FileWriter::Json(LineDelimitedWriter::new(text(file)), bytes),
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            FileWriter::Parquet(w) => w.write(batch)?,
            FileWriter::Csv(w, _) => w.write(batch)?,
            FileWriter::Json(w, _) => w.write(batch)?,
        }
        Ok(())
    }

    /// Bytes the file holds once closed, about (Parquet: written plus buffered, encoded).
    pub fn bytes(&self) -> u64 {
        match self {
            FileWriter::Parquet(w) => w.bytes(),
            FileWriter::Csv(_, bytes) | FileWriter::Json(_, bytes) => bytes.load(Ordering::Relaxed),
        }
    }

    /// Finishes the file (Parquet footer), flushes and fsyncs it; returns its size.
    pub fn close(self) -> Result<u64> {
        let file = match self {
            FileWriter::Parquet(w) => w.finish()?,
            FileWriter::Csv(w, _) => text_file(w.into_inner())?,
            FileWriter::Json(mut w, _) => {
                w.finish()?;
                text_file(w.into_inner())?
            }
        };
        file.sync_all()?;
        Ok(file.metadata()?.len())
    }
}

fn text_file(w: Text) -> Result<File> {
    w.inner.into_inner().map_err(|e| e.into_error().into())
}

/// The rows one open file received since the last checkpoint, as an Arrow IPC stream in
/// staging. Closed with an fsync at `prepare`, it lets a restart rebuild the open file.
pub struct SegmentWriter {
    writer: StreamWriter<BufWriter<File>>,
    rows: u64,
}

impl SegmentWriter {
    /// Creates `path` (its folder must exist) for rows of `schema`.
    pub fn create(path: &Path, schema: &SchemaRef) -> Result<Self> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let writer = StreamWriter::try_new(BufWriter::with_capacity(1 << 20, file), schema)
            .with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { writer, rows: 0 })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch)?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Ends the stream, flushes and fsyncs it; returns its rows.
    pub fn close(mut self) -> Result<u64> {
        self.writer.finish()?;
        let file = self
            .writer
            .into_inner()?
            .into_inner()
            .map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(self.rows)
    }
}

/// Reads a segment back: its schema and batches, in order.
pub fn read_segment(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader = StreamReader::try_new(BufReader::new(file), None)
        .with_context(|| format!("reading {}", path.display()))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading {}", path.display()))?;
    Ok((schema, batches))
}
