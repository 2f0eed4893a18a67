//! Which windows a row's event time falls in, epoch-aligned in UTC as Spark's `window`:
//! `[start, start + size)` for every start a multiple of `slide` (tumbling: `size`);
//! a session is `[first, last + gap)`, and sessions that overlap or touch merge.

use serde::{Deserialize, Serialize};

use crate::aggregate::Acc;

/// A window's aggregates.
pub type Accs = Vec<Acc>;

/// The shape of the windows.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// Tumbling (`slide == size`) and sliding windows, in µs.
    Fixed {
        size: i64,
        slide: i64,
    },
    Session {
        gap: i64,
    },
    /// One window per group that never closes: a running aggregation.
    Global,
}

/// The end of the global window: it never closes.
pub const NEVER: i64 = i64::MAX;

/// One window of one group and its aggregates.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Slot {
    pub start: i64,
    pub end: i64,
    pub accs: Accs,
}

impl Shape {
    /// The `[start, end)` of each window `time` falls in, for fixed and global shapes; a
    /// session's is `[time, time + gap)` before merging.
    pub fn windows(self, time: i64, mut each: impl FnMut(i64, i64)) {
        match self {
            Shape::Fixed { size, slide } => {
                let mut start = time.div_euclid(slide) * slide;
                while start > time.saturating_sub(size) {
                    each(start, start.saturating_add(size));
                    start -= slide;
                }
            }
            Shape::Session { gap } => each(time, time.saturating_add(gap)),
            Shape::Global => each(i64::MIN, NEVER),
        }
    }
}

/// The slot of `slots` (sorted by start) that `[start, end)` goes into, created with
/// `empty` if needed; for sessions, every slot it overlaps or touches is merged into it
/// with `merge`. Returns its index.
pub fn slot_for(
    slots: &mut Vec<Slot>,
    shape: Shape,
    (start, end): (i64, i64),
    empty: impl FnOnce() -> Accs,
    mut merge: impl FnMut(&mut Accs, Accs) -> ferry_plugin_api::sdk::Result<()>,
) -> ferry_plugin_api::sdk::Result<usize> {
    if !matches!(shape, Shape::Session { .. }) {
        // Rows mostly come in time order: their window is the last one, or a new last.
        match slots.last() {
            Some(last) if last.start == start => return Ok(slots.len() - 1),
            Some(last) if last.start > start => {}
            _ => {
                slots.push(Slot {
                    start,
                    end,
                    accs: empty(),
                });
                return Ok(slots.len() - 1);
            }
        }
        return Ok(match slots.binary_search_by_key(&start, |s| s.start) {
            Ok(i) => i,
            Err(i) => {
                slots.insert(
                    i,
                    Slot {
                        start,
                        end,
                        accs: empty(),
                    },
                );
                i
            }
        });
    }
    // Sessions: gap-inclusive, so rows exactly `gap` apart share one.
    let touching = |s: &Slot| s.start <= end && start <= s.end;
    let first = slots.iter().position(touching);
    let Some(first) = first else {
        let i = slots.partition_point(|s| s.start < start);
        slots.insert(
            i,
            Slot {
                start,
                end,
                accs: empty(),
            },
        );
        return Ok(i);
    };
    let mut merged = slots[first].clone();
    merged.start = merged.start.min(start);
    merged.end = merged.end.max(end);
    let i = first + 1;
    while i < slots.len() && touching(&slots[i]) {
        let other = slots.remove(i);
        merged.end = merged.end.max(other.end);
        merge(&mut merged.accs, other.accs)?;
    }
    slots[first] = merged;
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(shape: Shape, time: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        shape.windows(time, |s, e| out.push((s, e)));
        out
    }

    #[test]
    fn fixed_windows_align_to_the_epoch_also_before_it() {
        let tumbling = Shape::Fixed {
            size: 10,
            slide: 10,
        };
        assert_eq!(windows(tumbling, 25), [(20, 30)]);
        assert_eq!(windows(tumbling, 20), [(20, 30)]);
        assert_eq!(windows(tumbling, -1), [(-10, 0)]);
        let sliding = Shape::Fixed {
            size: 30,
            slide: 10,
        };
        assert_eq!(windows(sliding, 25), [(20, 50), (10, 40), (0, 30)]);
    }

    #[test]
    fn sessions_merge_when_they_overlap_or_touch() {
        let shape = Shape::Session { gap: 10 };
        let mut slots = Vec::new();
        let add = |slots: &mut Vec<Slot>, t: i64| {
            slot_for(slots, shape, (t, t + 10), Accs::new, |_, _| Ok(())).unwrap()
        };
        add(&mut slots, 0);
        add(&mut slots, 30);
        assert_eq!(
            slots.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(),
            [(0, 10), (30, 40)]
        );
        // [20, 30) touches [30, 40), not [0, 10).
        add(&mut slots, 20);
        assert_eq!(
            slots.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(),
            [(0, 10), (20, 40)]
        );
        add(&mut slots, 10);
        assert_eq!(
            slots.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(),
            [(0, 40)]
        );
    }
}
