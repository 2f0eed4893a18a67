//! Each plugin README's options table lists exactly the options its component's
//! options schema has (from the options struct), so docs and code cannot drift: an
//! option added, renamed or removed in code fails here until the README says so.
//! `ferry plugins --markdown` prints a starting table for a new option or plugin.

use std::collections::BTreeSet;

use ferry_tests::{ferry, root};

/// Per component (`source file`): the option names `ferry plugins --markdown` lists.
fn from_schemas() -> Vec<(String, BTreeSet<String>)> {
    let out = ferry(&root(), &["plugins", "--markdown"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.split("<!-- ferry plugins --markdown: ")
        .skip(1)
        .map(|section| {
            let (component, table) = section.split_once(" -->").unwrap();
            (component.to_string(), option_names(table))
        })
        .collect()
}

/// The first backticked name of each row of the table at the start of `text`.
fn option_names(text: &str) -> BTreeSet<String> {
    let rows = text.trim_start().lines().take_while(|l| l.starts_with('|'));
    rows.skip(2)
        .filter_map(|row| {
            let first = row.trim_start_matches('|').split('|').next()?;
            Some(first.split('`').nth(1)?.to_string())
        })
        .collect()
}

/// Every plugin README's text, with its path.
fn readmes() -> Vec<(String, String)> {
    let dirs = std::fs::read_dir(root().join("plugins")).unwrap();
    let mut all: Vec<(String, String)> = dirs
        .filter_map(|d| {
            let path = d.ok()?.path().join("README.md");
            Some((
                path.display().to_string(),
                std::fs::read_to_string(&path).ok()?,
            ))
        })
        .collect();
    all.sort();
    all
}

#[test]
fn every_readme_options_table_names_exactly_the_components_options() {
    let readmes = readmes();
    let components = from_schemas();
    assert!(components.len() >= 10, "{components:?}");
    for (component, options) in components {
        let marker = format!("<!-- options of {component}:");
        let Some((path, text)) = readmes.iter().find(|(_, t)| t.contains(&marker)) else {
            panic!("no plugin README has the options table of {component} (a line `{marker} ... -->` above it)");
        };
        let table = text.split(&marker).nth(1).unwrap();
        let table = table.split_once("-->").unwrap().1;
        let documented = option_names(table);
        let missing: Vec<_> = options.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&options).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "{path}, {component}: options not in the table {missing:?}; rows for options that do not exist {stale:?}"
        );
    }
}
