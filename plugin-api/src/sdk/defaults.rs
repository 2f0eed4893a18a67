//! Defaults for options, for `#[serde(default = "...")]`, so plugins do not each write
//! the same one-line functions.

use std::num::NonZeroUsize;

/// `#[serde(default = "ferry_plugin_api::sdk::defaults::yes")]`
pub fn yes() -> bool {
    true
}

/// CSV's field delimiter.
pub fn comma() -> char {
    ','
}

/// CSV's quote character.
pub fn double_quote() -> char {
    '"'
}

/// More threads than this work for one plugin's stage only if asked for: beyond it a
/// batch's share of work per thread is too small to pay for the thread.
const MAX_DEFAULT_THREADS: usize = 4;

/// Threads for work inside one stage (decoding a poll, encoding a batch): the count a
/// plugin's option asks for, else the machine's cores up to 4 (one if they cannot be
/// counted).
pub fn threads(asked: Option<NonZeroUsize>) -> usize {
    asked.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_DEFAULT_THREADS)),
        NonZeroUsize::get,
    )
}
