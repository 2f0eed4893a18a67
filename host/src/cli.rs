//! The `ferry` command line: `run`, `validate`, `plugins`, `query`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::thread;

use clap::{Parser, Subcommand};

use crate::config::Section;
use crate::listing;
use crate::plugins::{default_plugin_dirs, Registry};
use crate::validate::{self, Checked};

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Streaming pipelines from config files, with plugins loaded at run time."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log filter, e.g. `info`, `debug`, `ferry=debug` (tracing's EnvFilter syntax).
    #[arg(long, global = true, env = "FERRY_LOG", default_value = "info")]
    log: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run pipelines in the foreground until their input ends or SIGINT/SIGTERM.
    Run {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check pipeline files and plugin options without running them.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the components the plugin libraries provide, with their options.
    Plugins {
        /// Extra folders to search (also: FERRY_PLUGIN_PATH).
        #[arg(long)]
        plugin_path: Vec<PathBuf>,
        /// Print each component's options as the Markdown table its README holds.
        #[arg(long)]
        markdown: bool,
    },
    /// Run a SQL query over lake folders: only the files their commit log publishes.
    ///
    /// `ferry query "SELECT date, count(*) FROM lake('lake/messages') GROUP BY date"`.
    /// `lake('folder')` reads the lake the lake sink writes at that folder, its Hive
    /// partition folders (`date=2024-12-15/`) as columns typed by the lake's schema;
    /// `--table NAME=FOLDER` names one. Files not yet listed in a `_ferry_log/`
    /// manifest are never read.
    Query(crate::query::QueryArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    match cli.command {
        Command::Run { files } => run(&files),
        Command::Validate { files } => validate_files(&files),
        Command::Plugins {
            plugin_path,
            markdown,
        } => list_plugins(plugin_path, markdown),
        Command::Query(args) => crate::query::main(args),
    }
}

/// Prints every problem of every file; the files that passed are returned.
fn check_all(files: &[PathBuf]) -> Option<Vec<Checked>> {
    let mut checked = Vec::new();
    let mut failed = false;
    for file in files {
        match validate::check(file) {
            Ok(c) => {
                c.warnings.iter().for_each(|w| eprintln!("warning: {w}"));
                checked.push(c)
            }
            Err(problems) => {
                failed = true;
                problems.list.iter().for_each(|p| eprintln!("error: {p}"));
            }
        }
    }
    (!failed).then_some(checked)
}

fn validate_files(files: &[PathBuf]) -> ExitCode {
    match check_all(files) {
        Some(checked) => {
            for c in checked {
                println!(
                    "{}: ok (pipeline '{}', {} nodes)",
                    c.file.path.display(),
                    c.file.settings.name,
                    c.file.nodes.len()
                );
            }
            ExitCode::SUCCESS
        }
        None => ExitCode::from(2),
    }
}

fn run(files: &[PathBuf]) -> ExitCode {
    let Some(checked) = check_all(files) else {
        return ExitCode::from(2);
    };
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal exits at once; the first asks for a clean stop.
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, shutdown.clone());
        let _ = signal_hook::flag::register(signal, shutdown.clone());
    }
    let runs: Vec<_> = checked
        .into_iter()
        .map(|Checked { file, registry, .. }| {
            let shutdown = shutdown.clone();
            thread::spawn(move || {
                (
                    file.settings.name.clone(),
                    crate::runtime::run(&file, &registry, &shutdown),
                )
            })
        })
        .collect();
    let mut failed = false;
    for run in runs {
        match run.join() {
            Ok((name, Ok(()))) => tracing::info!(pipeline = %name, "pipeline finished"),
            Ok((name, Err(e))) => {
                failed = true;
                tracing::error!(pipeline = %name, "pipeline failed: {e:#}");
            }
            Err(_) => failed = true,
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn list_plugins(extra: Vec<PathBuf>, markdown: bool) -> ExitCode {
    let mut dirs = extra;
    dirs.extend(default_plugin_dirs());
    let registry = Registry::discover(&dirs);
    let mut components = registry.components.clone();
    components.sort_by(|a, b| (a.kind.section(), &a.name).cmp(&(b.kind.section(), &b.name)));
    for c in &components {
        match markdown {
            true => print!("{}", listing::markdown(c)),
            false => print!("{}", listing::text(c)),
        }
    }
    for (path, reason) in &registry.refused {
        println!("refused {}: {reason}", path.display());
    }
    if components.is_empty() {
        eprintln!(
            "no plugins found in: {}",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
