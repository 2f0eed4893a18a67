//! What `ferry plugins` prints: each component with its options, as text or as the
//! Markdown table its plugin's README holds (a test keeps the two equal).

use std::fmt::Write;

use serde_json::Value;

use crate::config::Section;
use crate::plugins::Registered;

/// One option of a component, from its JSON schema.
struct OptionRow {
    name: String,
    type_name: String,
    /// `required`, `optional` or the default value.
    default: String,
    description: String,
}

fn rows(c: &Registered) -> Vec<OptionRow> {
    let schema = &c.options_schema;
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let Some(props) = schema["properties"].as_object() else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, prop)| OptionRow {
            name: name.clone(),
            type_name: type_name(prop, schema),
            default: match (&prop["default"], required.contains(&name.as_str())) {
                (_, true) => "required".to_string(),
                (Value::Null, false) => "optional".to_string(),
                (d, false) => d.to_string(),
            },
            description: prop["description"]
                .as_str()
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect()
}

fn kind(c: &Registered) -> &'static str {
    c.kind.section().trim_end_matches('s')
}

/// The plain listing: a header line, the description, one line per option.
pub fn text(c: &Registered) -> String {
    let mut out = format!(
        "{} ({}, {} {})\n  {}\n",
        c.name,
        kind(c),
        c.library.display(),
        c.version,
        c.description
    );
    for r in rows(c) {
        let default = match r.default.as_str() {
            "required" | "optional" => r.default.clone(),
            d => format!("default {d}"),
        };
        let _ = writeln!(
            out,
            "    {:<24} {:<16} {default:<20} {}",
            r.name, r.type_name, r.description
        );
    }
    out
}

/// The Markdown section a plugin README holds for the component.
pub fn markdown(c: &Registered) -> String {
    let mut out = format!(
        "<!-- ferry plugins --markdown: {} {} -->\n| option | type | default | meaning |\n|---|---|---|---|\n",
        kind(c),
        c.name
    );
    for r in rows(c) {
        let cell = |s: &str| s.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            r.name,
            cell(&r.type_name),
            cell(&r.default),
            cell(&r.description)
        );
    }
    out.push('\n');
    out
}

/// A short type for an option's JSON schema: `string`, `integer`, `"a" | "b"`, `[string]`.
fn type_name(prop: &Value, root: &Value) -> String {
    if let Some(r) = prop["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r);
        return type_name(&root["$defs"][name], root);
    }
    if let Some(values) = prop["enum"].as_array() {
        return values
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" | ");
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = prop[key].as_array() {
            let names: Vec<String> = options
                .iter()
                .map(|o| {
                    o.get("const")
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| type_name(o, root))
                })
                .filter(|t| t != "null")
                .collect();
            return names.join(" | ");
        }
    }
    match &prop["type"] {
        Value::String(t) if t == "array" => {
            format!("[{}]", type_name(&prop["items"], root))
        }
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(|t| t.as_str())
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "value".to_string(),
    }
}
