//! Plugin log lines go to the host through its callback, so they land in the host's
//! log with the plugin's name. Plugins log with the re-exported `log` crate.

use std::sync::OnceLock;

use abi_stable::std_types::RStr;

use crate::abi::{HostLogger, LogLevel};

static HOST: OnceLock<HostLogger> = OnceLock::new();

struct Forward;

impl log::Log for Forward {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        HOST.get()
            .is_some_and(|h| level(metadata.level()) <= h.max_level)
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some(host) = HOST.get() else { return };
        if level(record.level()) <= host.max_level {
            let message = record.args().to_string();
            (host.log)(
                level(record.level()),
                RStr::from_str(record.target()),
                RStr::from_str(&message),
            );
        }
    }

    fn flush(&self) {}
}

fn level(l: log::Level) -> LogLevel {
    match l {
        log::Level::Error => LogLevel::Error,
        log::Level::Warn => LogLevel::Warn,
        log::Level::Info => LogLevel::Info,
        log::Level::Debug => LogLevel::Debug,
        log::Level::Trace => LogLevel::Trace,
    }
}

fn filter(l: LogLevel) -> log::LevelFilter {
    match l {
        LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
        LogLevel::Trace => log::LevelFilter::Trace,
    }
}

/// Installs the host's callback as this library's `log` backend (first call wins).
pub(crate) fn install(host: HostLogger) {
    if HOST.set(host).is_ok() && log::set_logger(&Forward).is_ok() {
        log::set_max_level(filter(host.max_level));
    }
}
