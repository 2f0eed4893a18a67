//! TCP helpers for the socket and Kafka tests: free ports, a line server that collects
//! what ferry sends, and one that feeds ferry lines.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A port nothing listens on right now (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server on 127.0.0.1 that accepts connections and keeps every line they send.
pub struct LineCollector {
    pub port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl LineCollector {
    pub fn start() -> LineCollector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let keep = lines.clone();
        thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let keep = keep.clone();
                thread::spawn(move || {
                    for line in BufReader::new(stream).lines().map_while(Result::ok) {
                        keep.lock().unwrap().push(line);
                    }
                });
            }
        });
        LineCollector { port, lines }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until at least `n` lines have arrived; panics with them after `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        let until = Instant::now() + timeout;
        loop {
            let lines = self.lines();
            if lines.len() >= n {
                return lines;
            }
            assert!(
                Instant::now() < until,
                "{} of {n} lines arrived in {timeout:?}: {lines:?}",
                lines.len()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A server on 127.0.0.1 that sends `payload` to the first client, then keeps the
/// connection open until the test ends.
pub fn serve_once(payload: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(&payload).unwrap();
        stream.flush().unwrap();
        thread::sleep(Duration::from_secs(600));
    });
    port
}

/// Connects to 127.0.0.1:`port`, retrying until `timeout` (the server may be starting).
pub fn connect(port: u16, timeout: Duration) -> TcpStream {
    let until = Instant::now() + timeout;
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => return stream,
            Err(e) if Instant::now() > until => panic!("cannot connect to port {port}: {e}"),
            Err(_) => thread::sleep(Duration::from_millis(50)),
        }
    }
}
