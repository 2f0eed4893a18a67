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
/// plugin's option asks for, else half the machine's cores, at least one and at most 4.
/// Half, because a pipeline's other stages (a source and a sink at least) run on threads
/// of their own at the same time: on 2 cores, helper threads in the lake benchmark's
/// source and sink made it 11% slower, from the cores they took from the other stages
/// and from the smaller batches a poll was cut into.
pub fn threads(asked: Option<NonZeroUsize>) -> usize {
    let half = |cores: NonZeroUsize| (cores.get() / 2).clamp(1, MAX_DEFAULT_THREADS);
    asked.map_or_else(
        || std::thread::available_parallelism().map_or(1, half),
        NonZeroUsize::get,
    )
}
