//! The socket source in both modes and the socket sink, against TCP peers of the test:
//! lines in, the same lines out as JSON, bad lines to the dead-letter output.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use ferry_tests::socket::{connect, free_port, serve_once, LineCollector};
use ferry_tests::{ferry, hex, Running};

fn write_pipeline(dir: &Path, source: &str, out_port: u16, dead_port: u16) {
    std::fs::write(
        dir.join("p.toml"),
        format!(
            r#"
[pipeline]
name = "sock"
checkpoint_interval = "200ms"
errors.tolerance = "all"

[sources.in]
plugin = "socket"
{source}

[sinks.out]
plugin = "socket"
inputs = ["in"]
port = {out_port}
format = "json"

[sinks.dead]
plugin = "socket"
inputs = ["$dead_letter"]
port = {dead_port}
format = "json"
"#
        ),
    )
    .unwrap();
}

/// SIGTERM ends the run promptly and cleanly.
fn stop(run: Running) {
    run.signal(libc::SIGTERM);
    let started = Instant::now();
    let finished = run.wait(Duration::from_secs(10));
    assert!(finished.status.success(), "{finished:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

fn values(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            l.strip_prefix("{\"value\":\"")
                .unwrap()
                .strip_suffix("\"}")
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn connect_mode_reads_lines_and_the_sink_writes_them_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let (out, dead) = (LineCollector::start(), LineCollector::start());
    let mut payload = String::new();
    for i in 0..1000 {
        payload.push_str(&format!("line {i}\r\n"));
    }
    let port = serve_once(payload.into_bytes());
    write_pipeline(
        dir.path(),
        &format!("port = {port}\nmode = \"connect\""),
        out.port,
        dead.port,
    );
    let run = Running::start(ferry(dir.path(), &["run", "p.toml"]));
    let lines = out.wait_for(1000, Duration::from_secs(30));
    let expected: Vec<String> = (0..1000).map(|i| format!("line {i}")).collect();
    assert_eq!(values(&lines), expected);
    stop(run);
    assert!(dead.lines().is_empty(), "{:?}", dead.lines());
}

#[test]
fn connect_mode_retries_until_the_server_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let (out, dead) = (LineCollector::start(), LineCollector::start());
    let port = free_port();
    write_pipeline(dir.path(), &format!("port = {port}"), out.port, dead.port);
    let run = Running::start(ferry(dir.path(), &["run", "p.toml"]));
    std::thread::sleep(Duration::from_millis(1500));
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (mut stream, _) = listener.accept().unwrap();
    stream.write_all(b"late\n").unwrap();
    assert_eq!(values(&out.wait_for(1, Duration::from_secs(30))), ["late"]);
    assert!(
        run.stderr()
            .contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{}",
        run.stderr()
    );
    stop(run);
}

#[test]
fn listen_mode_reads_every_client() {
    let dir = tempfile::tempdir().unwrap();
    let (out, dead) = (LineCollector::start(), LineCollector::start());
    let port = free_port();
    write_pipeline(
        dir.path(),
        &format!("port = {port}\nmode = \"listen\"\ninclude_timestamp = true"),
        out.port,
        dead.port,
    );
    let run = Running::start(ferry(dir.path(), &["run", "p.toml"]));
    let mut a = connect(port, Duration::from_secs(30));
    let mut b = connect(port, Duration::from_secs(5));
    for i in 0..100 {
        writeln!(a, "a{i}").unwrap();
        writeln!(b, "b{i}").unwrap();
    }
    a.flush().unwrap();
    b.flush().unwrap();
    let lines = out.wait_for(200, Duration::from_secs(30));
    let mut got: Vec<String> = lines
        .iter()
        .map(|l| {
            let (value, rest) = l
                .strip_prefix("{\"value\":\"")
                .unwrap()
                .split_once('"')
                .unwrap();
            assert!(rest.starts_with(",\"timestamp\":\"20"), "{l}");
            value.to_string()
        })
        .collect();
    got.sort();
    let mut expected: Vec<String> = (0..100)
        .flat_map(|i| [format!("a{i}"), format!("b{i}")])
        .collect();
    expected.sort();
    assert_eq!(got, expected);
    stop(run);
}

#[test]
fn oversized_and_invalid_utf8_lines_go_to_the_dead_letter_output() {
    let dir = tempfile::tempdir().unwrap();
    let (out, dead) = (LineCollector::start(), LineCollector::start());
    let mut payload = b"first\n".to_vec();
    payload.extend(vec![b'x'; 100]);
    payload.extend(b"\nbad \xff\xfe byte\nlast\n");
    let port = serve_once(payload);
    write_pipeline(
        dir.path(),
        &format!("port = {port}\nmax_record_bytes = \"50B\""),
        out.port,
        dead.port,
    );
    let run = Running::start(ferry(dir.path(), &["run", "p.toml"]));
    assert_eq!(
        values(&out.wait_for(2, Duration::from_secs(30))),
        ["first", "last"]
    );
    let rejected: Vec<serde_json::Value> = dead
        .wait_for(2, Duration::from_secs(30))
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let peer = format!("127.0.0.1:{port}");
    assert_eq!(
        rejected[0]["reason"],
        "line of 100 bytes is longer than max_record_bytes (50 bytes)"
    );
    assert_eq!(rejected[0]["raw"], hex(&[b'x'; 50]));
    assert_eq!(rejected[0]["position"], format!("{peer} line 2"));
    assert_eq!(rejected[0]["node"], "in");
    assert_eq!(rejected[1]["reason"], "not valid UTF-8");
    assert_eq!(rejected[1]["raw"], hex(b"bad \xff\xfe byte"));
    assert_eq!(rejected[1]["position"], format!("{peer} line 3"));
    stop(run);
    assert_eq!(dead.lines().len(), 2, "{:?}", dead.lines());
}

#[test]
fn max_line_bytes_still_limits_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (out, dead) = (LineCollector::start(), LineCollector::start());
    let port = serve_once(b"short\nlonger than ten\n".to_vec());
    write_pipeline(
        dir.path(),
        &format!("port = {port}\nmax_line_bytes = 10"),
        out.port,
        dead.port,
    );
    let run = Running::start(ferry(dir.path(), &["run", "p.toml"]));
    assert_eq!(values(&out.wait_for(1, Duration::from_secs(30))), ["short"]);
    let rejected = dead.wait_for(1, Duration::from_secs(30));
    let r: serde_json::Value = serde_json::from_str(&rejected[0]).unwrap();
    assert_eq!(
        r["reason"],
        "line of 15 bytes is longer than max_record_bytes (10 bytes)"
    );
    stop(run);
}

#[test]
fn sink_refuses_to_start_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let dead = LineCollector::start();
    write_pipeline(
        dir.path(),
        &format!("port = {}", free_port()),
        port,
        dead.port,
    );
    let toml = std::fs::read_to_string(dir.path().join("p.toml")).unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        toml.replace(
            "name = \"sock\"",
            "name = \"sock\"\nrestart = { attempts = 0 }",
        ),
    )
    .unwrap();
    let run = Running::start(ferry(dir.path(), &["run", "p.toml"]));
    let finished = run.wait(Duration::from_secs(30));
    assert!(!finished.status.success());
    assert!(
        finished
            .stderr
            .contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{}",
        finished.stderr
    );
}

#[test]
fn tolerance_none_fails_at_a_bad_line_without_restarting_into_a_silent_success() {
    let dir = tempfile::tempdir().unwrap();
    let out = LineCollector::start();
    let port = serve_once(b"good 1\nbad \xff\ngood 2\n".to_vec());
    std::fs::write(
        dir.path().join("p.toml"),
        format!(
            "[pipeline]\nname = \"sock\"\ncheckpoint_interval = \"200ms\"\n\
             [sources.in]\nplugin = \"socket\"\nport = {port}\n\
             [sinks.out]\nplugin = \"socket\"\ninputs = [\"in\"]\nport = {}\nformat = \"json\"\n",
            out.port
        ),
    )
    .unwrap();
    let finished =
        Running::start(ferry(dir.path(), &["run", "p.toml"])).wait(Duration::from_secs(30));
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    let place = format!("127.0.0.1:{port} line 2");
    assert!(finished.stderr.contains(&place), "{}", finished.stderr);
    assert!(
        finished.stderr.contains("not valid UTF-8"),
        "{}",
        finished.stderr
    );
    assert!(
        !finished.stderr.contains("restarting"),
        "{}",
        finished.stderr
    );
}
