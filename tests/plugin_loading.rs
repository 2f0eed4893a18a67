//! Plugin libraries: a third-party plugin built outside the workspace is loaded through
//! `plugin_path`; a foreign `.so`, an incompatible plugin and a plugin built against the
//! previous plugin ABI are refused with reasons; a panicking plugin fails its own
//! pipeline while the host and other pipelines go on.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferry_tests::{build_external, ferry, last_total, root, run_pipeline, target_dir, Running};

#[test]
fn third_party_plugin_loads_from_its_own_folder_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    build_external("third-party-plugin", &dir.path().join("my-plugins"));
    std::fs::write(
        dir.path().join("p.toml"),
        r#"
[pipeline]
name = "third-party"
plugin_path = ["my-plugins"]

[sources.gen]
plugin = "datagen"
generator = "messages"
rows_per_second = 0
limit = 50
seed = 7

[transforms.shout]
plugin = "uppercase"
inputs = ["gen"]
columns = ["channel"]

[sinks.out]
plugin = "console"
inputs = ["shout"]
num_rows = 50
"#,
    )
    .unwrap();
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(run.status.success(), "{run:?}");
    let channels = ["EMAIL", "SMS", "PUSH", "WEB", "IN_APP"];
    let rows: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("| 20"))
        .collect();
    assert_eq!(rows.len(), 50, "{}", run.stdout);
    for row in rows {
        assert!(
            channels.iter().any(|c| row.contains(&format!("| {c} "))),
            "{row}"
        );
        assert!(!row.contains("| email "), "{row}");
    }
}

#[test]
fn foreign_and_incompatible_libraries_are_refused_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let abi = host_abi_version();
    build_external("incompatible-plugin", &plugins);
    std::fs::write(plugins.join("libnoise.so"), b"\x7fELF not really a library").unwrap();
    // A real shared library that is not a ferry plugin (libm ships with libc6).
    let libm = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib64/libm.so.6",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("a system libm to stand in for a foreign library");
    std::fs::copy(libm, plugins.join("libm.so")).unwrap();
    let out = ferry(dir.path(), &["plugins", "--plugin-path", "plugins"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let refused = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with("refused ") && l.contains(name))
            .unwrap_or_else(|| panic!("{name} not refused:\n{stdout}"))
            .to_string()
    };
    assert!(refused("libnoise.so").contains("file too short"));
    assert!(refused("libm.so").contains("not a ferry plugin"));
    // It declares the host's ABI version, so abi_stable gets past the version check and
    // refuses it for its layout.
    let incompatible = refused("libferry_incompatible_plugin.so");
    assert!(
        incompatible.contains(&format!(
            "built against an incompatible ferry-plugin-api: its root module comes from \
             ferry-incompatible-plugin {abi}, this ferry loads plugins built against \
             ferry-plugin-api {abi} (type layouts differ: mismatched package \
             Expected: ferry-plugin-api Found: ferry-incompatible-plugin)"
        )),
        "{incompatible}"
    );
    assert!(
        stdout.contains("datagen (source"),
        "the good plugins still load:\n{stdout}"
    );
    let option = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("rows_per_second "))
        .unwrap_or_else(|| panic!("datagen's options are listed:\n{stdout}"));
    assert!(
        option.contains("number")
            && option.contains("default 1.0")
            && option.contains("Rows per second"),
        "{option}"
    );

    // A pipeline that needs none of the refused libraries runs.
    std::fs::write(
        dir.path().join("ok.toml"),
        "[pipeline]\nname = \"ok\"\nplugin_path = [\"plugins\"]\n[sources.g]\nplugin = \"datagen\"\nrows_per_second = 0\nlimit = 5\n[sinks.c]\nplugin = \"console\"\ninputs = [\"g\"]\nmode = \"count\"\n",
    )
    .unwrap();
    let run = run_pipeline(dir.path(), "ok.toml", Duration::from_secs(60));
    assert!(run.status.success(), "{run:?}");
    assert_eq!(last_total(&run.stdout), Some(5));
    assert!(
        run.stderr.contains("refused plugin library"),
        "{}",
        run.stderr
    );

    // One that needs a component nobody provides says which libraries were refused.
    std::fs::write(
        dir.path().join("missing.toml"),
        "[pipeline]\nname = \"m\"\nplugin_path = [\"plugins\"]\n[sources.g]\nplugin = \"describe\"\n[sinks.c]\nplugin = \"console\"\ninputs = [\"g\"]\n",
    )
    .unwrap();
    let out = ferry(dir.path(), &["validate", "missing.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("no source component named 'describe'")
            && stderr.contains("libferry_incompatible_plugin.so"),
        "{stderr}"
    );
}

#[test]
fn a_plugin_built_against_plugin_api_0_1_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    build_locked(
        &root().join("tests/plugin-0.1"),
        "ferry_plugin_0_1",
        &target_dir().join("external-plugins"),
        &plugins,
    );
    let reason = "built against ferry-plugin-api 0.1.0, but this ferry loads plugins built \
                  against ferry-plugin-api 0.2.0: rebuild it against that version";

    let out = ferry(dir.path(), &["plugins", "--plugin-path", "plugins"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l == format!("refused plugins/libferry_plugin_0_1.so: {reason}")),
        "{stdout}"
    );
    assert!(!stdout.contains("old_passthrough"), "{stdout}");

    std::fs::write(
        dir.path().join("old.toml"),
        r#"
[pipeline]
name = "old"
plugin_path = ["plugins"]

[sources.gen]
plugin = "datagen"
rows_per_second = 0
limit = 5

[transforms.pass]
plugin = "old_passthrough"
inputs = ["gen"]

[sinks.out]
plugin = "console"
inputs = ["pass"]
mode = "count"
"#,
    )
    .unwrap();
    let out = ferry(dir.path(), &["validate", "old.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no transform component named 'old_passthrough'"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("refused plugins/libferry_plugin_0_1.so: {reason}")),
        "{stderr}"
    );
}

#[test]
fn a_panicking_plugin_fails_its_pipeline_and_the_host_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    build_external("third-party-plugin", &dir.path().join("my-plugins"));
    std::fs::write(
        dir.path().join("boom.toml"),
        r#"
[pipeline]
name = "boom"
plugin_path = ["my-plugins"]
restart = { attempts = 1, backoff = "10ms" }

[sources.gen]
plugin = "datagen"
rows_per_second = 0
limit = 100000

[transforms.boom]
plugin = "chaos"
inputs = ["gen"]
panic_after_batches = 2

[sinks.out]
plugin = "console"
inputs = ["boom"]
mode = "count"
"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("calm.toml"),
        "[pipeline]\nname = \"calm\"\n[sources.g]\nplugin = \"datagen\"\nrows_per_second = 200\nlimit = 400\n[sinks.c]\nplugin = \"console\"\ninputs = [\"g\"]\nmode = \"count\"\n",
    )
    .unwrap();
    let run = Running::start(ferry(dir.path(), &["run", "boom.toml", "calm.toml"]))
        .wait(Duration::from_secs(60));
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("node 'boom' failed: panicked: chaos: deliberate panic"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("restarting from the last checkpoint"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("pipeline failed"), "{}", run.stderr);
    assert!(
        run.stdout.contains("400 total"),
        "the other pipeline completed: {}",
        run.stdout
    );
}

/// The plugin ABI this ferry loads: `ferry-plugin-api`'s own version.
fn host_abi_version() -> String {
    let manifest = std::fs::read_to_string(root().join("plugin-api/Cargo.toml")).unwrap();
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("plugin-api/Cargo.toml states its version")
        .to_string()
}

/// Builds a standalone plugin project with the dependencies its Cargo.lock pins
/// (`--locked`) in `target`, and copies `lib<lib_name>.so` into `into`.
fn build_locked(project: &Path, lib_name: &str, target: &Path, into: &Path) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--locked", "--manifest-path"])
        .arg(project.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building {} failed", project.display());
    let lib = format!("lib{lib_name}.so");
    std::fs::create_dir_all(into).unwrap();
    let copy = into.join(&lib);
    std::fs::copy(target.join("debug").join(&lib), &copy).unwrap();
    copy
}
