//! `lake`: a sink that writes Parquet, CSV or JSON-lines files into a folder, partitioned
//! Hive-style, and publishes each file exactly once (see [`commit`]).
//!
//! Rows go to one open file per partition (a new one when the batch schema changes or a
//! roll limit is hit). A file stays open across checkpoints until it rolls
//! (`target_file_size`, `max_rows`, `max_file_age`, or the run's last checkpoint), so short
//! checkpoints do not make small files. A Parquet file can only be published once closed,
//! while the checkpoint records the source position past its rows: so each open file's
//! rows of an epoch are also written to an fsynced Arrow IPC segment at `prepare`, listed
//! in the handle, from which a restart rebuilds the open file. See README "Small files".

pub mod commit;
mod dictionary;
mod parquet_file;
pub mod partition;
mod recent;
pub mod writer;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_plugin_api::arrow::array::RecordBatch;
use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::log::debug;
use ferry_plugin_api::sdk::ddl::schema_to_ddl;
use ferry_plugin_api::sdk::duration::HumanDuration;
use ferry_plugin_api::sdk::size::ByteSize;
use ferry_plugin_api::sdk::{Commit, Component, Context, Error, ErrorContext, Result, Sink};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use commit::{EntryInfo, Group, Handle, OpenEntry, Segment, StagedFile, STAGING};
use partition::{escape, file_schema, Partitioner};
use recent::Recent;
use writer::{read_segment, Encoding, FileWriter};

/// How files are encoded.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Parquet,
    Csv,
    /// JSON lines: one object per row.
    Json,
}

/// Parquet compression codec.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    Zstd,
    Snappy,
    /// LZ4 raw (Parquet's LZ4_RAW, which every current reader supports).
    Lz4,
    /// Gzip (Parquet's GZIP), for readers that know no newer codec.
    Gzip,
    /// Brotli: smaller files than zstd at a higher cost to write.
    Brotli,
    None,
}

/// What to do with a batch whose columns differ from the lake's.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SchemaPolicy {
    /// Fail the task, naming both schemas. The lake's schema is the newest manifest
    /// entry's, else the first batch's.
    #[default]
    Fail,
    /// Write it to a new file with its own schema (readers merge schemas by name).
    Evolve,
}

/// Options of the `lake` sink.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LakeOptions {
    /// The lake's folder (created if missing). Files land in `<path>/<col>=<value>/…`;
    /// `_ferry_staging/` and `_ferry_log/` below it are ferry's.
    pub path: PathBuf,
    /// "parquet", "csv" or "json" (JSON lines).
    #[serde(default)]
    pub format: Format,
    /// Columns whose values name Hive-style folders, in order (`date=2024-01-01/`). They
    /// are not repeated inside the files.
    #[serde(default)]
    pub partition_by: Vec<String>,
    /// parquet: "zstd", "snappy", "lz4", "gzip", "brotli" or "none".
    #[serde(default)]
    pub compression: Compression,
    /// parquet: the codec's level: zstd 1 (fast) to 22 (small), gzip 0 to 9, brotli 0 to
    /// 11 (default: zstd 1, gzip 6, brotli 1).
    pub compression_level: Option<i32>,
    /// parquet: most rows per row group.
    #[serde(default = "default_row_group_rows")]
    pub row_group_rows: usize,
    /// parquet: dictionary-encode columns, except those a file's first rows show to have
    /// more than 65,536 distinct values (see dictionary.rs); the rest fall back to plain
    /// when a dictionary grows large.
    #[serde(default = "ferry_plugin_api::sdk::defaults::yes")]
    pub dictionary: bool,
    /// parquet: write min/max/null-count statistics per page and column chunk.
    #[serde(default = "ferry_plugin_api::sdk::defaults::yes")]
    pub statistics: bool,
    /// parquet: threads that encode a file's columns side by side, and close the files
    /// a checkpoint closes side by side (default: half the machine's cores, 1 to 4). The
    /// file is the same whatever the count.
    pub encode_threads: Option<NonZeroUsize>,
    /// csv: write a header line in each file.
    #[serde(default = "ferry_plugin_api::sdk::defaults::yes")]
    pub header: bool,
    /// csv: the field delimiter, one ASCII character.
    #[serde(default = "ferry_plugin_api::sdk::defaults::comma")]
    pub delimiter: char,
    /// csv: the quote character, one ASCII character.
    #[serde(default = "ferry_plugin_api::sdk::defaults::double_quote")]
    pub quote: char,
    /// Close a file and start the next once it holds about this many bytes.
    #[serde(default = "default_target_size")]
    pub target_file_size: ByteSize,
    /// Most rows per file.
    pub max_rows: Option<u64>,
    /// Close a file this long after it was opened, at the next write or checkpoint: the
    /// longest a partition that stopped receiving rows keeps them invisible.
    #[serde(default = "default_file_age")]
    pub max_file_age: HumanDuration,
    /// Rows received since the last checkpoint are held in memory up to this size (Arrow
    /// bytes, all open files together), and written to staging at the checkpoint only
    /// for the files that stay open past it: a file that closes first never writes its
    /// rows twice. Past this size they are written to staging as they arrive.
    #[serde(default = "default_checkpoint_buffer")]
    pub checkpoint_buffer: ByteSize,
    /// Close every open file at every checkpoint (one file per partition per epoch, as
    /// before open files were kept across checkpoints): lowest visibility latency, most files.
    #[serde(default)]
    pub roll_on_every_checkpoint: bool,
    /// "fail" or "evolve": what a batch whose columns differ from the lake's does.
    #[serde(default)]
    pub schema_policy: SchemaPolicy,
}

fn default_row_group_rows() -> usize {
    1 << 20
}
fn default_target_size() -> ByteSize {
    ByteSize(128 << 20)
}
fn default_checkpoint_buffer() -> ByteSize {
    ByteSize(128 << 20)
}
fn default_file_age() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// A file being written, possibly across checkpoints.
struct OpenFile {
    writer: FileWriter,
    path: String,
    schema: SchemaRef,
    rows: u64,
    opened_ms: u64,
    /// Spark DDL of its rows, partition columns included.
    ddl: String,
    /// Its rows up to the last prepare, durable.
    segments: Vec<Segment>,
    /// Its rows since the last prepare, if any.
    recent: Option<Recent>,
}

impl OpenFile {
    /// The file as of the last prepare.
    fn entry(&self) -> OpenEntry {
        OpenEntry {
            path: self.path.clone(),
            opened_ms: self.opened_ms,
            schema: self.ddl.clone(),
            segments: self.segments.clone(),
        }
    }
}

pub struct Lake {
    options: LakeOptions,
    root: PathBuf,
    /// `_ferry_staging/<pipeline>.<node>`, relative to `root`.
    staging: String,
    encoding: Encoding,
    partitioner: Partitioner,
    pipeline: String,
    node: String,
    /// Names this instance's files and manifest entries.
    writer_id: String,
    next_file: u64,
    /// Under `schema_policy = "fail"`: the lake's schema, as DDL.
    lake_schema: Option<String>,
    /// The last batch's schema as DDL, with the Arrow schema it came from.
    last_schema: Option<(SchemaRef, String)>,
    /// Open files by partition folder.
    open: HashMap<String, OpenFile>,
    /// Bytes of rows the open files hold in memory since the last prepare.
    held: usize,
    /// Files closed since the last prepare.
    closed: Vec<StagedFile>,
    /// What the files closed since the last prepare were as of it: their segments are
    /// absorbed once they publish, and `abort` re-opens them from these.
    closed_entries: Vec<OpenEntry>,
    /// Prepared epochs not yet committed.
    pending: Vec<Group>,
    made_dirs: HashSet<PathBuf>,
    /// No write, prepare, commit or abort yet: a commit now is the host's recovery of the
    /// last checkpoint, whose open files this instance takes over.
    fresh: bool,
    /// The host announced the run's last checkpoint: its prepare closes every file.
    finishing: bool,
    /// The last epoch this instance prepared: aborting it (or an earlier one) would need
    /// the open files as they were before it, which only a restart rebuilds.
    last_prepared: Option<u64>,
}

impl Component for Lake {
    const NAME: &'static str = "lake";
    const DESCRIPTION: &'static str =
        "Writes partitioned Parquet, CSV or JSON-lines files that roll by size, rows or age, each published exactly once.";
    type Options = LakeOptions;

    fn create(options: LakeOptions, ctx: &Context) -> Result<Self> {
        ctx.check_columns(
            "partition_by",
            options.partition_by.iter().map(String::as_str),
        )?;
        let encoding = Encoding::new(&options)?;
        let partitioner = Partitioner::new(options.partition_by.clone())?;
        if options.row_group_rows == 0
            || options.max_rows == Some(0)
            || options.target_file_size.0 == 0
        {
            return Err(Error::msg(
                "row_group_rows, max_rows and target_file_size must be at least 1",
            ));
        }
        let root = options.path.clone();
        fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let lake_schema = match options.schema_policy {
            SchemaPolicy::Fail => commit::last_schema(&root)?,
            SchemaPolicy::Evolve => None,
        };
        let staging = format!(
            "{STAGING}/{}",
            escape(&format!("{}.{}", ctx.pipeline, ctx.node))
        );
        Ok(Self {
            options,
            root,
            staging,
            encoding,
            partitioner,
            pipeline: ctx.pipeline.clone(),
            node: ctx.node.clone(),
            writer_id: writer_id(),
            next_file: 0,
            lake_schema,
            last_schema: None,
            open: HashMap::new(),
            held: 0,
            closed: Vec::new(),
            closed_entries: Vec::new(),
            pending: Vec::new(),
            made_dirs: HashSet::new(),
            fresh: true,
            finishing: false,
            last_prepared: None,
        })
    }
}

/// A new segment's name for the open file `path`, numbered by `next`.
fn segment_name(writer_id: &str, next: &mut u64, path: &str) -> String {
    let name = format!("{path}.seg-{writer_id}-{next:05}");
    *next += 1;
    name
}

/// 16 hex digits, different for every start of every process.
fn writer_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let h = RandomState::new().hash_one((nanos, std::process::id()));
    format!("{h:016x}")
}

impl Lake {
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn staged_path(&self, rel: &str) -> PathBuf {
        commit::staged(&self.root, &self.staging, rel)
    }

    /// The batch's schema as DDL, checked against the lake's under `fail`.
    fn check_schema(&mut self, batch: &RecordBatch) -> Result<()> {
        let schema = batch.schema();
        let ddl = match &self.last_schema {
            Some((s, ddl)) if *s == schema => ddl.clone(),
            _ => schema_to_ddl(&file_schema(&schema)),
        };
        if self.options.schema_policy == SchemaPolicy::Fail {
            match &self.lake_schema {
                None => self.lake_schema = Some(ddl.clone()),
                Some(lake) if *lake == ddl => {}
                Some(lake) => {
                    return Err(Error::msg(format!(
                        "{}: a batch's columns differ from the lake's (schema_policy = \"fail\")\n  lake:  {lake}\n  batch: {ddl}",
                        self.root.display()
                    )))
                }
            }
        }
        self.last_schema = Some((schema, ddl));
        Ok(())
    }

    fn make_parent(&mut self, path: &Path) -> Result<()> {
        let parent = path.parent().expect("a file has a folder").to_path_buf();
        if !self.made_dirs.contains(&parent) {
            fs::create_dir_all(&parent)
                .with_context(|| format!("creating {}", parent.display()))?;
            self.made_dirs.insert(parent);
        }
        Ok(())
    }

    fn open_file(&mut self, dir: &str, schema: SchemaRef) -> Result<OpenFile> {
        let name = format!(
            "part-{}-{:05}.{}",
            self.writer_id,
            self.next_file,
            self.encoding.extension()
        );
        self.next_file += 1;
        let path = if dir.is_empty() {
            name
        } else {
            format!("{dir}/{name}")
        };
        let staged = self.staged_path(&path);
        self.make_parent(&staged)?;
        let writer = FileWriter::create(&self.encoding, &staged, schema.clone())?;
        Ok(OpenFile {
            writer,
            path,
            schema,
            rows: 0,
            opened_ms: now_ms(),
            ddl: (self.last_schema.as_ref())
                .map(|(_, d)| d.clone())
                .unwrap_or_default(),
            segments: Vec::new(),
            recent: None,
        })
    }

    /// Re-opens a file from its segments: the data file is written again from their rows
    /// (deterministically the same rows in the same order), and later rows append to it.
    fn reopen(&mut self, entry: OpenEntry) -> Result<()> {
        let staging = self.root.join(&self.staging);
        let staged = self.staged_path(&entry.path);
        self.make_parent(&staged)?;
        let mut file: Option<OpenFile> = None;
        for segment in &entry.segments {
            let (schema, batches) = read_segment(&staging.join(&segment.path))?;
            let f = match &mut file {
                Some(f) => f,
                None => file.insert(OpenFile {
                    writer: FileWriter::create(&self.encoding, &staged, schema.clone())?,
                    path: entry.path.clone(),
                    schema,
                    rows: 0,
                    opened_ms: entry.opened_ms,
                    ddl: entry.schema.clone(),
                    segments: entry.segments.clone(),
                    recent: None,
                }),
            };
            for batch in &batches {
                f.writer
                    .write(batch)
                    .with_context(|| format!("writing {}", staged.display()))?;
                f.rows += batch.num_rows() as u64;
            }
        }
        if let Some(f) = file {
            let dir = Path::new(&f.path)
                .parent()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            debug!("re-opened {} ({} rows)", f.path, f.rows);
            self.open.insert(dir, f);
        }
        Ok(())
    }

    /// Closes a partition's open file into `closed`.
    fn close(&mut self, dir: &str) -> Result<()> {
        self.close_files(&[dir])
    }

    /// Closes the partitions' open files into `closed`, side by side: closing a Parquet
    /// file encodes the row group it still holds, and one file's columns alone seldom
    /// keep every thread busy. Their segments are absorbed by them, and their rows since
    /// the last prepare need no segment (the file itself is fsynced).
    fn close_files(&mut self, dirs: &[&str]) -> Result<()> {
        let mut files = Vec::with_capacity(dirs.len());
        for dir in dirs {
            let Some(mut file) = self.open.remove(*dir) else {
                continue;
            };
            if let Some(recent) = file.recent.take() {
                self.held -= recent.held();
                if let Some(segment) = recent.discard() {
                    let path = self.root.join(&self.staging).join(segment);
                    fs::remove_file(&path)
                        .with_context(|| format!("removing {}", path.display()))?;
                }
            }
            files.push(file);
        }
        let (root, staging) = (&self.root, &self.staging);
        let close = |file: OpenFile| {
            let entry = file.entry();
            let staged = commit::staged(root, staging, &file.path);
            let bytes =
                (file.writer.close()).with_context(|| format!("closing {}", staged.display()));
            (file.path, file.rows, entry, bytes)
        };
        let closed: Vec<_> = match self.encoding.workers() {
            Some(workers) => workers.each(files, close),
            None => files.into_iter().map(close).collect(),
        };
        for (path, rows, entry, bytes) in closed {
            let bytes = bytes?;
            debug!("closed {path} ({rows} rows, {bytes} bytes)");
            self.closed.push(StagedFile { path, rows, bytes });
            if !entry.segments.is_empty() {
                self.closed_entries.push(entry);
            }
        }
        Ok(())
    }

    fn write_part(&mut self, dir: &str, batch: RecordBatch) -> Result<()> {
        let schema = file_schema(&batch.schema());
        if self.open.get(dir).is_some_and(|f| f.schema != schema) {
            self.close(dir)?;
        }
        let batch = batch.with_schema(schema.clone())?;
        let max_rows = self.options.max_rows.unwrap_or(u64::MAX);
        let mut offset = 0;
        while offset < batch.num_rows() {
            if !self.open.contains_key(dir) {
                let file = self.open_file(dir, schema.clone())?;
                self.open.insert(dir.to_string(), file);
            }
            let staging = self.root.join(&self.staging);
            let file = self.open.get_mut(dir).expect("just opened");
            let room = (max_rows - file.rows).min((batch.num_rows() - offset) as u64) as usize;
            let slice = batch.slice(offset, room);
            file.writer
                .write(&slice)
                .with_context(|| format!("writing {}", staging.join(&file.path).display()))?;
            let recent = file.recent.get_or_insert_with(Recent::new);
            self.held += recent.push(slice, &staging)?;
            file.rows += room as u64;
            offset += room;
            if file.rows >= max_rows || file.writer.bytes() >= self.options.target_file_size.0 {
                self.close(dir)?;
            }
        }
        if self.held > self.options.checkpoint_buffer.0 as usize {
            self.spill_held()?;
        }
        Ok(())
    }

    /// Writes every open file's rows held in memory to segments, which take their later
    /// rows too until the next prepare.
    fn spill_held(&mut self) -> Result<()> {
        let staging = self.root.join(&self.staging);
        for file in self.open.values_mut() {
            if let Some(recent) = file.recent.as_mut().filter(|r| r.held() > 0) {
                let name = segment_name(&self.writer_id, &mut self.next_file, &file.path);
                recent.spill(name, &staging, &file.schema)?;
            }
        }
        debug!("spilled {} bytes of rows to segments", self.held);
        self.held = 0;
        Ok(())
    }

    /// Closes the files opened `max_file_age` ago or earlier (every file when `all`).
    fn close_aged(&mut self, all: bool) -> Result<()> {
        let age = self.options.max_file_age.0.as_millis() as u64;
        let now = now_ms();
        let aged: Vec<String> = (self.open.iter())
            .filter(|(_, f)| all || now.saturating_sub(f.opened_ms) >= age)
            .map(|(d, _)| d.clone())
            .collect();
        self.close_files(&aged.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// fsyncs the staging folders of the files closed and the segments written this
    /// epoch, so their names survive a crash along with their contents.
    fn sync_staging(&self, segments: &[String]) -> Result<()> {
        let mut dirs = BTreeSet::new();
        let files =
            (self.closed.iter()).map(|f| commit::staged(&self.root, &self.staging, &f.path));
        let segments = segments
            .iter()
            .map(|s| self.root.join(&self.staging).join(s));
        for path in files.chain(segments) {
            let mut dir = path.parent().map(Path::to_path_buf);
            while let Some(d) = dir {
                if !dirs.insert(d.clone()) || d == self.root {
                    break;
                }
                dir = d.parent().map(Path::to_path_buf);
            }
        }
        dirs.iter().try_for_each(|d| commit::sync_dir(d))
    }
}

impl Sink for Lake {
    fn write(&mut self, _input: &str, batch: RecordBatch) -> Result<()> {
        self.fresh = false;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.check_schema(&batch)?;
        for part in self.partitioner.split(batch)? {
            self.write_part(&part.dir, part.batch)?;
        }
        self.close_aged(false)
    }

    fn prepare(&mut self, epoch: u64) -> Result<Vec<u8>> {
        self.fresh = false;
        let all = std::mem::take(&mut self.finishing) || self.options.roll_on_every_checkpoint;
        self.close_aged(all)?;
        // What stays open keeps this epoch's rows in a new durable segment.
        let staging = self.root.join(&self.staging);
        let mut written = Vec::new();
        for file in self.open.values_mut() {
            if let Some(recent) = file.recent.take() {
                let name = || segment_name(&self.writer_id, &mut self.next_file, &file.path);
                let (path, rows) = recent.seal(name, &staging, &file.schema)?;
                written.push(path.clone());
                file.segments.push(Segment { path, rows });
            }
        }
        self.held = 0;
        self.sync_staging(&written)?;
        if !self.closed.is_empty() {
            let schema = match &self.last_schema {
                Some((_, ddl)) => ddl.clone(),
                None => (self.closed_entries.first())
                    .map(|e| e.schema.clone())
                    .unwrap_or_default(),
            };
            let absorbed = std::mem::take(&mut self.closed_entries)
                .into_iter()
                .flat_map(|e| e.segments)
                .map(|s| s.path)
                .collect();
            self.pending.push(Group {
                epoch,
                writer: self.writer_id.clone(),
                schema,
                files: std::mem::take(&mut self.closed),
                absorbed,
            });
        }
        self.last_prepared = Some(epoch);
        let mut open: Vec<OpenEntry> = self.open.values().map(OpenFile::entry).collect();
        open.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Handle {
            staging: self.staging.clone(),
            groups: self.pending.clone(),
            open,
        }
        .encode())
    }

    fn commit(&mut self, c: &Commit<'_>) -> Result<()> {
        let handle = Handle::decode(c.handle)?;
        let info = EntryInfo {
            pipeline: &self.pipeline,
            node: &self.node,
            format: self.encoding.extension(),
            partition_by: &self.options.partition_by,
            sources: c.sources,
            sources_epoch: c.epoch,
        };
        for group in handle.groups.iter().filter(|g| g.epoch <= c.epoch) {
            commit::publish(&self.root, &handle.staging, group, &info)?;
            debug!(
                "epoch {}: published {} files, {} rows",
                group.epoch,
                group.files.len(),
                group.files.iter().map(|f| f.rows).sum::<u64>()
            );
        }
        self.pending.retain(|g| g.epoch > c.epoch);
        if std::mem::take(&mut self.fresh) {
            // A restart: the checkpoint's open files hold acknowledged rows; take them over.
            for entry in handle.open {
                self.reopen(entry)?;
            }
        }
        Ok(())
    }

    fn abort(&mut self, epoch: u64) -> Result<()> {
        self.fresh = false;
        if let Some(prepared) = self.last_prepared.filter(|p| *p >= epoch) {
            return Err(Error::msg(format!(
                "abort({epoch}) after prepare({prepared}) on the same instance: restart from the checkpoint instead"
            )));
        }
        // Rows written since the last prepare are durable nowhere: go back to each file
        // as of the last prepare (its segments), or drop it if it had none.
        let mut redo = std::mem::take(&mut self.closed_entries);
        let dirty: Vec<String> = (self.open.iter())
            .filter(|(_, f)| f.recent.is_some())
            .map(|(d, _)| d.clone())
            .collect();
        self.held = 0;
        for dir in dirty {
            let file = self.open.remove(&dir).expect("listed");
            if !file.segments.is_empty() {
                redo.push(file.entry());
            }
        }
        self.closed.clear();
        self.made_dirs.clear();
        let staged = |rel: &str| self.staged_path(rel);
        let staging = self.root.join(&self.staging);
        let mut keep: HashSet<PathBuf> = HashSet::new();
        for g in &self.pending {
            keep.extend(g.files.iter().map(|f| staged(&f.path)));
            keep.extend(g.absorbed.iter().map(|s| staging.join(s)));
        }
        for f in self.open.values() {
            keep.insert(staged(&f.path));
            keep.extend(f.segments.iter().map(|s| staging.join(&s.path)));
        }
        keep.extend((redo.iter()).flat_map(|e| e.segments.iter().map(|s| staging.join(&s.path))));
        commit::remove_except(&staging, &keep)?;
        for entry in redo {
            self.reopen(entry)?;
        }
        Ok(())
    }

    fn finishing(&mut self, _epoch: u64) -> Result<()> {
        self.finishing = true;
        Ok(())
    }
}

export_plugin! {
    sources: [],
    transforms: [],
    sinks: [Lake],
}
