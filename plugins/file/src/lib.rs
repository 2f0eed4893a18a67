//! `file`: a source that reads JSON, CSV or Parquet files from a folder or a glob as
//! they arrive, like Spark's file source. Every file is read exactly once across
//! restarts, and can be archived or deleted once the epoch that finished it commits.

mod charset;
mod clean;
mod columnar;
mod convert;
mod corrupt;
mod listing;
mod reader;
mod split;
mod stable;
mod state;
mod unreadable;

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::log::{debug, info};
use ferry_plugin_api::sdk::datetime::DateTimePattern;
use ferry_plugin_api::sdk::ddl::DdlSchema;
use ferry_plugin_api::sdk::decode::{
    spark_delimiter, CsvOptions, DateTimeFormats, EncodingErrors, JsonOptions, Locale,
    TimestampUnit, UnescapedQuoteHandling,
};
use ferry_plugin_api::sdk::defaults;
use ferry_plugin_api::sdk::duration::HumanDuration;
use ferry_plugin_api::sdk::size::ByteSize;
use ferry_plugin_api::sdk::threads::Workers;
use ferry_plugin_api::sdk::{
    Component, Context, Error, Output, RejectPolicy, Restored, Result, Source, SourceStatus,
    MAIN_PORT,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use charset::Charset;
use clean::Cleaner;
use corrupt::CorruptColumn;
use listing::{Limits, Listed, Listing};
use reader::{with_path_field, FileReader, Format, TextFormat};
use stable::{changed_reason, Snapshot};
use state::State;
use unreadable::{reject_file, GaveUp, OnFailure};

/// How the files are encoded.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// JSON lines, or a file holding one JSON array of objects (a row per element).
    Json,
    /// Comma-separated (or `delimiter`) lines, columns matched to the schema by position.
    Csv,
    /// Parquet files, read row group by row group.
    Parquet,
}

/// What happens to a file after it has been read and its epoch committed.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CleanSource {
    /// Leave it.
    #[default]
    Off,
    /// Move it under `archive_dir`.
    Archive,
    /// Delete it.
    Delete,
}

/// Options of the `file` source.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileOptions {
    /// A folder (read recursively) or a glob such as "data/*.json". Names starting with
    /// "." or "_" are in-progress files and skipped.
    pub path: String,
    /// "json", "csv" or "parquet".
    pub format: FileFormat,
    /// Spark DDL schema of the rows, e.g. "id BIGINT, name STRING". Required for json and
    /// csv; for parquet it selects and casts columns (default: the file's own schema).
    pub schema: Option<DdlSchema>,
    /// csv: the first line of each file is a header, not data.
    #[serde(default = "ferry_plugin_api::sdk::defaults::yes")]
    pub header: bool,
    /// csv: what separates fields, any text: ",", ";", "\t", ", ", "þ"; Spark's escapes
    /// written out (`\t`, `\\`) are read as Spark reads them. Spark's `sep`.
    #[serde(default = "default_delimiter", alias = "sep")]
    pub delimiter: String,
    /// csv: the quote character; it quotes a field only as the field's first character.
    #[serde(default = "ferry_plugin_api::sdk::defaults::double_quote")]
    pub quote: char,
    /// csv: inside quotes, makes the quote (or itself) after it text: `\"` is `"`.
    /// Spark's default is the backslash; the quote itself gives RFC 4180's doubling.
    #[serde(default = "default_escape")]
    pub escape: char,
    /// csv: lines starting with this character are skipped (before the header too).
    pub comment: Option<char>,
    /// csv: a field that reads as this text is null, quoted or not; an empty unquoted
    /// field reads as it. Spark's nullValue.
    #[serde(default, alias = "nullValue")]
    pub null_value: String,
    /// csv: what a quoted empty field ("") reads as; with the default null_value, ""
    /// makes it null, as in Spark. Spark's emptyValue.
    #[serde(default, alias = "emptyValue")]
    pub empty_value: String,
    /// csv: this text is NaN in FLOAT and DOUBLE columns. Spark's nanValue.
    #[serde(default = "default_nan_value", alias = "nanValue")]
    pub nan_value: String,
    /// csv: this text is +infinity in FLOAT and DOUBLE columns. Spark's positiveInf.
    #[serde(default = "default_positive_inf", alias = "positiveInf")]
    pub positive_inf: String,
    /// csv: this text is -infinity in FLOAT and DOUBLE columns. Spark's negativeInf.
    #[serde(default = "default_negative_inf", alias = "negativeInf")]
    pub negative_inf: String,
    /// csv: whitespace before a field (and before its opening quote) is dropped.
    #[serde(default, alias = "ignoreLeadingWhiteSpace")]
    pub ignore_leading_white_space: bool,
    /// csv: whitespace after an unquoted field is dropped (after a closing quote it always
    /// is).
    #[serde(default, alias = "ignoreTrailingWhiteSpace")]
    pub ignore_trailing_white_space: bool,
    /// csv: how DECIMAL columns write digit grouping and the decimal point, as a
    /// language tag: "en-US" (the default: `80,000.65`), "de-DE" (`80.000,65`) …
    #[serde(default = "default_locale")]
    pub locale: String,
    /// csv: a quote inside a quoted field that is neither escaped nor followed by the
    /// delimiter: "STOP_AT_DELIMITER" (the default), "STOP_AT_CLOSING_QUOTE",
    /// "BACK_TO_DELIMITER", "SKIP_VALUE" or "RAISE_ERROR", as in Spark.
    #[serde(default, alias = "unescapedQuoteHandling")]
    pub unescaped_quote_handling: UnescapedQuoteHandling,
    /// csv with header: true (the default) reads columns by position whatever the header
    /// says; false rejects a file whose header does not name the schema's columns in
    /// order (case aside). Spark's enforceSchema.
    #[serde(
        default = "ferry_plugin_api::sdk::defaults::yes",
        alias = "enforceSchema"
    )]
    pub enforce_schema: bool,
    /// csv: bytes that are not valid in the encoding: "reject" their record (the
    /// default) or "replace" them with U+FFFD and keep it, as Spark does.
    #[serde(default)]
    pub encoding_errors: EncodingErrors,
    /// json: each file holds JSON values that may span lines (an object, or an array of
    /// objects, a record per element), as Spark's `multiLine`; otherwise JSON lines.
    #[serde(default, alias = "multiLine")]
    pub multi_line: bool,
    /// json: `/* … */` and `// …` comments between tokens, as Spark's `allowComments`.
    #[serde(default, alias = "allowComments")]
    pub allow_comments: bool,
    /// json: field names without quotes (`{id: 1}`), of ASCII letters, digits and
    /// `_$@#*+-`, as Spark's `allowUnquotedFieldNames`.
    #[serde(default, alias = "allowUnquotedFieldNames")]
    pub allow_unquoted_field_names: bool,
    /// json: names and strings in single quotes (`{'id': 'a'}`), as Spark's
    /// `allowSingleQuotes`, which is on by default.
    #[serde(
        default = "ferry_plugin_api::sdk::defaults::yes",
        alias = "allowSingleQuotes"
    )]
    pub allow_single_quotes: bool,
    /// json: numbers with leading zeros (`007`), read as their value, as Spark's
    /// `allowNumericLeadingZeros`.
    #[serde(default, alias = "allowNumericLeadingZeros")]
    pub allow_numeric_leading_zeros: bool,
    /// json: unquoted `NaN`, `Infinity`, `+Infinity`, `-Infinity`, read into FLOAT and
    /// DOUBLE columns (anywhere else they reject their record; a STRING keeps the text),
    /// as Spark's `allowNonNumericNumbers`, which is on by default.
    #[serde(
        default = "ferry_plugin_api::sdk::defaults::yes",
        alias = "allowNonNumericNumbers"
    )]
    pub allow_non_numeric_numbers: bool,
    /// json: a backslash before any character stands for it (`\q` is `q`), as Spark's
    /// `allowBackslashEscapingAnyCharacter`.
    #[serde(default, alias = "allowBackslashEscapingAnyCharacter")]
    pub allow_backslash_escaping_any_character: bool,
    /// json: characters below U+0020 (a tab, say) unescaped inside strings, as Spark's
    /// `allowUnquotedControlChars`.
    #[serde(default, alias = "allowUnquotedControlChars")]
    pub allow_unquoted_control_chars: bool,
    /// json: accepted for Spark's `dropFieldIfAllNull`, which only shapes Spark's schema
    /// inference; with the schema given it changes nothing, in Spark or here.
    #[serde(default, alias = "dropFieldIfAllNull")]
    pub drop_field_if_all_null: bool,
    /// json: accepted for Spark's `primitivesAsString`, which only shapes Spark's schema
    /// inference; with the schema given it changes nothing, in Spark or here.
    #[serde(default, alias = "primitivesAsString")]
    pub primitives_as_string: bool,
    /// json: accepted for Spark's `prefersDecimal`, which only shapes Spark's schema
    /// inference; with the schema given it changes nothing, in Spark or here.
    #[serde(default, alias = "prefersDecimal")]
    pub prefers_decimal: bool,
    /// json and csv: the text that ends a record instead of a line end, as Spark's
    /// `lineSep` (default: `\n`, `\r\n` or `\r`); for csv one character or "\r\n", as
    /// Spark limits it. Not used with multi_line.
    #[serde(alias = "lineSep")]
    pub line_sep: Option<String>,
    /// json and csv: a record longer than this ("1 MiB", or bytes) is rejected with its
    /// size and its first max_record_bytes bytes, never decoded.
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: ByteSize,
    /// json and csv: threads that decode a poll's records, each a run of them, the rows
    /// coming out in file order as from one (default: half the machine's cores, 1 to 4).
    pub decode_threads: Option<NonZeroUsize>,
    /// json and csv: the Spark datetime pattern of TIMESTAMP columns, e.g.
    /// "yyyy-MM-dd HH:mm:ss" (default: Spark's string-cast rules, see the README).
    #[serde(alias = "timestampFormat")]
    pub timestamp_format: Option<String>,
    /// json and csv: the Spark datetime pattern of DATE columns, e.g. "dd/MM/yyyy"
    /// (default: Spark's string-cast rules, see the README).
    #[serde(alias = "dateFormat")]
    pub date_format: Option<String>,
    /// json and csv: what the files are written in: "UTF-8" (the default; a file that
    /// starts with a UTF-16 byte order mark is read as UTF-16), "UTF-16" (its byte order
    /// mark decides, else big-endian), "UTF-16LE", "UTF-16BE", "ISO-8859-1" or
    /// "windows-1252". Bytes invalid in it reject their record. Spark's encoding/charset.
    #[serde(alias = "charset")]
    pub encoding: Option<Charset>,
    /// json: what a number in a TIMESTAMP column counts since the epoch: "s" (Spark's
    /// rule), "ms" or "us"; kept exactly to the microsecond, or the record is rejected.
    #[serde(default)]
    pub timestamp_unit: TimestampUnit,
    /// Only files whose name (not path) matches this glob are read, e.g. "*.{json,jsonl}".
    #[serde(alias = "pathGlobFilter")]
    pub path_glob_filter: Option<String>,
    /// At most this many new files are admitted per folder scan (default: all).
    #[serde(alias = "maxFilesPerTrigger")]
    pub max_files_per_trigger: Option<NonZeroUsize>,
    /// New files are admitted per folder scan while their total size stays within this
    /// ("1 GB", or bytes); the first file always (default: no limit).
    #[serde(alias = "maxBytesPerTrigger")]
    pub max_bytes_per_trigger: Option<ByteSize>,
    /// Files modified longer than this ("7d") before the newest file seen are ignored,
    /// after the first listing (Spark's rule; default: none, every file is read).
    #[serde(alias = "maxFileAge")]
    pub max_file_age: Option<HumanDuration>,
    /// A file is picked up only once its size and modification time have not changed for
    /// this long ("1s"; "0s": at once), so a file still being written is not read
    /// half-way. A file that changes after it was picked up is read only as far as it
    /// was then, and the change is a rejected record naming it.
    #[serde(default = "default_file_stable_for")]
    pub file_stable_for: HumanDuration,
    /// Read the newest files (by modification time) first instead of the oldest.
    #[serde(default, alias = "latestFirst")]
    pub latest_first: bool,
    /// "off", "archive" (move to `archive_dir`) or "delete": what to do with a file once
    /// the checkpoint after it was read is durable.
    #[serde(default, alias = "cleanSource")]
    pub clean_source: CleanSource,
    /// Where `clean_source = "archive"` moves files, keeping their path below `path`.
    #[serde(alias = "sourceArchiveDir")]
    pub archive_dir: Option<PathBuf>,
    /// Adds a string column of this name holding each row's file path.
    pub file_column: Option<String>,
    /// Spark's parse mode, mapped onto this source's errors.tolerance: "PERMISSIVE" and
    /// "DROPMALFORMED" send malformed records to the dead-letter output (the row leaves
    /// the data, never silently), "FAILFAST" fails the run at the first one. Default: the
    /// pipeline's errors.tolerance.
    pub mode: Option<ParseMode>,
    /// json and csv: the STRING column of the schema (default "_corrupt_record", if the
    /// schema has it) that holds a malformed record's text. Under mode PERMISSIVE (or no
    /// mode) such a record becomes a row, as in Spark: the columns that read from it kept,
    /// the rest null, its text in this column; it is then not a dead letter.
    #[serde(alias = "columnNameOfCorruptRecord")]
    pub column_name_of_corrupt_record: Option<String>,
    /// A file that cannot be read (damaged, truncated or empty Parquet, not the format
    /// its name says, a column the schema cannot read): unset or true, it is one rejected
    /// record naming it (dead-letter output, or a failed run under errors.tolerance
    /// "none") and the source goes on; false, the run fails naming it whatever the
    /// tolerance. Spark's ignoreCorruptFiles.
    #[serde(alias = "ignoreCorruptFiles")]
    pub ignore_corrupt_files: Option<bool>,
    /// A file removed between listing and reading is skipped with a warning; false: the
    /// run fails naming it. Spark's ignoreMissingFiles.
    #[serde(
        default = "ferry_plugin_api::sdk::defaults::yes",
        alias = "ignoreMissingFiles"
    )]
    pub ignore_missing_files: bool,
}

/// Spark's `mode` option of its file readers.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum ParseMode {
    /// Spark keeps the row with nulls; ferry sends the record to the dead-letter output.
    #[serde(rename = "PERMISSIVE", alias = "permissive")]
    Permissive,
    /// Spark drops the row; ferry sends the record to the dead-letter output.
    #[serde(rename = "DROPMALFORMED", alias = "dropmalformed")]
    DropMalformed,
    /// The run fails at the first malformed record, naming it.
    #[serde(rename = "FAILFAST", alias = "failfast")]
    FailFast,
}

fn default_delimiter() -> String {
    ",".into()
}

fn default_escape() -> char {
    '\\'
}

fn default_nan_value() -> String {
    CsvOptions::default().nan_value
}

fn default_positive_inf() -> String {
    CsvOptions::default().positive_inf
}

fn default_negative_inf() -> String {
    CsvOptions::default().negative_inf
}

fn default_locale() -> String {
    Locale::default().tag
}

fn default_max_record_bytes() -> ByteSize {
    ByteSize::mib(1)
}

fn default_file_stable_for() -> HumanDuration {
    HumanDuration(Duration::from_secs(1))
}

/// The `file` source: lists the folder, reads each file's records in order, and
/// checkpoints how far it got.
pub struct FileSource {
    listing: Listing,
    /// What reaches downstream, when known before any file is read.
    schema: Option<SchemaRef>,
    mode: Option<ParseMode>,
    format: Format,
    file_column: Option<String>,
    cleaner: Option<Cleaner>,
    state: State,
    /// Files listed but not started, in reading order.
    queue: VecDeque<Listed>,
    /// How long until a file the last listing found still changing may be admitted.
    settling: Option<Duration>,
    /// The open current file.
    reader: Option<FileReader>,
    /// What becomes of a file that cannot be read to its end.
    on_failure: OnFailure,
}

impl Component for FileSource {
    const NAME: &'static str = "file";
    const DESCRIPTION: &'static str =
        "Reads JSON, CSV or Parquet files from a folder or glob as they arrive, each exactly once.";
    type Options = FileOptions;

    fn create(options: FileOptions, _ctx: &Context) -> Result<Self> {
        let format = format(&options)?;
        let archive_dir = archive_dir(&options)?;
        let limits = Limits {
            max_files: options.max_files_per_trigger.map(NonZeroUsize::get),
            max_bytes: options.max_bytes_per_trigger.map(|b| b.0),
            max_file_age: options.max_file_age.map(|d| d.0),
            stable_for: options.file_stable_for.0,
        };
        let listing = Listing::new(
            &options.path,
            archive_dir.as_deref(),
            options.latest_first,
            limits,
            options.path_glob_filter.as_deref(),
        )?;
        let cleaner = match (options.clean_source, archive_dir) {
            (CleanSource::Delete, _) => Some(Cleaner::Delete),
            (_, Some(archive_dir)) => Some(Cleaner::Archive {
                base: listing.base().to_path_buf(),
                archive_dir,
            }),
            _ => None,
        };
        let schema = options.schema.as_ref().map(|s| match &options.file_column {
            Some(name) => with_path_field(&s.0, name),
            None => s.0.clone(),
        });
        Ok(Self {
            listing,
            schema,
            mode: options.mode,
            format,
            file_column: options.file_column,
            cleaner,
            state: State::default(),
            queue: VecDeque::new(),
            settling: None,
            reader: None,
            on_failure: OnFailure {
                corrupt: options.ignore_corrupt_files,
                missing: options.ignore_missing_files,
            },
        })
    }

    fn output_schema(&self, port: &str) -> Option<SchemaRef> {
        self.schema.clone().filter(|_| port == MAIN_PORT)
    }

    fn reject_policy(&self) -> RejectPolicy {
        match self.mode {
            None => RejectPolicy::Pipeline,
            Some(ParseMode::FailFast) => RejectPolicy::Fail,
            Some(ParseMode::Permissive | ParseMode::DropMalformed) => RejectPolicy::DeadLetter,
        }
    }
}

/// Where files are archived, required when `clean_source = "archive"`.
fn archive_dir(options: &FileOptions) -> Result<Option<PathBuf>> {
    match (options.clean_source, &options.archive_dir) {
        (CleanSource::Archive, None) => Err(Error::msg(
            "clean_source = \"archive\" needs an archive_dir",
        )),
        (CleanSource::Archive, dir) => Ok(dir.clone()),
        _ => Ok(None),
    }
}

/// The record format the options describe, checked.
fn format(options: &FileOptions) -> Result<Format> {
    let schema = options.schema.as_ref().map(|s| s.0.clone());
    if let (Some(name), Some(schema)) = (&options.file_column, &schema) {
        if schema.field_with_name(name).is_ok() {
            return Err(Error::msg(format!(
                "file_column '{name}' is already a column of the schema"
            )));
        }
    }
    let needs_schema = |format: &str| {
        Error::msg(format!(
            "format \"{format}\" needs a schema, e.g. schema = \"id BIGINT, name STRING\""
        ))
    };
    let datetimes = datetime_formats(options)?;
    let keep = matches!(options.mode, None | Some(ParseMode::Permissive));
    let name = options.column_name_of_corrupt_record.as_deref();
    let (schema, corrupt) = match (&schema, options.format) {
        (Some(schema), FileFormat::Json | FileFormat::Csv) => {
            let (decoded, corrupt) = CorruptColumn::find(schema, name, keep)?;
            (Some(decoded), corrupt)
        }
        _ if name.is_some() => {
            return Err(Error::msg(
                "column_name_of_corrupt_record applies to json and csv files with a schema",
            ))
        }
        _ => (schema, None),
    };
    let text =
        match options.format {
            FileFormat::Json => TextFormat::Json {
                schema: schema.ok_or_else(|| needs_schema("json"))?,
                multi_line: options.multi_line,
                datetimes,
                options: json_options(options),
                line_sep: line_sep(options)?,
            },
            FileFormat::Csv => TextFormat::Csv {
                schema: schema.ok_or_else(|| needs_schema("csv"))?,
                datetimes,
                header: options.header,
                enforce_schema: options.enforce_schema,
                line_sep: line_sep(options)?,
                options: Box::new(csv_options(options)?),
            },
            FileFormat::Parquet if options.encoding.is_some() => return Err(Error::msg(
                "encoding applies to json and csv files; Parquet strings are UTF-8 by the format",
            )),
            FileFormat::Parquet => return Ok(Format::Parquet(schema)),
        };
    let max_record_bytes = usize::try_from(options.max_record_bytes.0).unwrap_or(usize::MAX);
    if max_record_bytes == 0 {
        return Err(Error::msg("max_record_bytes must be at least 1 byte"));
    }
    let decoders = Workers::new("decode", defaults::threads(options.decode_threads));
    Ok(Format::Text {
        format: text,
        max_record_bytes,
        decoders,
        encoding: options.encoding,
        corrupt,
    })
}

/// The CSV options, checked.
fn csv_options(options: &FileOptions) -> Result<CsvOptions> {
    let csv = CsvOptions {
        delimiter: spark_delimiter(&options.delimiter).map_err(Error::msg)?,
        quote: Some(options.quote),
        escape: Some(options.escape),
        comment: options.comment,
        null_value: options.null_value.clone(),
        empty_value: options.empty_value.clone(),
        nan_value: options.nan_value.clone(),
        positive_inf: options.positive_inf.clone(),
        negative_inf: options.negative_inf.clone(),
        ignore_leading_white_space: options.ignore_leading_white_space,
        ignore_trailing_white_space: options.ignore_trailing_white_space,
        locale: Locale::parse(&options.locale).map_err(Error::msg)?,
        unescaped_quote_handling: options.unescaped_quote_handling,
        encoding_errors: options.encoding_errors,
    };
    csv.check().map_err(Error::msg)?;
    Ok(csv)
}

/// The JSON syntax the options allow.
fn json_options(options: &FileOptions) -> JsonOptions {
    JsonOptions {
        allow_comments: options.allow_comments,
        allow_unquoted_field_names: options.allow_unquoted_field_names,
        allow_single_quotes: options.allow_single_quotes,
        allow_numeric_leading_zeros: options.allow_numeric_leading_zeros,
        allow_non_numeric_numbers: options.allow_non_numeric_numbers,
        allow_backslash_escaping_any_character: options.allow_backslash_escaping_any_character,
        allow_unquoted_control_chars: options.allow_unquoted_control_chars,
    }
}

/// `line_sep` as the bytes that end a record (none: any line end): not empty, and for
/// csv one character or "\r\n", as Spark limits it.
fn line_sep(options: &FileOptions) -> Result<Option<Vec<u8>>> {
    let Some(sep) = options.line_sep.as_deref() else {
        return Ok(None);
    };
    let csv = options.format == FileFormat::Csv;
    match sep.chars().count() {
        0 => Err(Error::msg("line_sep must not be empty")),
        1 => Ok(Some(sep.as_bytes().to_vec())),
        _ if !csv || sep == "\r\n" => Ok(Some(sep.as_bytes().to_vec())),
        _ => Err(Error::msg(format!(
            "line_sep: '{}' is not one character (or \"\\r\\n\"), as csv needs",
            sep.escape_debug()
        ))),
    }
}

/// `timestamp_format` and `date_format`, checked.
fn datetime_formats(options: &FileOptions) -> Result<DateTimeFormats> {
    let pattern = |option: &str, pattern: &Option<String>| {
        let pattern = pattern.as_deref().map(DateTimePattern::new).transpose();
        pattern.map_err(|e| Error::msg(format!("{option}: {e}")))
    };
    Ok(DateTimeFormats {
        timestamp: pattern("timestamp_format", &options.timestamp_format)?,
        date: pattern("date_format", &options.date_format)?,
        timestamp_unit: options.timestamp_unit,
    })
}

impl FileSource {
    /// The file being read, or else the next one that opens; `None` when nothing new
    /// has arrived. Files that do not open are given up on, counted in `gave_up`.
    fn reader(
        &mut self,
        may_list: &mut bool,
        gave_up: &mut usize,
        out: &mut Output<'_>,
    ) -> Result<Option<&mut FileReader>> {
        while self.reader.is_none() {
            let Some((path, skip, admitted)) = self.next_file(may_list)? else {
                return Ok(None);
            };
            match skip {
                0 => info!("reading {path}"),
                _ => info!("reading {path} after its first {skip} records"),
            }
            let file_column = self.file_column.as_deref();
            let opened = (admitted.map_or_else(|| Snapshot::of(&path), Ok))
                .map_err(reader::Failure::io)
                .and_then(|admitted| {
                    self.state.pin(admitted);
                    FileReader::open(&self.format, &path, skip, file_column, admitted)
                });
            match opened {
                Ok(reader) => self.reader = Some(reader),
                Err(failure) => {
                    self.give_up(failure, out)?;
                    *gave_up += 1;
                }
            }
        }
        Ok(self.reader.as_mut())
    }

    /// The current file cannot be read to its end: it is rejected, or forgotten if gone.
    fn give_up(&mut self, failure: reader::Failure, out: &mut Output<'_>) -> Result<()> {
        self.reader = None;
        let Some(current) = self.state.current() else {
            return Ok(());
        };
        let (path, records) = (current.path.clone(), current.records);
        match self.on_failure.handle(&path, records, failure, out)? {
            // Never cleaned up: the dead-letter record names it, for someone to look at.
            GaveUp::Rejected => self.state.finish(false),
            GaveUp::Forgotten => self.state.forget(),
        }
        Ok(())
    }

    /// The file to read, how many of its records to skip and its snapshot when admitted
    /// (`None` from a checkpoint written before snapshots were kept): the one a restored
    /// checkpoint was in the middle of, else the next one queued. An empty queue is
    /// filled by listing the folder again, if `may_list` (then cleared).
    fn next_file(
        &mut self,
        may_list: &mut bool,
    ) -> Result<Option<(String, u64, Option<Snapshot>)>> {
        if let Some(current) = self.state.current() {
            return Ok(Some((
                current.path.clone(),
                current.records,
                current.admitted,
            )));
        }
        if self.queue.is_empty() && std::mem::take(may_list) {
            let state = &self.state;
            let found = (self.listing).new_files(|path| state.seen(path), state.newest())?;
            for file in found.files {
                self.state.admitted(file.modified);
                self.queue.push_back(file);
            }
            self.settling = found.settling;
        }
        let Some(file) = self.queue.pop_front() else {
            return Ok(None);
        };
        let admitted = file.snapshot();
        self.state.start(&file.name, admitted);
        Ok(Some((file.name, 0, Some(admitted))))
    }

    /// The current file was read to its end. If it is no longer as it was admitted, it
    /// changed while it was read: the records read stay delivered and the change is a
    /// rejected record naming the file, which is never cleaned up (it is still written).
    fn finish_file(&mut self, out: &mut Output<'_>) -> Result<()> {
        let (Some(reader), Some(current)) = (self.reader.take(), self.state.current()) else {
            return Ok(());
        };
        let path = current.path.clone();
        let now = Snapshot::of(&path);
        let held_back = reader.held_back();
        if held_back.is_some() || now.as_ref().ok() != Some(&reader.admitted) {
            reject_file(&path, &changed_reason(reader.admitted, now, held_back), out)?;
            self.state.finish(false);
            return Ok(());
        }
        info!("finished {path}");
        debug!("{path}: {} rows, {} rejected", reader.rows, reader.rejected);
        self.state.finish(self.cleaner.is_some());
        Ok(())
    }
}

impl Source for FileSource {
    fn restore(&mut self, restored: &Restored<'_>) -> Result<()> {
        self.state = State::restore(restored.state)?;
        self.queue.clear();
        self.reader = None;
        Ok(())
    }

    fn poll(
        &mut self,
        max_rows: usize,
        timeout: Duration,
        out: &mut Output<'_>,
    ) -> Result<SourceStatus> {
        // One listing per poll, so `max_files_per_trigger` bounds the files a poll admits.
        let mut may_list = true;
        let (mut consumed, mut finished) = (0, 0);
        while consumed < max_rows {
            let Some(reader) = self.reader(&mut may_list, &mut finished, out)? else {
                break;
            };
            match reader.read(max_rows - consumed, out) {
                Ok(0) => {
                    self.finish_file(out)?;
                    finished += 1;
                }
                Ok(records) => {
                    self.state.consumed(records);
                    consumed += records;
                }
                Err(failure) => {
                    self.give_up(failure, out)?;
                    finished += 1;
                }
            }
        }
        if consumed + finished > 0 {
            return Ok(SourceStatus::Ready);
        }
        // A file still being written is input to come, not idleness: `available_now`
        // must not end before it is read.
        if let Some(left) = self.settling.take() {
            std::thread::sleep(left.min(timeout));
            return Ok(SourceStatus::Ready);
        }
        // Idle only when there was nothing at all: files left unlisted may follow.
        Ok(SourceStatus::Idle)
    }

    fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        self.state.checkpoint(epoch)
    }

    /// Cleans up the files finished before `epoch`'s checkpoint, now durable.
    fn commit(&mut self, epoch: u64) -> Result<()> {
        let Some(cleaner) = &self.cleaner else {
            return Ok(());
        };
        for path in self.state.due(epoch) {
            cleaner.clean(path)?;
        }
        self.state.cleaned(epoch);
        Ok(())
    }
}

export_plugin! {
    sources: [FileSource],
    transforms: [],
    sinks: [],
}
