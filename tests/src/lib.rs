//! Harness for the end-to-end tests: builds the workspace once, then runs the real
//! `ferry` binary with its plugin libraries and watches its output.

pub mod kafka;
pub mod lake;
pub mod socket;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Where cargo puts the binaries (honours CARGO_TARGET_DIR).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Folder of the debug `ferry` binary and the plugin libraries beside it.
pub fn bin_dir() -> PathBuf {
    target_dir().join("debug")
}

/// Builds the host and every plugin once per test binary.
pub fn build() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            // The same selection as tests/run.sh, so features unify the same way and
            // nothing is compiled twice.
            .args(["build", "--workspace"])
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build of the workspace failed");
    });
}

/// `ferry` with the given arguments, run from `cwd`.
pub fn ferry(cwd: &Path, args: &[&str]) -> Command {
    build();
    let mut cmd = Command::new(bin_dir().join("ferry"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("FERRY_PLUGIN_PATH")
        .env("FERRY_LOG", "info");
    cmd
}

/// `ferry run configs/<name>`, the file as the repository ships it, from `cwd` with
/// `env` set (its `${VAR:-default}`s).
pub fn config_command(cwd: &Path, name: &str, env: &[(&str, &str)]) -> Command {
    let config = root().join("configs").join(name);
    let mut cmd = ferry(cwd, &["run", config.to_str().expect("a UTF-8 path")]);
    cmd.envs(env.iter().copied());
    cmd
}

/// A finished run's exit status and output.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A running `ferry` whose output is collected as it comes.
pub struct Running {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Running {
    pub fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ferry starts");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().expect("piped"), stdout.clone()),
            collect(child.stderr.take().expect("piped"), stderr.clone()),
        ];
        Running {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stdout satisfies `pred`; panics with the output after `timeout`.
    pub fn wait_for_stdout(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) {
        self.wait_for(timeout, Self::stdout, pred);
    }

    /// Waits until stderr satisfies `pred`; panics with the output after `timeout`.
    pub fn wait_for_stderr(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) {
        self.wait_for(timeout, Self::stderr, pred);
    }

    fn wait_for(
        &mut self,
        timeout: Duration,
        text: fn(&Self) -> String,
        pred: impl Fn(&str) -> bool,
    ) {
        let until = Instant::now() + timeout;
        while !pred(&text(self)) {
            if Instant::now() > until || self.child.try_wait().unwrap().is_some() {
                panic!(
                    "condition not met in {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    pub fn kill9(mut self) -> Finished {
        self.child.kill().expect("kill -9");
        self.wait(Duration::from_secs(10))
    }

    /// Waits for the process to exit; kills it and panics after `timeout`.
    pub fn wait(mut self, timeout: Duration) -> Finished {
        let until = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!(
                    "ferry did not exit in {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Finished {
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn collect(stream: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut s = into.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    })
}

/// Runs `ferry run <pipeline>` in `dir` to completion.
pub fn run_pipeline(dir: &Path, pipeline: &str, timeout: Duration) -> Finished {
    Running::start(ferry(dir, &["run", pipeline])).wait(timeout)
}

/// Runs `ferry run <pipeline>` in `dir` and kills it with SIGKILL after `delay`. True if
/// it was killed; false if it had finished by itself; panics if it failed on its own.
pub fn run_and_kill(dir: &Path, pipeline: &str, delay: Duration) -> bool {
    let run = Running::start(ferry(dir, &["run", pipeline]));
    thread::sleep(delay);
    killed(run.kill9())
}

/// Whether a run ended by kill -9 was still running (false: it had finished by itself);
/// panics if it failed on its own.
fn killed(finished: Finished) -> bool {
    if finished.status.success() {
        return false;
    }
    assert!(
        finished.status.code().is_none(),
        "the run failed on its own: {finished:?}"
    );
    true
}

/// As [`run_and_kill`], but the kill comes `delay` after the run has written a checkpoint
/// of its own, so that it always interrupts a run with saved state to resume from.
pub fn run_and_kill_after_checkpoint(
    dir: &Path,
    pipeline: &str,
    name: &str,
    delay: Duration,
) -> bool {
    let before = newest_epoch(dir, name);
    let mut run = Running::start(ferry(dir, &["run", pipeline]));
    let until = Instant::now() + Duration::from_secs(60);
    while newest_epoch(dir, name) == before {
        let running = run.child.try_wait().unwrap().is_none();
        assert!(
            running && Instant::now() < until,
            "no checkpoint: {}",
            run.stderr()
        );
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(delay);
    killed(run.kill9())
}

/// Kills `ferry run <pipeline>` in `dir` `kills` times, each [`run_and_kill_after_checkpoint`]
/// with a random delay of up to 400 ms; returns how many runs were killed (not finished).
pub fn kill_repeatedly(dir: &Path, pipeline: &str, name: &str, kills: usize) -> usize {
    let mut rng = lake::Rng::from_clock();
    let killed = (0..kills).filter(|_| {
        let delay = Duration::from_millis(rng.range(0, 400));
        run_and_kill_after_checkpoint(dir, pipeline, name, delay)
    });
    killed.count()
}

/// What DuckDB (from PyPI, a reader nobody here wrote) answers to `sql`, as Python
/// prints its `fetchall()`.
pub fn duckdb(sql: &str) -> String {
    python(
        &format!("import duckdb; print(duckdb.sql({sql:?}).fetchall())"),
        &[],
    )
}

/// SQL counting the rows of `a` not in `b` and of `b` not in `a`, as multisets (`EXCEPT
/// ALL` both ways): `[(0, 0)]` from DuckDB when the two tables hold the same rows.
pub fn multiset_differences(a: &str, b: &str) -> String {
    format!(
        "SELECT (SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})), \
         (SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}))"
    )
}

/// What `python3 -c script args...` prints; panics with its stderr if it fails.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes `path` (and its folder) as a file that is already complete: last modified a
/// minute ago, older than the file source's `file_stable_for`.
pub fn write_complete(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(60);
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(old).unwrap();
}

/// The newest checkpoint's epoch of pipeline `name` run in `dir`, from the manifests'
/// names (default state folder; 0 before the first).
pub fn newest_epoch(dir: &Path, name: &str) -> u64 {
    let folder = dir.join("state").join(name).join("checkpoints");
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    let epochs = entries.filter_map(|e| {
        let name = e.ok()?.file_name().into_string().ok()?;
        name.strip_suffix(".json")?.parse().ok()
    });
    epochs.max().unwrap_or(0)
}

/// The newest checkpoint manifest of pipeline `name` run in `dir` (default state folder).
pub fn manifest(dir: &Path, name: &str) -> serde_json::Value {
    let folder = dir.join("state").join(name).join("checkpoints");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let text = std::fs::read_to_string(files.last().expect("a checkpoint")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The cells of one console table line (`| a | b |`), trimmed.
pub fn table_cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split(" | ").map(|c| c.trim().to_string()).collect()
}

/// Bytes as lowercase hex, as the console sink prints a BINARY column (dead-letter `raw`).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a file atomically (temp name, then rename), as a producer should.
pub fn write_atomically(path: &Path, contents: &str) {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The `total` of the last `epoch <e>: <n> rows, <total> total` line console(count) printed.
pub fn last_total(stdout: &str) -> Option<u64> {
    stdout
        .lines()
        .rev()
        .filter_map(|l| l.strip_suffix(" total"))
        .filter_map(|l| l.rsplit(", ").next())
        .find_map(|n| n.trim().parse().ok())
}

/// JSON lines of the benchmark's message shape: `files` files of `rows` rows each, with
/// distinct ids `file * rows + row`.
pub fn write_messages(dir: &Path, files: usize, rows: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for f in 0..files {
        let mut text = String::new();
        for r in 0..rows {
            let id = f * rows + r;
            text.push_str(&format!(
                "{{\"timestamp\":\"2024-01-01T00:{:02}:{:02}.000Z\",\"value\":{id},\"event_type\":\"OPEN\",\"message_id\":\"m{id}\"}}\n",
                (id / 60) % 60,
                id % 60
            ));
        }
        write_atomically(&dir.join(format!("part-{f:05}.json")), &text);
    }
}

/// Builds a standalone cargo project under `tests/` (not a workspace member) and copies
/// its library into `into`, returning the copy's path. Its target folder is its own, so
/// its library never lands beside `ferry` where it would be found by default.
pub fn build_external(project: &str, into: &Path) -> PathBuf {
    let target = target_dir().join("external-plugins");
    let lib = format!("lib{}.so", project_lib_name(project));
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--manifest-path"])
        .arg(root().join("tests").join(project).join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building tests/{project} failed");
    std::fs::create_dir_all(into).unwrap();
    let copy = into.join(&lib);
    std::fs::copy(target.join("debug").join(&lib), &copy).unwrap();
    copy
}

fn project_lib_name(project: &str) -> &'static str {
    match project {
        "third-party-plugin" => "ferry_example_plugin",
        "incompatible-plugin" => "ferry_incompatible_plugin",
        other => panic!("unknown external project {other}"),
    }
}

/// The data rows of every console table whose header is exactly `columns`, cells trimmed.
pub fn table_rows(stdout: &str, columns: &[&str]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut in_table = false;
    for line in stdout.lines() {
        if !line.starts_with('|') {
            in_table &= line.starts_with('+');
            continue;
        }
        let row = table_cells(line);
        if row == columns {
            in_table = true;
        } else if in_table {
            out.push(row);
        }
    }
    out
}

/// The dead-letter records a console sink printed, in order, as (raw hex, reason, node,
/// position): the timestamp left out.
pub fn dead_letter_rows(stdout: &str) -> Vec<[String; 4]> {
    let header = ["raw", "reason", "node", "position", "timestamp"];
    (table_rows(stdout, &header).into_iter())
        .map(|r| [r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()])
        .collect()
}
