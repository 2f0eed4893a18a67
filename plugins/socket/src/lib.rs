//! `socket`: text lines over TCP. The source connects to a server (Spark's socket
//! source) or listens for clients and reads lines; the sink writes each row as a line.

mod lines;
mod sink;
mod source;

use ferry_plugin_api::export_plugin;

pub use sink::{SocketSink, SocketSinkOptions};
pub use source::{Mode, SocketSource, SocketSourceOptions};

export_plugin! {
    sources: [SocketSource],
    transforms: [],
    sinks: [SocketSink],
}
