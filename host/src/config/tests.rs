use std::io::Write;

use super::*;

fn write(ext: &str, text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

const GOOD: &str = r#"
[pipeline]
name = "p"
checkpoint_interval = "2s"
trigger = "available_now"
errors.tolerance = "all"
restart = { attempts = 1, backoff = "10ms" }

[sources.Gen]
plugin = "datagen"
event_time = "timestamp"
watermark_delay = "30s"
CamelOption = { "Topic-A" = 1 }

[sinks.out]
plugin = "console"
inputs = ["Gen"]
"#;

#[test]
fn parses_host_keys_and_keeps_plugin_options_with_their_case() {
    let f = write(".toml", GOOD);
    let file = load_valid(f.path()).unwrap();
    assert_eq!(file.settings.name, "p");
    assert_eq!(file.settings.trigger, Trigger::AvailableNow);
    assert_eq!(file.settings.errors.tolerance, Tolerance::All);
    assert_eq!(file.settings.restart.attempts, 1);
    let source = &file.nodes[0];
    assert_eq!(
        (source.id.as_str(), source.kind),
        ("Gen", ComponentKind::Source)
    );
    assert_eq!(source.event_time.as_deref(), Some("timestamp"));
    assert_eq!(source.watermark_delay, std::time::Duration::from_secs(30));
    assert_eq!(source.options["CamelOption"]["Topic-A"], 1);
    assert!(!source.options.contains_key("plugin"));
    assert_eq!(file.nodes[1].inputs, vec![InputRef::parse("Gen", "Gen")]);
}

#[test]
fn yaml_and_json_give_the_same_pipeline() {
    let yaml = "pipeline:\n  name: p\nsources:\n  gen:\n    plugin: datagen\n    rows_per_second: 5\nsinks:\n  out:\n    plugin: console\n    inputs: [gen]\n";
    let json = r#"{"pipeline": {"name": "p"}, "sources": {"gen": {"plugin": "datagen", "rows_per_second": 5}},
                   "sinks": {"out": {"plugin": "console", "inputs": ["gen"]}}}"#;
    for (ext, text) in [(".yaml", yaml), (".json", json)] {
        let file = load_valid(write(ext, text).path()).unwrap();
        assert_eq!(file.nodes.len(), 2, "{ext}");
        assert_eq!(file.nodes[0].options["rows_per_second"], 5, "{ext}");
    }
}

#[test]
fn environment_variables_are_interpolated() {
    std::env::set_var("FERRY_TEST_TOPIC", "events");
    let f = write(".toml", "[pipeline]\nname = \"${FERRY_TEST_TOPIC}\"\n");
    assert_eq!(load_valid(f.path()).unwrap().settings.name, "events");
}

#[test]
fn every_bad_key_is_reported_with_its_line() {
    let f = write(
        ".toml",
        "[pipeline]\nname = \"p\"\ncheckpoint_intervall = \"1s\"\n\n[sourcez.x]\nplugin = \"d\"\n\n[sinks.out]\ninputs = [\"x\"]\nwatermark_delay = \"soon\"\n",
    );
    let problems = load(f.path()).1.list;
    let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(
        has(":3: [pipeline] unknown field `checkpoint_intervall`"),
        "{problems:#?}"
    );
    assert!(
        has(":5: [sourcez] unknown section 'sourcez'"),
        "{problems:#?}"
    );
    assert!(has(":8: [sinks.out] missing key 'plugin'"), "{problems:#?}");
    assert!(has(":10: [sinks.out] watermark_delay:"), "{problems:#?}");
}

#[test]
fn missing_file_and_bad_syntax_are_clear() {
    let missing = load(std::path::Path::new("/nonexistent/p.toml")).1.list;
    assert!(
        missing[0].contains("/nonexistent/p.toml") && missing[0].contains("cannot read"),
        "{missing:?}"
    );
    let f = write(".toml", "[pipeline\nname = 1");
    let bad = load(f.path()).1.list;
    assert!(bad[0].contains("cannot parse"), "{bad:?}");
}

#[test]
fn named_inputs_and_ports_are_read_and_misplaced_event_time_refused() {
    let text = r#"
[pipeline]
name = "p"
[sources.a]
plugin = "d"
idle_timeout = "5s"
[transforms.j]
plugin = "join"
inputs = { left = "a", right = "a.late" }
idle_timeout = "1s"
[sinks.out]
plugin = "console"
inputs = ["j"]
event_time = "ts"
"#;
    let f = write(".toml", text);
    let (file, problems) = load(f.path());
    let file = file.unwrap();
    let join = &file.nodes[1];
    assert_eq!(join.inputs[0], InputRef::parse("left", "a"));
    assert_eq!(
        (join.inputs[1].node.as_str(), join.inputs[1].port.as_str()),
        ("a", "late")
    );
    assert_eq!(
        file.nodes[0].idle_timeout,
        Some(std::time::Duration::from_secs(5))
    );
    let list = problems.list.join("\n");
    assert!(
        list.contains(":10: [transforms.j] idle_timeout: only a source"),
        "{list}"
    );
    assert!(
        list.contains(":14: [sinks.out] event_time: a sink does not use event time"),
        "{list}"
    );
}
