//! The `socket` source: lines from TCP connections, read by background threads into a
//! bounded queue that `poll` drains.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, SendTimeoutError, Sender};
use ferry_plugin_api::arrow::array::{
    ArrayRef, RecordBatch, StringBuilder, TimestampMicrosecondArray,
};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use ferry_plugin_api::log::{info, warn};
use ferry_plugin_api::sdk::duration::HumanDuration;
use ferry_plugin_api::sdk::size::ByteSize;
use ferry_plugin_api::sdk::{
    Component, Context, Error, ErrorContext, Output, Result, Source, SourceStatus, MAIN_PORT,
};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::lines::{Line, LineReader};

/// How often blocked threads look at the stop flag.
const TICK: Duration = Duration::from_millis(200);
/// Lines queued between the reading threads and `poll`; a full queue stops reading, so
/// TCP flow control slows the senders.
const QUEUE_LINES: usize = 16 * 1024;

/// Whether ferry connects to a server or is the server.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Connect to host:port and read lines (Spark's socket source); reconnect with
    /// backoff when the connection fails or closes.
    #[default]
    Connect,
    /// Listen on host:port, accept any number of connections and read lines from each.
    Listen,
}

/// Options of the `socket` source.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SocketSourceOptions {
    /// The host to connect to, or the address to listen on.
    #[serde(default = "localhost")]
    pub host: String,
    /// The TCP port to connect to or listen on.
    pub port: u16,
    /// "connect" (ferry is the client) or "listen" (ferry is the server).
    #[serde(default)]
    pub mode: Mode,
    /// Adds a `timestamp` column (TIMESTAMP): when ferry received each line.
    #[serde(default)]
    pub include_timestamp: bool,
    /// The longest line read, in bytes without the line break, e.g. "64 KiB" (default
    /// 1 MiB); a longer one is rejected with its size and never held whole in memory.
    /// `max_line_bytes` is accepted as an older name of this option.
    #[serde(default = "one_mebibyte", alias = "max_line_bytes")]
    pub max_record_bytes: ByteSize,
    /// connect mode: the longest wait between reconnection attempts; the wait starts at
    /// 100ms and doubles after each failure.
    #[serde(default = "five_seconds")]
    pub max_reconnect_backoff: HumanDuration,
}

pub(crate) fn localhost() -> String {
    "127.0.0.1".into()
}

fn one_mebibyte() -> ByteSize {
    ByteSize::mib(1)
}

fn five_seconds() -> HumanDuration {
    HumanDuration(Duration::from_secs(5))
}

/// A line as it arrived: what it was, when (µs since the epoch) and from where.
struct Arrival {
    line: Line,
    at: i64,
    position: String,
}

pub struct SocketSource {
    schema: SchemaRef,
    lines: Receiver<Arrival>,
    /// Tells the reading threads to end when the source is dropped.
    stop: Arc<AtomicBool>,
    options: SocketSourceOptions,
    /// The queue's sending end until the reading threads start with it.
    tx: Option<Sender<Arrival>>,
}

impl Component for SocketSource {
    const NAME: &'static str = "socket";
    const DESCRIPTION: &'static str =
        "Reads text lines from TCP connections, connecting to a server or accepting clients.";
    type Options = SocketSourceOptions;

    fn create(options: SocketSourceOptions, _ctx: &Context) -> Result<Self> {
        let mut fields = vec![Field::new("value", DataType::Utf8, false)];
        if options.include_timestamp {
            fields.push(Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ));
        }
        let (tx, rx) = bounded(QUEUE_LINES);
        Ok(Self {
            schema: Arc::new(Schema::new(fields)),
            lines: rx,
            stop: Arc::new(AtomicBool::new(false)),
            options,
            tx: Some(tx),
        })
    }

    /// Declared, so `ferry validate` checks the columns downstream nodes name.
    fn output_schema(&self, port: &str) -> Option<SchemaRef> {
        (port == MAIN_PORT).then(|| self.schema.clone())
    }
}

impl SocketSource {
    /// Starts the connecting or accepting thread, on the first poll rather than in
    /// `create`, so `ferry validate` neither connects nor binds the port.
    fn start(&mut self) -> Result<()> {
        let Some(tx) = self.tx.take() else {
            return Ok(());
        };
        let feed = Feed {
            tx,
            stop: self.stop.clone(),
            max_record_bytes: usize::try_from(self.options.max_record_bytes.0)
                .unwrap_or(usize::MAX),
        };
        let address = format!("{}:{}", self.options.host, self.options.port);
        match self.options.mode {
            Mode::Connect => {
                let backoff = self.options.max_reconnect_backoff.0;
                spawn("connect", move || connect_loop(&address, backoff, &feed))
            }
            Mode::Listen => {
                let listener = TcpListener::bind(&address)
                    .with_context(|| format!("listening on {address}"))?;
                listener.set_nonblocking(true)?;
                info!("listening on {}", listener.local_addr()?);
                spawn("accept", move || accept_loop(&listener, &feed))
            }
        }
    }
}

impl Source for SocketSource {
    fn poll(
        &mut self,
        max_rows: usize,
        timeout: Duration,
        out: &mut Output<'_>,
    ) -> Result<SourceStatus> {
        self.start()?;
        let first = match self.lines.recv_timeout(timeout) {
            Ok(arrival) => arrival,
            Err(RecvTimeoutError::Timeout) => return Ok(SourceStatus::Idle),
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::msg("the socket reading threads stopped"))
            }
        };
        let mut values = StringBuilder::new();
        let mut times = Vec::new();
        let mut consumed = 0;
        for arrival in std::iter::once(first).chain(self.lines.try_iter()) {
            match arrival.line {
                Line::Text(text) => {
                    values.append_value(text);
                    times.push(arrival.at);
                }
                Line::Invalid(bytes) => out.reject(bytes, "not valid UTF-8", arrival.position)?,
                Line::TooLong { prefix, len } => out.reject(
                    prefix,
                    too_long(len, self.max_record_bytes()),
                    arrival.position,
                )?,
            }
            consumed += 1;
            if consumed >= max_rows {
                break;
            }
        }
        let mut columns: Vec<ArrayRef> = vec![Arc::new(values.finish())];
        if self.schema.fields().len() == 2 {
            columns.push(Arc::new(
                TimestampMicrosecondArray::from(times).with_timezone("UTC"),
            ));
        }
        out.emit(RecordBatch::try_new(self.schema.clone(), columns)?)?;
        Ok(SourceStatus::Ready)
    }
}

impl SocketSource {
    fn max_record_bytes(&self) -> u64 {
        self.options.max_record_bytes.0
    }
}

/// The reason an over-long line is rejected: its size and the option that limits it.
fn too_long(len: usize, max: u64) -> String {
    format!("line of {len} bytes is longer than max_record_bytes ({max} bytes)")
}

impl Drop for SocketSource {
    fn drop(&mut self) {
        // The threads notice within one TICK; none of them blocks for longer.
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<()> {
    thread::Builder::new()
        .name(format!("socket-{name}"))
        .spawn(f)
        .map(drop)
        .context("starting a socket thread")
}

/// What reading threads share: the queue, the stop flag and the line limit.
#[derive(Clone)]
struct Feed {
    tx: Sender<Arrival>,
    stop: Arc<AtomicBool>,
    max_record_bytes: usize,
}

impl Feed {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Queues a line, waiting while the queue is full; false once the source is gone.
    fn send(&self, mut arrival: Arrival) -> bool {
        loop {
            match self.tx.send_timeout(arrival, TICK) {
                Ok(()) => return true,
                Err(SendTimeoutError::Timeout(a)) if !self.stopped() => arrival = a,
                Err(_) => return false,
            }
        }
    }

    /// Reads lines from `stream` until it ends, fails or the source is dropped.
    fn read(&self, mut stream: TcpStream, peer: &str) -> io::Result<()> {
        stream.set_read_timeout(Some(TICK))?;
        let mut reader = LineReader::new(self.max_record_bytes);
        let mut number = 0u64;
        let mut open = true;
        while open && !self.stopped() {
            let mut lines = Vec::new();
            open = match reader.read(&mut stream, |line| lines.push(line)) {
                Ok(open) => open,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => true,
                Err(e) if e.kind() == ErrorKind::Interrupted => true,
                Err(e) => return Err(e),
            };
            let at = now_micros();
            for line in lines {
                number += 1;
                let position = format!("{peer} line {number}");
                if !self.send(Arrival { line, at, position }) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// connect mode: connect, read until the connection ends, wait, connect again.
fn connect_loop(address: &str, max_backoff: Duration, feed: &Feed) {
    let mut backoff = Duration::from_millis(100);
    let mut warned = false;
    while !feed.stopped() {
        match connect(address) {
            Ok(stream) => {
                info!("connected to {address}");
                backoff = Duration::from_millis(100);
                warned = false;
                match feed.read(stream, address) {
                    Ok(()) if !feed.stopped() => info!("{address} closed the connection"),
                    Ok(()) => return,
                    Err(e) => warn!("reading from {address}: {e}"),
                }
            }
            Err(e) if !warned => {
                warn!("cannot connect to {address}: {e}; retrying with backoff");
                warned = true;
            }
            Err(_) => {}
        }
        sleep_unless_stopped(backoff, feed);
        backoff = (backoff * 2).min(max_backoff);
    }
}

fn connect(address: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(ErrorKind::NotFound, "the host resolves to no address");
    for addr in address.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn sleep_unless_stopped(wait: Duration, feed: &Feed) {
    let mut left = wait;
    while !left.is_zero() && !feed.stopped() {
        let step = left.min(TICK);
        thread::sleep(step);
        left -= step;
    }
}

/// listen mode: accept connections, each read by a thread of its own.
fn accept_loop(listener: &TcpListener, feed: &Feed) {
    while !feed.stopped() {
        match listener.accept() {
            Ok((stream, peer)) => accept(stream, peer, feed),
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                warn!("accepting a connection: {e}");
                thread::sleep(TICK);
            }
        }
    }
}

fn accept(stream: TcpStream, peer: SocketAddr, feed: &Feed) {
    info!("accepted a connection from {peer}");
    let feed = feed.clone();
    let reader = move || {
        let peer = peer.to_string();
        let closed = stream
            .set_nonblocking(false)
            .and_then(|()| feed.read(stream, &peer));
        match closed {
            Ok(()) => info!("{peer} closed the connection"),
            Err(e) => warn!("reading from {peer}: {e}"),
        }
    };
    if let Err(e) = spawn("reader", reader) {
        warn!("{e}");
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use ferry_plugin_api::sdk::parse_options;
    use ferry_plugin_api::sdk::Collected;

    use super::*;

    fn options(json: &str) -> Result<SocketSourceOptions> {
        parse_options(json)
    }

    #[test]
    fn max_record_bytes_takes_sizes_and_the_old_name() {
        let default = options(r#"{"port": 1}"#).unwrap();
        assert_eq!(default.max_record_bytes, ByteSize(1 << 20));
        let sized = options(r#"{"port": 1, "max_record_bytes": "2 KiB"}"#).unwrap();
        assert_eq!(sized.max_record_bytes, ByteSize(2048));
        let old = options(r#"{"port": 1, "max_line_bytes": 50}"#).unwrap();
        assert_eq!(old.max_record_bytes, ByteSize(50));
        let both = options(r#"{"port": 1, "max_line_bytes": 5, "max_record_bytes": 5}"#);
        assert!(both.unwrap_err().to_string().contains("duplicate field"));
    }

    #[test]
    fn a_line_over_max_record_bytes_is_rejected_with_its_size() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let json = format!(r#"{{"port": {port}, "mode": "listen", "max_record_bytes": 8}}"#);
        let ctx = Context::new("p", "in", std::env::temp_dir());
        let mut source = SocketSource::create(options(&json).unwrap(), &ctx).unwrap();
        let mut c = Collected::default();
        // The first poll binds the port.
        source.poll(10, Duration::ZERO, &mut c.output()).unwrap();
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        client.write_all(b"12345678\n123456789\nok\n").unwrap();
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while c.rows() + c.rejected.len() < 3 && std::time::Instant::now() < until {
            source
                .poll(10, Duration::from_millis(100), &mut c.output())
                .unwrap();
        }
        let values: Vec<String> = c
            .main()
            .iter()
            .flat_map(|b| {
                let v = b
                    .column(0)
                    .as_any()
                    .downcast_ref::<ferry_plugin_api::arrow::array::StringArray>()
                    .unwrap();
                v.iter().map(|s| s.unwrap().to_string()).collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(values, ["12345678", "ok"]);
        assert_eq!(c.rejected.len(), 1);
        let rejected = &c.rejected[0];
        assert_eq!(
            rejected.reason,
            "line of 9 bytes is longer than max_record_bytes (8 bytes)"
        );
        assert_eq!(rejected.raw, b"12345678");
        assert!(
            rejected.position.ends_with(" line 2"),
            "{}",
            rejected.position
        );
    }
}
