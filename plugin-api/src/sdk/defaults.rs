//! Defaults for options, for `#[serde(default = "...")]`, so plugins do not each write
//! the same one-line functions.

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
