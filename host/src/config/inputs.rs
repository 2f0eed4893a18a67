//! `inputs = ["a", "split.corrupted"]` or `inputs = { left = "a", right = "b.late" }`:
//! which node and port each input of a node reads.

use serde_json::{Map, Value};

use super::{Problems, DEAD_LETTER};
use ferry_plugin_api::abi::{DEAD_LETTER_PORT, MAIN_PORT};

/// One input of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputRef {
    /// What the node calls this input: the key of `inputs = { left = "a" }`, or the
    /// reference as written in a list.
    pub name: String,
    /// The node read from (`$dead_letter` for the pipeline's rejected records).
    pub node: String,
    /// The port read: `out` unless the reference says `node.port`.
    pub port: String,
}

impl InputRef {
    /// Reads `node` or `node.port`.
    pub fn parse(name: &str, reference: &str) -> Self {
        let (node, port) = match reference.split_once('.') {
            _ if reference == DEAD_LETTER => (DEAD_LETTER, DEAD_LETTER_PORT),
            Some((node, port)) => (node, port),
            None => (reference, MAIN_PORT),
        };
        Self {
            name: name.to_string(),
            node: node.to_string(),
            port: port.to_string(),
        }
    }

    /// Whether this is the pipeline-wide union of rejected records.
    pub fn is_dead_letter(&self) -> bool {
        self.node == DEAD_LETTER
    }

    /// `node.port`, as a message names it.
    pub fn reference(&self) -> String {
        if self.is_dead_letter() {
            DEAD_LETTER.to_string()
        } else {
            format!("{}.{}", self.node, self.port)
        }
    }
}

/// Takes `inputs` out of a node's section.
pub(super) fn take(
    options: &mut Map<String, Value>,
    section: &[&str],
    problems: &mut Problems,
) -> Vec<InputRef> {
    let references = |name: &str, v: &Value| v.as_str().map(|r| InputRef::parse(name, r));
    let parsed: Option<Vec<InputRef>> = match options.remove("inputs") {
        None => Some(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| references(v.as_str().unwrap_or_default(), v))
            .collect(),
        Some(Value::Object(named)) => named.iter().map(|(k, v)| references(k, v)).collect(),
        Some(_) => None,
    };
    parsed.unwrap_or_else(|| {
        problems.add(
            section,
            Some("inputs"),
            "inputs: must be a list of node names (\"a\", \"a.port\") or a table of named inputs ({ left = \"a\", right = \"b\" })",
        );
        Vec::new()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_names_a_node_and_a_port() {
        let plain = InputRef::parse("a", "a");
        assert_eq!((plain.node.as_str(), plain.port.as_str()), ("a", "out"));
        let port = InputRef::parse("left", "split.corrupted");
        assert_eq!(
            (port.name.as_str(), port.node.as_str(), port.port.as_str()),
            ("left", "split", "corrupted")
        );
        let dl = InputRef::parse("$dead_letter", "$dead_letter");
        assert!(dl.is_dead_letter());
        assert_eq!(dl.reference(), "$dead_letter");
    }
}
