//! On a terminal, `ferry run` prints a progress line per node every few seconds.

use std::process::Command;

use ferry_tests::{bin_dir, build};

#[test]
fn a_terminal_gets_a_progress_line_per_node() {
    build();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[pipeline]\nname = \"prog\"\n[sources.gen]\nplugin = \"datagen\"\nrows_per_second = 2000\nlimit = 13000\n\
         [sinks.out]\nplugin = \"console\"\ninputs = [\"gen\"]\nmode = \"count\"\n",
    )
    .unwrap();
    // `script` gives ferry a pseudo-terminal, as a person at a shell would.
    let ferry = bin_dir().join("ferry");
    let out = Command::new("script")
        .args([
            "-qec",
            &format!("{} run p.toml", ferry.display()),
            "/dev/null",
        ])
        .current_dir(dir.path())
        .env("FERRY_LOG", "info")
        .output()
        .expect("script(1) from util-linux runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let line = |node: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("[prog] {node}: in ")))
            .unwrap_or_else(|| panic!("no progress line for {node}:\n{text}"))
            .to_string()
    };
    assert!(line("gen").contains(" rows/s)"), "{}", line("gen"));
    assert!(
        line("out").starts_with("[prog] out: in "),
        "{}",
        line("out")
    );
}
