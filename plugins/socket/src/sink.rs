//! The `socket` sink: each row as one line to a TCP server.

use std::io::{BufWriter, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use ferry_plugin_api::arrow::array::RecordBatch;
use ferry_plugin_api::log::info;
use ferry_plugin_api::sdk::duration::HumanDuration;
use ferry_plugin_api::sdk::encode::{Format, RowFormat};
use ferry_plugin_api::sdk::{Component, Context, Error, ErrorContext, Result, Sink};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::source::localhost;

/// Options of the `socket` sink.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SocketSinkOptions {
    /// The host to connect to.
    #[serde(default = "localhost")]
    pub host: String,
    /// The TCP port to connect to.
    pub port: u16,
    /// How each row becomes a line: "json", "csv", or "raw" (the text of `column`; a
    /// null is an empty line).
    #[serde(default)]
    pub format: Format,
    /// raw: the column whose text is sent.
    #[serde(default = "value")]
    pub column: String,
    /// How long to try to connect at start before failing.
    #[serde(default = "ten_seconds")]
    pub connect_timeout: HumanDuration,
}

fn value() -> String {
    "value".into()
}

fn ten_seconds() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}

pub struct SocketSink {
    address: String,
    format: RowFormat,
    connect_timeout: Duration,
    /// Connected on the first call, not in `create`, so `ferry validate` needs no server.
    out: Option<BufWriter<TcpStream>>,
}

impl Component for SocketSink {
    const NAME: &'static str = "socket";
    const DESCRIPTION: &'static str =
        "Writes each row as a line (JSON, CSV or raw) to a TCP server.";
    type Options = SocketSinkOptions;

    fn create(options: SocketSinkOptions, _ctx: &Context) -> Result<Self> {
        let address = format!("{}:{}", options.host, options.port);
        let format = options.format.rows(options.column);
        Ok(Self {
            address,
            format,
            connect_timeout: options.connect_timeout.0,
            out: None,
        })
    }
}

fn connect(address: &str, timeout: Duration) -> Result<TcpStream> {
    let context = || format!("cannot connect to {address}");
    let mut last = Error::msg("the host resolves to no address");
    for addr in address.to_socket_addrs().with_context(context)? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e.into(),
        }
    }
    Err(last.context(context()))
}

impl SocketSink {
    fn out(&mut self) -> Result<&mut BufWriter<TcpStream>> {
        if self.out.is_none() {
            let stream = connect(&self.address, self.connect_timeout)?;
            info!("connected to {}", self.address);
            self.out = Some(BufWriter::with_capacity(256 * 1024, stream));
        }
        Ok(self.out.as_mut().expect("connected"))
    }
}

impl Sink for SocketSink {
    fn write(&mut self, _input: &str, batch: RecordBatch) -> Result<()> {
        let rows = self.format.encode(&batch)?;
        let out = self.out()?;
        let sent = rows.iter().try_for_each(|row| {
            out.write_all(row.unwrap_or_default())?;
            out.write_all(b"\n")
        });
        sent.with_context(|| format!("writing to {}", self.address))
    }

    /// Sends everything written so far before the epoch is checkpointed.
    fn prepare(&mut self, _epoch: u64) -> Result<Vec<u8>> {
        self.out()?
            .flush()
            .with_context(|| format!("writing to {}", self.address))?;
        Ok(Vec::new())
    }

    /// Called at start: connects, so a missing server fails the pipeline at once.
    fn abort(&mut self, _epoch: u64) -> Result<()> {
        self.out().map(drop)
    }
}
