//! A real Kafka-protocol broker for the Kafka tests — tansu with its sqlite engine,
//! installed by tests/setup/20-kafka.sh — started per test on a free 127.0.0.1 port, and
//! the confluent-kafka client (tests/kafka_client.py) to produce and check data.

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::root;
use crate::socket::free_port;

/// The tansu binary: $FERRY_TANSU, else where the setup script installs it.
pub fn tansu() -> PathBuf {
    std::env::var_os("FERRY_TANSU")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("FERRY_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/ferry")
                });
            cache.join("tools/bin/tansu")
        })
}

/// A broker of our own, stopped when dropped; its data lives in its own folder, so it
/// can be stopped and started again on the same port with its topics kept.
pub struct Broker {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Broker {
    pub fn start() -> Broker {
        let mut broker = Broker {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        broker.restart();
        broker
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker (again) and waits until it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the broker is running");
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::File::create(self.dir.path().join("broker.log")).unwrap();
        let child = Command::new(tansu())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(self.dir.path())
            .env_remove("CLUSTER_ID")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {} (tests/setup/20-kafka.sh installs it): {e}",
                    tansu().display()
                )
            });
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < until,
                "tansu did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs a tests/kafka_client.py command against this broker; returns its stdout.
    pub fn client(&self, args: &[&str], stdin: &str) -> String {
        client(&self.bootstrap(), args, stdin)
    }

    pub fn create_topic(&self, topic: &str, partitions: u32) {
        self.client(&["create", topic, &partitions.to_string()], "");
    }

    /// Produces messages given as JSON lines (`{"value": .., "key": .., "partition": ..,
    /// "headers": {..}}`).
    pub fn produce(&self, topic: &str, messages: &[String]) {
        self.client(&["produce", topic], &messages.join("\n"));
    }

    /// Produces `{"id": n, "pad": ...}` for n in start..start+count, over `partitions`.
    pub fn produce_range(&self, topic: &str, start: u64, count: u64, partitions: u32) {
        self.client(
            &[
                "produce-range",
                topic,
                &start.to_string(),
                &count.to_string(),
                &partitions.to_string(),
            ],
            "",
        );
    }

    /// The consumer group's committed offset per partition (negative: none).
    pub fn committed(&self, group: &str, topic: &str, partitions: u32) -> Vec<i64> {
        self.client(&["committed", group, topic, &partitions.to_string()], "")
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["offset"].as_i64().unwrap()
            })
            .collect()
    }

    /// Reads `count` messages of `topic` from the beginning, as JSON values.
    pub fn consume(&self, topic: &str, count: usize) -> Vec<serde_json::Value> {
        self.client(&["consume", topic, &count.to_string(), "60"], "")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs tests/kafka_client.py; panics with its stderr if it fails.
pub fn client(bootstrap: &str, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new("python3")
        .arg(root().join("tests/kafka_client.py"))
        .arg(bootstrap)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kafka_client.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
