//! The pipeline graph wired by `inputs = [...]`: checks (unknown inputs, cycles, roles)
//! and the order to build nodes in.

use std::collections::{HashMap, HashSet};

use crate::config::{NodeConfig, NodeKind, PipelineFile, Problems, Tolerance, DEAD_LETTER};

/// Checks the wiring, recording every problem.
pub fn check(file: &PipelineFile, problems: &mut Problems) {
    let mut kinds: HashMap<&str, NodeKind> = HashMap::new();
    for node in &file.nodes {
        if let Some(other) = kinds.insert(&node.id, node.kind) {
            problems.add(
                &section(node),
                None,
                format!(
                    "node name '{}' is also used in [{}]",
                    node.id,
                    other.section()
                ),
            );
        }
    }
    for node in &file.nodes {
        check_inputs(node, &kinds, problems);
    }
    if let Some(cycle) = find_cycle(&file.nodes) {
        problems.add(
            &[],
            None,
            format!("the graph has a cycle: {}", cycle.join(" -> ")),
        );
    }
    check_dead_letter(file, problems);
    if !file.nodes.iter().any(|n| n.kind == NodeKind::Source) {
        problems.add(&[], None, "the pipeline has no [sources.<name>] section");
    }
    if !file.nodes.iter().any(|n| n.kind == NodeKind::Sink) {
        problems.add(&[], None, "the pipeline has no [sinks.<name>] section");
    }
}

fn section(node: &NodeConfig) -> [&str; 2] {
    [node.kind.section(), node.id.as_str()]
}

fn check_inputs(node: &NodeConfig, kinds: &HashMap<&str, NodeKind>, problems: &mut Problems) {
    let at = section(node);
    match node.kind {
        NodeKind::Source if !node.inputs.is_empty() => {
            problems.add(&at, Some("inputs"), "a source takes no inputs")
        }
        NodeKind::Transform | NodeKind::Sink if node.inputs.is_empty() => problems.add(
            &at,
            None,
            "missing key 'inputs' (the nodes this one reads from)",
        ),
        _ => {}
    }
    for input in &node.inputs {
        match kinds.get(input.as_str()) {
            _ if input == DEAD_LETTER => {}
            None => problems.add(
                &at,
                Some("inputs"),
                format!("inputs: no node named '{input}' (known: {})", known(kinds)),
            ),
            Some(NodeKind::Sink) => problems.add(
                &at,
                Some("inputs"),
                format!("inputs: '{input}' is a sink and has no output"),
            ),
            Some(_) => {}
        }
    }
}

fn known(kinds: &HashMap<&str, NodeKind>) -> String {
    let mut names: Vec<_> = kinds
        .iter()
        .filter(|(_, k)| **k != NodeKind::Sink)
        .map(|(n, _)| *n)
        .collect();
    names.sort();
    names.push(DEAD_LETTER);
    names.join(", ")
}

fn check_dead_letter(file: &PipelineFile, problems: &mut Problems) {
    let readers = file
        .nodes
        .iter()
        .any(|n| n.inputs.iter().any(|i| i == DEAD_LETTER));
    if file.settings.errors.tolerance == Tolerance::All && !readers {
        problems.add(
            &["pipeline"],
            Some("errors"),
            "errors.tolerance = \"all\" needs a sink with inputs = [\"$dead_letter\"]: rejected records are never dropped silently",
        );
    }
}

/// The nodes of one cycle, if there is one (depth-first search over inputs).
fn find_cycle(nodes: &[NodeConfig]) -> Option<Vec<String>> {
    let inputs: HashMap<&str, &[String]> = nodes
        .iter()
        .map(|n| (n.id.as_str(), n.inputs.as_slice()))
        .collect();
    let mut done = HashSet::new();
    for node in nodes {
        let mut path = Vec::new();
        if let Some(cycle) = visit(&node.id, &inputs, &mut path, &mut done) {
            return Some(cycle);
        }
    }
    None
}

fn visit<'a>(
    id: &'a str,
    inputs: &HashMap<&'a str, &'a [String]>,
    path: &mut Vec<&'a str>,
    done: &mut HashSet<&'a str>,
) -> Option<Vec<String>> {
    if let Some(start) = path.iter().position(|p| *p == id) {
        let mut cycle: Vec<String> = path[start..].iter().rev().map(|s| s.to_string()).collect();
        cycle.push(cycle[0].clone());
        return Some(cycle);
    }
    if done.contains(id) {
        return None;
    }
    path.push(id);
    for input in inputs.get(id).copied().unwrap_or_default() {
        if let Some(cycle) = visit(input, inputs, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(id);
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_valid;
    use std::io::Write;

    fn problems(toml: &str) -> Vec<String> {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        f.write_all(toml.as_bytes()).unwrap();
        let file = load_valid(f.path()).unwrap();
        let mut p = Problems::new(f.path(), toml);
        check(&file, &mut p);
        p.list
    }

    #[test]
    fn unknown_input_and_cycle_are_reported() {
        let p = problems(
            "[pipeline]\nname = \"p\"\n[sources.a]\nplugin = \"datagen\"\n\
             [transforms.t1]\nplugin = \"x\"\ninputs = [\"t2\"]\n\
             [transforms.t2]\nplugin = \"x\"\ninputs = [\"t1\", \"nope\"]\n\
             [sinks.s]\nplugin = \"console\"\ninputs = [\"t2\"]\n",
        );
        assert!(
            p.iter()
                .any(|m| m.contains("no node named 'nope'") && m.contains(":10:")),
            "{p:?}"
        );
        assert!(p.iter().any(|m| m.contains("cycle")), "{p:?}");
    }

    #[test]
    fn tolerance_all_needs_a_dead_letter_sink() {
        let p = problems(
            "[pipeline]\nname = \"p\"\nerrors.tolerance = \"all\"\n[sources.a]\nplugin = \"d\"\n\
             [sinks.s]\nplugin = \"console\"\ninputs = [\"a\"]\n",
        );
        assert!(p.iter().any(|m| m.contains("$dead_letter")), "{p:?}");
    }
}
