//! configs/socket-wordcount.toml, use case 5: lines from a TCP socket, split into words,
//! counted per word in complete mode, the counts surviving a restart.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ferry_tests::{dead_letter_rows, ferry, root, table_rows, Running};

/// A line server on 127.0.0.1: sends each payload it is given to its one client.
fn line_server() -> (u16, mpsc::Sender<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (send, payloads) = mpsc::channel::<Vec<u8>>();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        for payload in payloads {
            stream.write_all(&payload).unwrap();
            stream.flush().unwrap();
        }
    });
    (port, send)
}

fn start(dir: &std::path::Path, port: u16) -> Running {
    let config = root().join("configs/socket-wordcount.toml");
    let mut cmd = ferry(dir, &["run", config.to_str().unwrap()]);
    cmd.env("SOCKET_PORT", port.to_string());
    Running::start(cmd)
}

/// The counts in the last word-count table printed.
fn last_counts(stdout: &str) -> BTreeMap<String, i64> {
    let batches = stdout.rsplit("Batch: ");
    let rows = batches
        .map(|batch| table_rows(batch, &["word", "count"]))
        .find(|rows| !rows.is_empty())
        .unwrap_or_default();
    (rows.into_iter())
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect()
}

fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(w, n)| (w.to_string(), *n)).collect()
}

fn wait_for_counts(run: &mut Running, want: &BTreeMap<String, i64>) {
    let timeout = Duration::from_secs(60);
    run.wait_for_stdout(timeout, |out| last_counts(out) == *want);
}

#[test]
fn words_from_a_socket_are_counted_as_spark_counts_them_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (port, send) = line_server();
    let mut run = start(dir.path(), port);

    send.send(b"the cat sat\nthe cat ran\n".to_vec()).unwrap();
    let first = counts(&[("cat", 2), ("ran", 1), ("sat", 1), ("the", 2)]);
    wait_for_counts(&mut run, &first);

    // Two spaces make an empty word, as Spark's split does; a line that is not UTF-8 is
    // a dead letter, not a word.
    send.send(b"a  dog sat\n\xff\xfe\n".to_vec()).unwrap();
    let second = counts(&[
        ("", 1),
        ("a", 1),
        ("cat", 2),
        ("dog", 1),
        ("ran", 1),
        ("sat", 2),
        ("the", 2),
    ]);
    wait_for_counts(&mut run, &second);
    run.wait_for_stdout(Duration::from_secs(30), |out| {
        dead_letter_rows(out).iter().any(|r| r[0] == "fffe")
    });
    run.signal(libc::SIGTERM);
    let finished = run.wait(Duration::from_secs(20));
    assert!(finished.status.success(), "{finished:?}");

    // A new run continues the counts from its checkpoint.
    let (port, send) = line_server();
    let mut run = start(dir.path(), port);
    send.send(b"the end\n".to_vec()).unwrap();
    let mut third = second.clone();
    third.insert("the".into(), 3);
    third.insert("end".into(), 1);
    wait_for_counts(&mut run, &third);
    run.signal(libc::SIGTERM);
    let finished = run.wait(Duration::from_secs(20));
    assert!(finished.status.success(), "{finished:?}");
}
