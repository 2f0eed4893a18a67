//! `ferry validate` lists every problem of every file, with file and line.

use ferry_tests::ferry;

#[test]
fn every_bad_key_is_reported_and_the_exit_code_is_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        r#"[pipeline]
name = "bad"
checkpoint_intervall = "1s"

[sources.gen]
plugin = "datagen"
rows_per_secnd = 5

[sources.files]
plugin = "file"
path = "in"
format = "json"

[transforms.t]
plugin = "no_such_plugin"
inputs = ["gen", "ghost"]

[sinks.out]
plugin = "console"
inputs = ["t", "files"]
colour = "red"
"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("good.toml"), "[pipeline]\nname = \"good\"\n[sources.g]\nplugin = \"datagen\"\n[sinks.c]\nplugin = \"console\"\ninputs = [\"g\"]\n").unwrap();
    let out = ferry(dir.path(), &["validate", "good.toml", "bad.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let expect = [
        "bad.toml:3: [pipeline] unknown field `checkpoint_intervall`",
        "bad.toml:7: [sources.gen] plugin 'datagen': unknown field `rows_per_secnd`",
        "bad.toml:9: [sources.files] plugin 'file':",
        "bad.toml:15: [transforms.t] no transform component named 'no_such_plugin'",
        "bad.toml:16: [transforms.t] inputs: no node named 'ghost'",
        "bad.toml:21: [sinks.out] plugin 'console': unknown field `colour`",
    ];
    for e in expect {
        assert!(stderr.contains(e), "missing {e:?} in:\n{stderr}");
    }
    assert!(
        stderr.contains("schema"),
        "the file source needs a schema for json:\n{stderr}"
    );

    let ok = ferry(dir.path(), &["validate", "good.toml"])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("good.toml: ok"));
}

#[test]
fn column_options_are_checked_against_the_schema_flowing_in() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        r#"[pipeline]
name = "columns"

[sources.gen]
plugin = "datagen"
generator = "messages"

[transforms.words]
plugin = "explode"
inputs = ["gen"]
column = "event_typ"
split = " "

[transforms.clean]
plugin = "sql"
inputs = ["gen"]
query = "SELECT *, to_date(timestamp) AS date FROM input"

[sinks.lake]
plugin = "lake"
inputs = ["clean"]
path = "lake"
partition_by = ["dat"]
"#,
    )
    .unwrap();
    let out = ferry(dir.path(), &["validate", "p.toml"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("[transforms.words] plugin 'explode': column: no column 'event_typ' in the input (its columns: timestamp, value, event_type,"),
        "{stderr}"
    );
    // The lake's input is the sql query's output: the messages columns and `date`.
    assert!(
        stderr.contains("[sinks.lake] plugin 'lake': partition_by: no column 'dat' in the input (its columns: timestamp, value, event_type, message_id, channel, country_id, user_id, date)"),
        "{stderr}"
    );
}

#[test]
fn a_multi_input_node_with_an_input_without_a_watermark_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        r#"[pipeline]
name = "union"

[sources.a]
plugin = "datagen"
event_time = "timestamp"

[sources.b]
plugin = "datagen"

[transforms.both]
plugin = "passthrough"
inputs = { a = "a", b = "b" }

[sinks.out]
plugin = "console"
inputs = ["both"]
"#,
    )
    .unwrap();
    let out = ferry(dir.path(), &["validate", "p.toml"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "a warning, not an error: {stderr}");
    assert!(
        stderr.contains("warning: ")
            && stderr.contains("[transforms.both]: input 'b' carries no watermark"),
        "{stderr}"
    );
}
