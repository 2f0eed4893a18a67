//! A node's output ports: the built-in `out`, `dead_letter` and `late`, then the ones
//! its component declares. Batches carry the port's index within the node.

use anyhow::{bail, Result};
use ferry_plugin_api::abi::BUILT_IN_PORTS;

/// Index of `out`.
pub const OUT: usize = 0;
/// Index of `dead_letter`.
pub const DEAD_LETTER: usize = 1;
/// Index of `late`.
pub const LATE: usize = 2;

/// The ports of one node, by index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ports(Vec<String>);

impl Ports {
    /// The built-in ports and `declared`, which may not repeat a name.
    pub fn new(declared: Vec<String>) -> Result<Self> {
        let mut names: Vec<String> = BUILT_IN_PORTS.iter().map(|p| p.to_string()).collect();
        for port in declared {
            if names.contains(&port) {
                bail!(
                    "the component declares the output port '{port}' twice or over a built-in one"
                );
            }
            if port.is_empty() || port.contains('.') {
                bail!("the component declares an invalid output port name '{port}'");
            }
            names.push(port);
        }
        Ok(Self(names))
    }

    /// A sink's: it has no output.
    pub fn none() -> Self {
        Self(Vec::new())
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|p| p == name)
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_come_first_and_cannot_be_redeclared() {
        let ports = Ports::new(vec!["corrupted".into()]).unwrap();
        assert_eq!(ports.index("out"), Some(OUT));
        assert_eq!(ports.index("dead_letter"), Some(DEAD_LETTER));
        assert_eq!(ports.index("late"), Some(LATE));
        assert_eq!(ports.index("corrupted"), Some(3));
        assert!(Ports::new(vec!["late".into()]).is_err());
        assert!(Ports::new(vec!["a.b".into()]).is_err());
    }
}
