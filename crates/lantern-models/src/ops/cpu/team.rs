//! The threads of one forward pass, kept spinning between its parallel loops.
//!
//! A decode step is ~150 small parallel loops (matmuls of 40-80 µs of work each). With rayon
//! alone, an idle worker spins only a few rounds of `yield_now` before it sleeps; natively
//! those rounds are syscalls that bridge the gaps between loops, but in wasm `yield_now` does
//! nothing, so the worker is asleep (`Atomics.wait`) by the next loop and every loop pays a
//! wake-up: measured in Chromium, the threaded build with 2 threads decoded no faster than
//! with 1 (75.4 vs 74.9 tok/s, SmolLM2 Q4_1) while its prefill, with large loops, ran 1.62x.
//!
//! So [`Cpu::execute`](super::Cpu) starts one spinner per extra pool thread for the length of
//! the forward pass ([`run`]): each spins on an atomic job slot, and the pass's parallel loops
//! ([`for_each`]) hand their items to the slot, where the caller and the spinners take them
//! one at a time. This is what llama.cpp's thread pool does. The spinners burn their cores
//! for the length of a pass, and only then.
//!
//! Outside a team, [`for_each`] is rayon's parallel iterator. Inside one, nothing may call
//! rayon's parallel functions: a pool thread waiting in a rayon join could pick up a spinner's
//! job from its own queue and spin forever. All of the CPU backend's parallel loops go through
//! [`for_each`].
// Two unsafe reads, each with its reason: a job published by reference to another thread,
// and this thread's team pointer.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use rayon::prelude::*;

/// Job state, one word: the job's generation in the high 32 bits, a closed flag, and the
/// number of spinners working on it in the low 31 bits.
const CLOSED: u64 = 1 << 31;
const ACTIVE: u64 = CLOSED - 1;

/// The job a team works on: `count` tasks of `run`.
type Job<'a> = &'a (dyn Fn(usize) + Sync);

struct Team {
    state: AtomicU64,
    /// Points at the current job (a `Job` on the publishing thread's stack) while it is open.
    job: AtomicPtr<()>,
    count: AtomicUsize,
    /// Tasks claimed at a time: a few claims per thread and job, not one per task. Every claim
    /// moves `next`'s cache line between cores, which costs as much as a small task (a decode
    /// step's 32-row matmul tasks are ~1.5 µs): claiming one task at a time, 2 threads decoded
    /// no faster than 1.
    grain: AtomicUsize,
    stop: AtomicBool,
    /// Apart from the fields the spinners poll, so that claims do not disturb them.
    next: Padded,
}

#[repr(align(128))]
struct Padded(AtomicUsize);

thread_local! {
    /// The team of the forward pass running on this thread, if any.
    static CURRENT: Cell<*const Team> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` (a forward pass) with `threads - 1` spinners on other pool threads.
pub(crate) fn run<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    let team = Team {
        state: AtomicU64::new(0),
        job: AtomicPtr::new(std::ptr::null_mut()),
        count: AtomicUsize::new(0),
        grain: AtomicUsize::new(1),
        stop: AtomicBool::new(false),
        next: Padded(AtomicUsize::new(0)),
    };
    rayon::scope(|s| {
        for _ in 1..threads {
            s.spawn(|_| team.spin());
        }
        let _active = Active::set(&team);
        f()
    })
}

/// The team as this thread's current one; on drop (also when `f` unwinds, so that the scope
/// can end) the previous one again, and the spinners stopped.
struct Active<'a> {
    team: &'a Team,
    previous: *const Team,
}

impl<'a> Active<'a> {
    fn set(team: &'a Team) -> Self {
        let previous = CURRENT.with(|c| c.replace(team));
        Active { team, previous }
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
        self.team.stop.store(true, Ordering::Release);
    }
}

/// `f` on every item, in parallel: through the current thread's team if it has one, else
/// through rayon (when the pool has more than one thread).
pub(crate) fn for_each<T: Send>(items: Vec<T>, f: impl Fn(T) + Sync + Send) {
    let team = CURRENT.with(|c| c.get());
    if !team.is_null() && items.len() > 1 {
        // Each item is taken exactly once, by whichever thread claims its index.
        let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
        let task = |i: usize| {
            let item = slots[i].lock().ok().and_then(|mut s| s.take());
            if let Some(item) = item {
                f(item);
            }
        };
        // SAFETY: `CURRENT` is set only by `run`, on this thread, for the duration of the
        // scope in which the team lives, and cleared before the team is dropped.
        unsafe { &*team }.work(slots.len(), &task, threads_of_pool());
    } else if rayon::current_num_threads() > 1 && items.len() > 1 {
        items.into_par_iter().for_each(f);
    } else {
        items.into_iter().for_each(f);
    }
}

fn threads_of_pool() -> usize {
    rayon::current_num_threads().max(1)
}

impl Team {
    /// Publishes `count` tasks of `job`, works on them, and returns when every task is done
    /// and no spinner can touch `job` any more.
    fn work(&self, count: usize, job: Job<'_>, threads: usize) {
        let state = self.state.load(Ordering::Acquire);
        let generation = (state >> 32) + 1;
        self.count.store(count, Ordering::Relaxed);
        self.grain
            .store(count.div_ceil(4 * threads).max(1), Ordering::Relaxed);
        self.next.0.store(0, Ordering::Relaxed);
        self.job
            .store((&raw const job).cast::<()>().cast_mut(), Ordering::Relaxed);
        // Release: a spinner that sees the new generation sees the job, count and counter.
        self.state.store(generation << 32, Ordering::Release);
        self.take_tasks(count, job);
        // Close the job: spinners that have not joined yet will not; then wait for those
        // that did (they may still be running a task).
        let closed = self.state.fetch_or(CLOSED, Ordering::AcqRel) | CLOSED;
        let mut state = closed;
        while state & ACTIVE != 0 {
            std::hint::spin_loop();
            state = self.state.load(Ordering::Acquire);
        }
    }

    fn take_tasks(&self, count: usize, job: Job<'_>) {
        let grain = self.grain.load(Ordering::Relaxed);
        loop {
            let start = self.next.0.fetch_add(grain, Ordering::Relaxed);
            if start >= count {
                break;
            }
            for i in start..(start + grain).min(count) {
                job(i);
            }
        }
    }

    /// A spinner: joins each new job while it is open, until the team stops.
    fn spin(&self) {
        let mut seen = 0u64;
        loop {
            let state = self.state.load(Ordering::Acquire);
            let generation = state >> 32;
            if generation != seen && state & CLOSED == 0 {
                // Join: count ourselves in unless the job closed or changed meanwhile.
                if self
                    .state
                    .compare_exchange_weak(state, state + 1, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    seen = generation;
                    let count = self.count.load(Ordering::Relaxed);
                    let job = self.job.load(Ordering::Relaxed).cast::<Job<'_>>();
                    // SAFETY: the job pointer was published (Release) before the generation we
                    // joined (Acquire), and its publisher does not return from `work` (so the
                    // `Job` it points at stays alive) while we are counted in.
                    self.take_tasks(count, unsafe { *job });
                    self.state.fetch_sub(1, Ordering::AcqRel);
                }
                continue;
            }
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_runs_once_with_and_without_a_team() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        pool.install(|| {
            for teamed in [false, true] {
                let body = || {
                    let mut total = 0usize;
                    for round in 0..200 {
                        let hits: Vec<AtomicUsize> =
                            (0..round % 37).map(|_| AtomicUsize::new(0)).collect();
                        for_each((0..hits.len()).collect(), |i| {
                            hits[i].fetch_add(1, Ordering::Relaxed);
                        });
                        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
                        total += hits.len();
                    }
                    total
                };
                let total = if teamed { run(3, body) } else { body() };
                assert_eq!(total, (0..200).map(|r| r % 37).sum::<usize>());
            }
        });
    }
}
