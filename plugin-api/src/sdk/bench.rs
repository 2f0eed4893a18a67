//! What an operator's benchmark reads off its process: settings from the environment and
//! peak memory. Kept here so each plugin's `benches/` holds only its own scenario.

/// The environment variable `name` parsed as a `T`, or `default` when unset or unparsable.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// This process's peak resident set (VmHWM) in MB, or 0 where /proc is not Linux's.
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = (status.lines())
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Resets the peak resident set, so that the next [`peak_rss_mb`] is this scenario's
/// own (Linux: "5" written to clear_refs; elsewhere nothing happens).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
