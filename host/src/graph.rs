//! The pipeline graph wired by `inputs = [...]`: checks (unknown inputs, cycles, roles),
//! and the event time each node's input carries.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::config::{ComponentKind, NodeConfig, PipelineFile, Problems, Section, DEAD_LETTER};

/// Checks the wiring by node names, recording every problem. Ports are checked once the
/// components are known (`validate`), since a component may derive them from options.
pub fn check(file: &PipelineFile, problems: &mut Problems) {
    let mut kinds: HashMap<&str, ComponentKind> = HashMap::new();
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
        if node.id.contains('.') || node.id.starts_with('$') {
            problems.add(
                &section(node),
                None,
                format!(
                    "node name '{}': '.' and a leading '$' are reserved for ports",
                    node.id
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
    if !file.nodes.iter().any(|n| n.kind == ComponentKind::Source) {
        problems.add(&[], None, "the pipeline has no [sources.<name>] section");
    }
    if !file.nodes.iter().any(|n| n.kind == ComponentKind::Sink) {
        problems.add(&[], None, "the pipeline has no [sinks.<name>] section");
    }
}

fn section(node: &NodeConfig) -> [&str; 2] {
    [node.kind.section(), node.id.as_str()]
}

fn check_inputs(node: &NodeConfig, kinds: &HashMap<&str, ComponentKind>, problems: &mut Problems) {
    let at = section(node);
    match node.kind {
        ComponentKind::Source if !node.inputs.is_empty() => {
            problems.add(&at, Some("inputs"), "a source takes no inputs")
        }
        ComponentKind::Transform | ComponentKind::Sink if node.inputs.is_empty() => problems.add(
            &at,
            None,
            "missing key 'inputs' (the nodes this one reads from)",
        ),
        _ => {}
    }
    let mut names = HashSet::new();
    for input in &node.inputs {
        if !names.insert(input.name.as_str()) {
            let message = format!("inputs: '{}' is listed twice", input.name);
            problems.add(&at, Some("inputs"), message);
        }
        match kinds.get(input.node.as_str()) {
            _ if input.is_dead_letter() && node.kind != ComponentKind::Sink => problems.add(
                &at,
                Some("inputs"),
                format!("inputs: only a sink reads {DEAD_LETTER}; a transform reads one node's rejected records with \"<node>.dead_letter\""),
            ),
            _ if input.is_dead_letter() => {}
            None => problems.add(
                &at,
                Some("inputs"),
                format!(
                    "inputs: no node named '{}' (known: {})",
                    input.node,
                    known(kinds)
                ),
            ),
            Some(ComponentKind::Sink) => problems.add(
                &at,
                Some("inputs"),
                format!("inputs: '{}' is a sink and has no output", input.node),
            ),
            Some(_) => {}
        }
    }
}

fn known(kinds: &HashMap<&str, ComponentKind>) -> String {
    let mut names: Vec<_> = kinds
        .iter()
        .filter(|(_, k)| **k != ComponentKind::Sink)
        .map(|(n, _)| *n)
        .collect();
    names.sort();
    names.push(DEAD_LETTER);
    names.join(", ")
}

/// A stream's event time: its column and watermark delay.
pub type EventTime = (String, Duration);

/// The event time of the stream entering each node (for a source, the one it produces):
/// the node's own `event_time`, else the one all its inputs carry. `None` where no
/// watermark reaches the node, or its inputs disagree.
pub fn event_times(nodes: &[NodeConfig]) -> HashMap<String, Option<EventTime>> {
    let by_id: HashMap<&str, &NodeConfig> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut resolved = HashMap::new();
    for node in nodes {
        resolve(node, &by_id, &mut resolved, &mut HashSet::new());
    }
    resolved
}

fn resolve(
    node: &NodeConfig,
    by_id: &HashMap<&str, &NodeConfig>,
    resolved: &mut HashMap<String, Option<EventTime>>,
    visiting: &mut HashSet<String>,
) -> Option<EventTime> {
    if let Some(known) = resolved.get(&node.id) {
        return known.clone();
    }
    let own = node
        .event_time
        .clone()
        .map(|column| (column, node.watermark_delay));
    let result = own.or_else(|| {
        if !visiting.insert(node.id.clone()) {
            return None; // a cycle, reported by `check`
        }
        let mut upstream = node.inputs.iter().filter(|i| !i.is_dead_letter()).map(|i| {
            let input = by_id.get(i.node.as_str())?;
            resolve(input, by_id, resolved, visiting)
        });
        let first = upstream.next()??;
        upstream
            .all(|u| u.as_ref() == Some(&first))
            .then_some(first)
    });
    resolved.insert(node.id.clone(), result.clone());
    result
}

/// Multi-input nodes with an input that never carries a watermark: their combined
/// watermark (the minimum) would never move.
pub fn watermark_warnings(file: &PipelineFile) -> Vec<String> {
    let times = event_times(&file.nodes);
    let carries = |node: &str| times.get(node).is_some_and(Option::is_some);
    let multi = file.nodes.iter().filter(|n| {
        n.kind == ComponentKind::Transform && n.inputs.len() > 1 && n.event_time.is_none()
    });
    let mut warnings = Vec::new();
    for node in multi {
        for input in node.inputs.iter().filter(|i| !i.is_dead_letter()) {
            if !carries(&input.node) {
                warnings.push(format!(
                    "[transforms.{}]: input '{}' carries no watermark, so the node's watermark (the minimum over its inputs) never moves; declare event_time upstream of it",
                    node.id, input.name
                ));
            }
        }
    }
    warnings
}

/// Node indexes with every node after the nodes it reads (nodes on a cycle, which
/// `check` reports, come last in file order).
pub fn upstream_first(nodes: &[NodeConfig]) -> Vec<usize> {
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut placed = vec![false; nodes.len()];
    let mut order = Vec::new();
    loop {
        let ready: Vec<usize> = (0..nodes.len())
            .filter(|&i| !placed[i])
            .filter(|&i| {
                nodes[i]
                    .inputs
                    .iter()
                    .all(|input| match index.get(input.node.as_str()) {
                        Some(&p) => placed[p],
                        None => true,
                    })
            })
            .collect();
        if ready.is_empty() {
            break;
        }
        for i in ready {
            placed[i] = true;
            order.push(i);
        }
    }
    order.extend((0..nodes.len()).filter(|&i| !placed[i]));
    order
}

/// The nodes of one cycle, if there is one (depth-first search over inputs).
fn find_cycle(nodes: &[NodeConfig]) -> Option<Vec<String>> {
    let inputs: HashMap<&str, Vec<&str>> = nodes
        .iter()
        .map(|n| {
            let upstream = n.inputs.iter().map(|i| i.node.as_str()).collect();
            (n.id.as_str(), upstream)
        })
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
    inputs: &HashMap<&'a str, Vec<&'a str>>,
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
    for input in inputs.get(id).cloned().unwrap_or_default() {
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

    fn file(toml: &str) -> (PipelineFile, tempfile::NamedTempFile) {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        f.write_all(toml.as_bytes()).unwrap();
        (load_valid(f.path()).unwrap(), f)
    }

    fn problems(toml: &str) -> Vec<String> {
        let (file, f) = file(toml);
        let mut p = Problems::new(f.path(), toml);
        check(&file, &mut p);
        p.list
    }

    #[test]
    fn unknown_input_and_cycle_are_reported() {
        let p = problems(
            "[pipeline]\nname = \"p\"\n[sources.a]\nplugin = \"datagen\"\n\
             [transforms.t1]\nplugin = \"x\"\ninputs = [\"t2\"]\n\
             [transforms.t2]\nplugin = \"x\"\ninputs = [\"t1\", \"nope.late\"]\n\
             [sinks.s]\nplugin = \"console\"\ninputs = [\"t2\"]\n",
        );
        assert!(
            p.iter()
                .any(|m| m.contains("no node named 'nope'") && m.contains(":10:")),
            "{p:?}"
        );
        assert!(p.iter().any(|m| m.contains("cycle")), "{p:?}");
    }

    const JOIN: &str = "[pipeline]\nname = \"p\"\n\
        [sources.a]\nplugin = \"d\"\nevent_time = \"ts\"\nwatermark_delay = \"5s\"\n\
        [sources.b]\nplugin = \"d\"\n\
        [transforms.clean]\nplugin = \"x\"\ninputs = [\"a\"]\n\
        [transforms.j]\nplugin = \"join\"\ninputs = { left = \"clean\", right = \"b\" }\n\
        [sinks.s]\nplugin = \"console\"\ninputs = [\"j\"]\n";

    #[test]
    fn event_time_flows_downstream_until_inputs_disagree() {
        let (file, _f) = file(JOIN);
        let times = event_times(&file.nodes);
        let five = Some(("ts".to_string(), Duration::from_secs(5)));
        assert_eq!(times["a"], five);
        assert_eq!(times["clean"], five);
        assert_eq!(times["b"], None);
        assert_eq!(times["j"], None);
    }

    #[test]
    fn an_input_without_a_watermark_is_warned_about() {
        let (file, _f) = file(JOIN);
        let warnings = watermark_warnings(&file);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("input 'right'"), "{warnings:?}");
    }
}
