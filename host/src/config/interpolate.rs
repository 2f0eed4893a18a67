//! `${VAR}` interpolation of pipeline files, done on the text before parsing so it works
//! the same in TOML, YAML and JSON. `$${` stands for a literal `${`.

use anyhow::{bail, Result};

/// Replaces every `${NAME}` with the environment variable's value, or `${NAME:-default}`
/// with the default when NAME is unset.
pub fn interpolate(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(after) = rest.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                bail!("line {}: unclosed '${{'", line_of(text, rest));
            };
            let (name, default) = match after[..end].split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (&after[..end], None),
            };
            match (lookup(name), default) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(d)) => out.push_str(d),
                (None, None) => bail!(
                    "line {}: environment variable '{name}' is not set (write ${{{name}:-default}} for a default)",
                    line_of(text, rest)
                ),
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn line_of(text: &str, tail: &str) -> usize {
    text[..text.len() - tail.len()].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "PASS").then(|| "s3cr3t".to_string())
    }

    #[test]
    fn replaces_set_and_defaulted_variables() {
        let text = "a = \"${PASS}\"\nb = \"${PORT:-9092}\"\nc = \"$${LIT} $5\"";
        assert_eq!(
            interpolate(text, env).unwrap(),
            "a = \"s3cr3t\"\nb = \"9092\"\nc = \"${LIT} $5\""
        );
    }

    #[test]
    fn unset_variable_names_it_and_the_line() {
        let err = interpolate("x = 1\ny = \"${NOPE}\"", env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("'NOPE'"), "{err}");
    }
}
