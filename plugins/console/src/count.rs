//! Count mode: row totals per epoch that stay exactly-once across crashes, because the
//! running total travels in the commit handle the host stores with its checkpoint.

use std::collections::BTreeMap;

use ferry_plugin_api::sdk::{Error, Result};

/// What `prepare` hands the host and `commit` gets back: the running total after an
/// epoch and that epoch's own rows, as two little-endian `u64`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle {
    pub total: u64,
    pub rows: u64,
}

impl Handle {
    pub fn encode(self) -> Vec<u8> {
        [self.total.to_le_bytes(), self.rows.to_le_bytes()].concat()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let word = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
        match bytes.len() {
            16 => Ok(Self {
                total: word(0),
                rows: word(1),
            }),
            n => Err(Error::msg(format!(
                "a console commit handle has 16 bytes, got {n}"
            ))),
        }
    }
}

/// Rows counted so far, split into committed, prepared and not yet prepared.
#[derive(Debug, Default)]
pub struct Counter {
    /// The total as of the last committed epoch.
    committed: u64,
    /// The committed total plus every row written since.
    total: u64,
    /// The running total at each prepared but uncommitted epoch.
    prepared: BTreeMap<u64, u64>,
}

impl Counter {
    pub fn add(&mut self, rows: usize) {
        self.total += rows as u64;
    }

    /// Closes `epoch`: its rows are those written since the previous epoch closed.
    pub fn prepare(&mut self, epoch: u64) -> Handle {
        let rows = self.total - self.last_prepared();
        self.prepared.insert(epoch, self.total);
        Handle {
            total: self.total,
            rows,
        }
    }

    /// Makes the handle's total the committed one; also how a fresh instance learns the
    /// total when the host replays the last durable commit after a restart.
    pub fn commit(&mut self, epoch: u64, handle: Handle) {
        self.committed = handle.total;
        self.total = self.total.max(handle.total);
        self.prepared.retain(|&e, _| e > epoch);
    }

    /// Forgets the rows of `epoch` and every later one: the source sends them again.
    pub fn abort(&mut self, epoch: u64) {
        self.prepared.retain(|&e, _| e < epoch);
        self.total = self.last_prepared();
    }

    fn last_prepared(&self) -> u64 {
        self.prepared
            .last_key_value()
            .map_or(self.committed, |(_, &total)| total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_round_trips() {
        let h = Handle {
            total: 1 << 40,
            rows: 7,
        };
        assert_eq!(Handle::decode(&h.encode()).unwrap(), h);
        assert!(Handle::decode(&[1, 2, 3]).is_err());
    }

    #[test]
    fn epochs_prepared_ahead_of_their_commit() {
        let mut c = Counter::default();
        c.add(3);
        let h1 = c.prepare(1);
        c.add(4);
        let h2 = c.prepare(2);
        c.add(5);
        assert_eq!((h1.rows, h1.total, h2.rows, h2.total), (3, 3, 4, 7));
        c.commit(1, h1);
        c.abort(2);
        assert_eq!(c.prepare(2), Handle { total: 3, rows: 0 });
    }
}
