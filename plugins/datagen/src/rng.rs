//! A tiny counter-based random number generator.
//!
//! Every row gets its own generator seeded from `(seed, row index, stream)`, so row `i` is
//! a pure function of its inputs: no state carries from one row to the next, and a
//! restarted source reproduces the same rows whatever the batch boundaries were.

/// Independent sequences drawn for the same row.
#[derive(Clone, Copy)]
pub enum Stream {
    /// Whether the row re-delivers an earlier one, and which.
    Duplicate = 1,
    /// The rest of its fate: late, corrupt, event-time jitter.
    Plan = 2,
    /// Its column values.
    Content = 3,
}

/// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit counter pushed through a strong mixer.
#[derive(Clone, Debug)]
pub struct Rng(u64);

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 finalizer: a bijection that scatters nearby inputs across all 64 bits.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// The generator for one row's `stream`.
    pub fn for_row(seed: u64, index: u64, stream: Stream) -> Self {
        Self(mix(mix(seed ^ stream as u64) ^ index))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        mix(self.0)
    }

    /// Uniform in `0..n` (`n > 0`), by Lemire's multiply-shift; the bias is below 2⁻³².
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below(hi.abs_diff(lo) + 1) as i64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One item, uniformly.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// One item, with probability proportional to its weight.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut ticket = self.below(u64::from(total)) as u32;
        for &(item, weight) in items {
            if ticket < weight {
                return item;
            }
            ticket -= weight;
        }
        unreachable!("the ticket is below the total weight")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_streams_are_independent_sequences() {
        let a = Rng::for_row(7, 0, Stream::Content).next_u64();
        assert_eq!(a, Rng::for_row(7, 0, Stream::Content).next_u64());
        assert_ne!(a, Rng::for_row(7, 1, Stream::Content).next_u64());
        assert_ne!(a, Rng::for_row(8, 0, Stream::Content).next_u64());
        assert_ne!(a, Rng::for_row(7, 0, Stream::Plan).next_u64());
    }

    #[test]
    fn draws_stay_in_range() {
        let mut rng = Rng::for_row(1, 2, Stream::Content);
        for _ in 0..10_000 {
            assert!((-3..=3).contains(&rng.between(-3, 3)));
            assert!((0.0..1.0).contains(&rng.unit()));
        }
    }

    #[test]
    fn weights_are_respected() {
        let mut rng = Rng::for_row(1, 2, Stream::Content);
        let heads = (0..10_000)
            .filter(|_| rng.weighted(&[(true, 9), (false, 1)]))
            .count();
        assert!((8_700..9_300).contains(&heads), "{heads}");
    }
}
