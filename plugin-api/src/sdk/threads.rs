//! Work inside one stage spread over a few threads: a poll's records decoded in runs, a
//! batch's columns encoded side by side. The threads are started at the first piece of
//! work and kept for the stage's life (a thread started per batch costs more than many
//! a batch's share of work); the work may borrow from the caller.

use std::fmt;
use std::sync::{Arc, OnceLock};

use rayon::iter::{IntoParallelIterator, ParallelIterator};
use rayon::{ThreadPool, ThreadPoolBuilder};

/// Up to `threads` threads for one stage's work, shared by its clones.
#[derive(Clone)]
pub struct Workers(Arc<Pool>);

struct Pool {
    name: String,
    threads: usize,
    /// Started at the first work that needs more than one thread: `validate` creates
    /// plugins that never work.
    started: OnceLock<Option<ThreadPool>>,
}

impl Workers {
    /// Up to `threads` threads (at least one), named `name` for profiles.
    pub fn new(name: &str, threads: usize) -> Self {
        Self(Arc::new(Pool {
            name: name.to_owned(),
            threads: threads.max(1),
            started: OnceLock::new(),
        }))
    }

    /// How many items are worth splitting work into.
    pub fn threads(&self) -> usize {
        self.0.threads
    }

    /// `work` done on each of `items`, on up to [`threads`](Self::threads) threads, each
    /// taking the next item as it finishes one; the results in the items' order. One
    /// item, one thread, or threads that cannot be started: the calling thread does it
    /// all. A panic in `work` is the caller's.
    pub fn each<T: Send, R: Send>(&self, items: Vec<T>, work: impl Fn(T) -> R + Sync) -> Vec<R> {
        match self.pool(items.len()) {
            Some(pool) => pool.install(|| items.into_par_iter().map(&work).collect()),
            None => items.into_iter().map(work).collect(),
        }
    }

    fn pool(&self, items: usize) -> Option<&ThreadPool> {
        let Pool {
            name,
            threads,
            started,
        } = self.0.as_ref();
        if *threads < 2 || items < 2 {
            return None;
        }
        let start = || {
            let thread_name = name.clone();
            let pool = ThreadPoolBuilder::new()
                .num_threads(*threads)
                .thread_name(move |_| thread_name.clone())
                .build();
            pool.map_err(|e| log::warn!("{name}: no helper threads ({e}); working on one"))
                .ok()
        };
        started.get_or_init(start).as_ref()
    }
}

impl fmt::Debug for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Workers({}, {})", self.0.name, self.0.threads)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::{panic, thread};

    use super::*;

    #[test]
    fn results_come_back_in_the_items_order_whatever_thread_did_them() {
        let workers = Workers::new("test", 3);
        for _ in 0..2 {
            let done = workers.each((0..1000).collect(), |n: u64| {
                (n * n, thread::current().name().map(str::to_owned))
            });
            let squares: Vec<u64> = done.iter().map(|(sq, _)| *sq).collect();
            assert_eq!(squares, (0..1000).map(|n| n * n).collect::<Vec<_>>());
            let names: HashSet<_> = done.into_iter().map(|(_, name)| name).collect();
            assert_eq!(names, HashSet::from([Some("test".to_owned())]));
        }
    }

    #[test]
    fn one_thread_or_one_item_works_on_the_calling_thread() {
        let caller = thread::current().id();
        let on = |threads, items: Vec<u8>| {
            Workers::new("test", threads).each(items, |_| thread::current().id())
        };
        assert_eq!(on(1, vec![1, 2, 3]), vec![caller; 3]);
        assert_eq!(on(4, vec![1]), vec![caller]);
        assert!(on(4, vec![]).is_empty());
    }

    #[test]
    fn work_may_borrow_from_the_caller() {
        let mut totals = vec![0u64; 8];
        let text = "borrowed";
        let items: Vec<_> = totals.iter_mut().enumerate().collect();
        Workers::new("test", 2).each(items, |(i, total)| *total = (i * text.len()) as u64);
        assert_eq!(totals, (0..8).map(|i| i * 8).collect::<Vec<u64>>());
    }

    #[test]
    fn a_panic_in_the_work_is_the_callers() {
        let workers = Workers::new("test", 2);
        let caught = panic::catch_unwind(panic::AssertUnwindSafe(|| {
            workers.each((0..100).collect(), |n: u32| {
                assert!(n != 77, "item 77");
                n
            })
        }));
        assert!(caught.is_err());
        assert_eq!(workers.each(vec![1, 2], |n: u32| n + 1), [2, 3]);
    }
}
