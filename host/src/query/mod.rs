//! `ferry query`: SQL over lake folders, planned and run by DataFusion in this process.
//!
//! A lake is read from its commit log: exactly the files its manifests publish, with its
//! Hive partition folders as typed columns (see [`lake`]).

mod lake;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;

use lake::{Lake, LakeFunction};
pub use output::Format;

#[derive(clap::Args)]
pub struct QueryArgs {
    /// The SQL query. Its tables are `lake('folder')` and the names given with --table.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    sql: Option<String>,
    /// Read the SQL query from this file.
    #[arg(short = 'f', long = "file", value_name = "FILE.sql")]
    file: Option<PathBuf>,
    /// NAME=FOLDER: the lake at FOLDER as table NAME (repeatable).
    #[arg(long = "table", value_name = "NAME=FOLDER", value_parser = parse_table)]
    tables: Vec<(String, PathBuf)>,
    /// How the result is printed: an aligned table, CSV with a header, or JSON lines.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn main(args: QueryArgs) -> ExitCode {
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each once: DataFusion's messages repeat their sources'.
fn message(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain().map(|c| c.to_string()) {
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

fn run(args: QueryArgs) -> Result<()> {
    let sql = match (args.sql, &args.file) {
        (Some(sql), _) => sql,
        (None, Some(file)) => {
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
        }
        (None, None) => bail!("give the SQL query or -f FILE.sql"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .build()
        .context("starting the query runtime")?;
    runtime.block_on(execute(&sql, &args.tables, args.format))
}

async fn execute(sql: &str, tables: &[(String, PathBuf)], format: Format) -> Result<()> {
    let ctx = SessionContext::new();
    ctx.register_udtf("lake", Arc::new(LakeFunction));
    for (name, folder) in tables {
        let table = Lake::open(folder)?.table()?;
        ctx.register_table(name.as_str(), table)
            .with_context(|| format!("table {name}"))?;
    }
    // A query reads the lake and nothing else: no CREATE, INSERT, COPY or SET.
    let read_only = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let frame = ctx.sql_with_options(sql, read_only).await?;
    output::print(frame, format).await
}

fn parse_table(arg: &str) -> Result<(String, PathBuf), String> {
    match arg.split_once('=') {
        Some((name, folder)) if !name.is_empty() && !folder.is_empty() => {
            Ok((name.to_string(), PathBuf::from(folder)))
        }
        _ => Err(format!("'{arg}' is not NAME=FOLDER")),
    }
}
