//! Finds where a section or key sits in a pipeline file, so errors can say `file:line`.
//! Best effort: TOML headers and `key =` lines, YAML `key:` lines, JSON `"key":`.

/// The 1-based line of `key` inside the section `[kind.id]` (or the section itself when
/// `key` is None), if it can be found.
pub fn locate(text: &str, section: &[&str], key: Option<&str>) -> Option<usize> {
    let header = section.join(".");
    let mut in_section = section.is_empty();
    let mut section_line = None;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') && !t.starts_with("[[") && t.ends_with(']') {
            let name = t[1..t.len() - 1].trim();
            in_section = name == header;
            let nested = name
                .strip_prefix(header.as_str())
                .is_some_and(|r| r.starts_with('.'));
            if (in_section || nested) && section_line.is_none() {
                section_line = Some(n + 1);
            }
            continue;
        }
        if let Some(key) = key {
            if in_section && defines(t, key) {
                return Some(n + 1);
            }
        }
    }
    match key {
        None => section_line.or_else(|| loose_search(text, section.last()?)),
        Some(k) => loose_search(text, k),
    }
}

fn defines(line: &str, key: &str) -> bool {
    let line = line.trim_start_matches(['"', '\'']);
    line.strip_prefix(key)
        .map(|r| r.trim_start_matches(['"', '\'']).trim_start())
        .is_some_and(|r| r.starts_with('=') || r.starts_with(':') || r.starts_with('.'))
}

/// For YAML and JSON, where sections are not headers: the first line defining the key.
fn loose_search(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| defines(l.trim(), key))
        .map(|n| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = "[pipeline]\nname = \"p\"\n\n[sources.gen]\nplugin = \"datagen\"\nrows = 5\n\n[sinks.out]\nrows = 1\n";

    #[test]
    fn finds_key_in_its_section() {
        assert_eq!(locate(TOML, &["sources", "gen"], Some("rows")), Some(6));
        assert_eq!(locate(TOML, &["sinks", "out"], Some("rows")), Some(9));
        assert_eq!(locate(TOML, &["sinks", "out"], None), Some(8));
    }

    #[test]
    fn falls_back_to_any_definition_for_yaml() {
        let yaml = "sources:\n  gen:\n    plugin: datagen\n    rowz: 5\n";
        assert_eq!(locate(yaml, &["sources", "gen"], Some("rowz")), Some(4));
    }
}
