//! Work inside one stage spread over a few threads: a poll's records decoded in runs, a
//! batch's columns encoded side by side. The threads are scoped to the call, so the work
//! may borrow from the caller, and the caller works too instead of waiting idle.

use std::panic;
use std::sync::Mutex;
use std::thread;

/// `work` done on each of `items` by up to `threads` threads (the calling thread one of
/// them), each taking the next item as it finishes one; the results in the items' order.
/// Threads that cannot be started leave their share to the others; a panic in `work`
/// is the caller's. The threads are named `name`, for profiles.
pub fn each_on_threads<T: Send, R: Send>(
    name: &str,
    threads: usize,
    items: Vec<T>,
    work: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let helpers = threads.min(items.len()).saturating_sub(1);
    if helpers == 0 {
        return items.into_iter().map(work).collect();
    }
    let count = items.len();
    let queue = Mutex::new(items.into_iter().enumerate());
    let take = || queue.lock().unwrap_or_else(|e| e.into_inner()).next();
    let drain = || {
        let mut done = Vec::new();
        while let Some((index, item)) = take() {
            done.push((index, work(item)));
        }
        done
    };
    let mut done = thread::scope(|scope| {
        let started: Vec<_> = (0..helpers)
            .filter_map(|_| {
                let builder = thread::Builder::new().name(name.to_owned());
                builder.spawn_scoped(scope, drain).ok()
            })
            .collect();
        let mut done = drain();
        for helper in started {
            done.extend(helper.join().unwrap_or_else(|p| panic::resume_unwind(p)));
        }
        done
    });
    debug_assert_eq!(done.len(), count);
    done.sort_unstable_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn results_come_back_in_the_items_order_whatever_thread_did_them() {
        let items: Vec<u64> = (0..1000).collect();
        let done = each_on_threads("test", 3, items, |n| {
            (n * n, thread::current().name().map(str::to_owned))
        });
        let squares: Vec<u64> = done.iter().map(|(sq, _)| *sq).collect();
        assert_eq!(squares, (0..1000).map(|n| n * n).collect::<Vec<_>>());
        let names: HashSet<_> = done.into_iter().map(|(_, name)| name).collect();
        assert!(names.len() <= 3, "{names:?}");
    }

    #[test]
    fn one_thread_or_one_item_works_on_the_calling_thread() {
        let caller = thread::current().id();
        let on = |threads, items: Vec<u8>| {
            each_on_threads("test", threads, items, |_| thread::current().id())
        };
        assert_eq!(on(1, vec![1, 2, 3]), vec![caller; 3]);
        assert_eq!(on(4, vec![1]), vec![caller]);
        assert!(on(4, vec![]).is_empty());
    }

    #[test]
    fn a_panic_in_the_work_is_the_callers() {
        let caught = panic::catch_unwind(|| {
            each_on_threads("test", 2, (0..100).collect(), |n: u32| {
                assert!(n != 77, "item 77");
                n
            })
        });
        assert!(caught.is_err());
    }
}
