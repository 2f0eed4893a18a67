//! The file source's `encoding` (Spark's `encoding` / `charset`), through the real
//! binary: the same rows written by Python as UTF-8, UTF-16LE with a byte order mark
//! (declared, and detected without the option), UTF-16BE without one, ISO-8859-1 and
//! windows-1252 read to exactly the same values, in JSON and CSV; bytes invalid in the
//! declared encoding are a dead-letter record (the line's own bytes, the reason, the
//! position) under `"all"` and a failed run naming the record under `"none"`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ferry_tests::{dead_letter_rows, hex, run_pipeline, table_rows};

/// Rows every encoding here can hold.
const ROWS: [(u32, &str); 3] = [(1, "café"), (2, "Zoë ½ ©"), (3, "Straße, ñ")];
/// A row ISO-8859-1 cannot hold.
const EURO: (u32, &str) = (4, "€5 – “ok” œ");

/// Writes each `(path, Python codec, byte order mark, text)` with Python's codecs, as
/// another program would, dated a minute back so they are read at once.
const WRITE: &str = r#"
import json, os, sys, time
for path, codec, bom, text in json.load(sys.stdin):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(bytes.fromhex(bom) + text.encode(codec))
    os.utime(path, (time.time() - 60, time.time() - 60))
"#;

fn json_text(rows: &[(u32, &str)]) -> String {
    let line = |(id, name): &(u32, &str)| format!("{{\"id\": {id}, \"name\": \"{name}\"}}\n");
    rows.iter().map(line).collect()
}

fn csv_text(rows: &[(u32, &str)]) -> String {
    let line = |(id, name): &(u32, &str)| match name.contains(',') {
        true => format!("{id},\"{name}\"\n"),
        false => format!("{id},{name}\n"),
    };
    format!("id,name\n{}", rows.iter().map(line).collect::<String>())
}

/// A source over one folder of files holding the same rows.
struct Case {
    /// Its node id and folder (after the format).
    name: &'static str,
    /// Its encoding option, as TOML.
    option: &'static str,
    /// Its files: name, Python codec, byte order mark as hex.
    files: &'static [(&'static str, &'static str, &'static str)],
    /// Whether the files hold the € row.
    euro: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "utf8",
        option: "",
        files: &[("a", "utf-8", ""), ("b", "utf-16-le", "fffe")],
        euro: true,
    },
    Case {
        name: "utf16le",
        option: "encoding = \"UTF-16LE\"",
        files: &[("a", "utf-16-le", "fffe")],
        euro: true,
    },
    Case {
        name: "utf16be",
        option: "charset = \"UTF-16BE\"",
        files: &[("a", "utf-16-be", "")],
        euro: true,
    },
    Case {
        name: "latin1",
        option: "encoding = \"ISO-8859-1\"",
        files: &[("a", "iso-8859-1", "")],
        euro: false,
    },
    Case {
        name: "cp1252",
        option: "encoding = \"windows-1252\"",
        files: &[("a", "cp1252", "")],
        euro: true,
    },
];

fn write_with_python(files: &serde_json::Value) {
    let mut child = Command::new("python3")
        .args(["-c", WRITE])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let stdin = child.stdin.take().unwrap();
    serde_json::to_writer(stdin, files).unwrap();
    assert!(child.wait().unwrap().success());
}

/// A pipeline of `sources` (id, TOML), a console sink on each and one on `$dead_letter`.
fn pipeline(dir: &Path, tolerance: &str, sources: &[(String, String)]) {
    let mut toml = format!(
        "[pipeline]\nname = \"encodings\"\ntrigger = \"available_now\"\n\
         errors.tolerance = \"{tolerance}\"\nrestart = {{ attempts = 3, backoff = \"10ms\" }}\n"
    );
    for (id, source) in sources {
        toml += &format!("\n[sources.{id}]\nplugin = \"file\"\nfile_column = \"file\"\n{source}\n");
        toml += &format!(
            "\n[sinks.{id}_out]\nplugin = \"console\"\ninputs = [\"{id}\"]\ntruncate = false\n"
        );
    }
    toml += "\n[sinks.bad]\nplugin = \"console\"\ninputs = [\"$dead_letter\"]\ntruncate = false\n";
    std::fs::write(dir.join("p.toml"), toml).unwrap();
}

/// The rows printed, by file: (id, name) in id order.
fn rows_by_file(stdout: &str) -> BTreeMap<String, Vec<(u32, String)>> {
    let mut files: BTreeMap<String, Vec<(u32, String)>> = BTreeMap::new();
    for row in table_rows(stdout, &["id", "name", "file"]) {
        let entry = files.entry(row[2].clone()).or_default();
        entry.push((row[0].parse().unwrap(), row[1].clone()));
    }
    files.values_mut().for_each(|rows| rows.sort());
    files
}

#[test]
fn every_encoding_reads_to_the_same_values_in_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (mut files, mut sources, mut expected) = (Vec::new(), Vec::new(), BTreeMap::new());
    for format in ["json", "csv"] {
        for case in CASES {
            let mut rows = ROWS.to_vec();
            if case.euro {
                rows.push(EURO);
            }
            let text = match format {
                "json" => json_text(&rows),
                _ => csv_text(&rows),
            };
            let folder = format!("{format}_{}", case.name);
            for (file, codec, bom) in case.files {
                let path = format!("{folder}/{file}.{format}");
                files.push(serde_json::json!([
                    dir.path().join(&path),
                    codec,
                    bom,
                    text
                ]));
                let values = rows.iter().map(|(id, v)| (*id, v.to_string())).collect();
                expected.insert(path, values);
            }
            let source = format!(
                "path = \"{folder}\"\nformat = \"{format}\"\nschema = \"id INT, name STRING\"\n{}",
                case.option
            );
            sources.push((folder, source));
        }
    }
    write_with_python(&serde_json::Value::Array(files));
    pipeline(dir.path(), "none", &sources);
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(120));
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(rows_by_file(&run.stdout), expected, "{}", run.stdout);
    assert_eq!(dead_letter_rows(&run.stdout), Vec::<[String; 4]>::new());
    for folder in ["json_utf8", "csv_utf8"] {
        let ext = &folder[..folder.find('_').unwrap()];
        let detected = format!(
            "'{folder}/b.{ext}' starts with a UTF-16LE byte order mark: decoding it as UTF-16LE"
        );
        assert!(run.stderr.contains(&detected), "{}", run.stderr);
    }
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let units = text.encode_utf16();
    match big_endian {
        true => units.flat_map(u16::to_be_bytes).collect(),
        false => units.flat_map(u16::to_le_bytes).collect(),
    }
}

/// `bad/c.json` in UTF-16LE and `bad/d.csv` in UTF-16BE, each with a lone surrogate in
/// the name of its record 2. Returns, per file, the bad line's bytes and the offset of
/// the surrogate.
fn write_bad(dir: &Path) -> [(Vec<u8>, usize); 2] {
    std::fs::create_dir_all(dir.join("bad")).unwrap();
    let mut out = Vec::new();
    for (file, big_endian, head, tail) in [
        (
            "c.json",
            false,
            "{\"id\": 1, \"name\": \"a\"}\n",
            "{\"id\": 3, \"name\": \"c\"}\n",
        ),
        ("d.csv", true, "id,name\n1,a\n", "3,c\n"),
    ] {
        let (start, end) = match big_endian {
            false => ("{\"id\": 2, \"name\": \"b", "\"}"),
            true => ("2,b", ""),
        };
        // A high surrogate (LE 00 d8), a low one with no high before it (BE dc 00).
        let surrogate: &[u8] = if big_endian {
            &[0xdc, 0x00]
        } else {
            &[0x00, 0xd8]
        };
        let line = [
            utf16(start, big_endian),
            surrogate.to_vec(),
            utf16(end, big_endian),
        ]
        .concat();
        let head = utf16(head, big_endian);
        let offset = head.len() + utf16(start, big_endian).len();
        let data = [
            head,
            line.clone(),
            utf16("\n", big_endian),
            utf16(tail, big_endian),
        ]
        .concat();
        std::fs::write(dir.join("bad").join(file), data).unwrap();
        out.push((line, offset));
    }
    out.try_into().unwrap()
}

fn bad_sources(both: bool) -> Vec<(String, String)> {
    let json = "path = \"bad/*.json\"\nformat = \"json\"\nschema = \"id INT, name STRING\"\nencoding = \"UTF-16LE\"";
    let csv = "path = \"bad/*.csv\"\nformat = \"csv\"\nschema = \"id INT, name STRING\"\nencoding = \"UTF-16BE\"";
    let mut sources = vec![("json".to_string(), json.to_string())];
    if both {
        sources.push(("csv".to_string(), csv.to_string()));
    }
    sources
}

#[test]
fn bytes_invalid_in_the_encoding_are_a_dead_letter_record_under_tolerance_all() {
    let dir = tempfile::tempdir().unwrap();
    let [(json_line, json_at), (csv_line, csv_at)] = write_bad(dir.path());
    pipeline(dir.path(), "all", &bad_sources(true));
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(120));
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let good = |file: &str| (file.to_string(), vec![(1, "a".into()), (3, "c".into())]);
    let expected = BTreeMap::from([good("bad/c.json"), good("bad/d.csv")]);
    assert_eq!(rows_by_file(&run.stdout), expected, "{}", run.stdout);
    let mut dead = dead_letter_rows(&run.stdout);
    dead.sort_by(|a, b| a[3].cmp(&b[3]));
    let expected = [
        [
            hex(&json_line),
            format!("invalid UTF-16LE (byte {json_at} of the file: 00 d8)"),
            "json".into(),
            "bad/c.json:2".into(),
        ],
        [
            hex(&csv_line),
            format!("invalid UTF-16BE (byte {csv_at} of the file: dc 00)"),
            "csv".into(),
            "bad/d.csv:3".into(),
        ],
    ];
    assert_eq!(dead, expected, "{}", run.stdout);
}

#[test]
fn bytes_invalid_in_the_encoding_fail_the_run_under_tolerance_none() {
    let dir = tempfile::tempdir().unwrap();
    let [(_, json_at), _] = write_bad(dir.path());
    pipeline(dir.path(), "none", &bad_sources(false));
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(120));
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let message = format!(
        "node 'json' failed: rejected a record at bad/c.json:2: invalid UTF-16LE (byte {json_at} of the file: 00 d8)"
    );
    assert!(run.stderr.contains(&message), "{}", run.stderr);
    assert!(!run.stderr.contains("restarting"), "{}", run.stderr);
    assert_eq!(dead_letter_rows(&run.stdout), Vec::<[String; 4]>::new());
}
