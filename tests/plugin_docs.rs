//! Each plugin README's options table is what `ferry plugins --markdown` prints from the
//! component's options schema (the doc comments of its options struct), so docs and
//! code cannot drift. On a mismatch, the expected table is in the failure message.

use ferry_tests::{ferry, root};

/// `ferry plugins --markdown`, one section per component, each starting at its marker.
fn generated() -> Vec<String> {
    let out = ferry(&root(), &["plugins", "--markdown"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let marker = "<!-- ferry plugins --markdown: ";
    text.split(marker)
        .skip(1)
        .map(|s| format!("{marker}{}", s.trim_end()))
        .collect()
}

fn readmes() -> Vec<(String, String)> {
    let dirs = std::fs::read_dir(root().join("plugins")).unwrap();
    let mut all: Vec<(String, String)> = dirs
        .filter_map(|d| {
            let path = d.ok()?.path().join("README.md");
            let text = std::fs::read_to_string(&path).ok()?;
            Some((path.display().to_string(), text))
        })
        .collect();
    all.sort();
    all
}

#[test]
fn every_readme_options_table_is_the_generated_one() {
    let readmes = readmes();
    let sections = generated();
    assert!(sections.len() >= 10, "{sections:?}");
    for section in sections {
        let marker = section.lines().next().unwrap();
        let holder = readmes.iter().find(|(_, text)| text.contains(marker));
        let Some((path, text)) = holder else {
            panic!("no plugin README holds `{marker}`; add it with the table:\n\n{section}\n");
        };
        assert!(
            text.contains(&section),
            "{path}: its table for `{marker}` differs from the options' doc comments; it should read:\n\n{section}\n"
        );
    }
}
