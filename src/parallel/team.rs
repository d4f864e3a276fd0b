//! A few long-lived threads that run one job together with the thread that asks for it.
//!
//! A training step is a couple of milliseconds, so the cost of handing it to other threads
//! matters: a thread pool that blocks the caller and wakes sleeping workers through a
//! condition variable loses a tenth of a millisecond or more per step to wake-ups on a busy
//! machine. Here the caller does part 0 of every job itself, and the helpers wait for the
//! next job by watching a generation counter for up to [`WAIT`] before they park, so the
//! steps of a training loop follow each other without a wake-up; an idle team sleeps.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How long a waiting thread spins before it yields its core between checks: enough for the
/// caller's part of a step between two jobs (the optimiser's update) on a quiet machine.
const SPIN: Duration = Duration::from_micros(50);

/// How long it waits in all before it parks: longer than what the caller does between two
/// steps (the update, the next batch), far shorter than an idle pause. Yielding rather than
/// spinning after [`SPIN`] matters on a busy machine: a spinning thread would keep a core
/// from the very thread it waits for.
const WAIT: Duration = Duration::from_micros(400);

/// A job as the helpers see it: the lifetime is erased, see [`Team::run`].
type Job = &'static (dyn Fn(usize) + Sync);

/// What the caller and the helpers share.
struct Shared {
    /// Bumped once per job (and once to stop); a helper runs the job when it changes.
    generation: AtomicU64,
    /// The current job, set before `generation` is bumped and cleared after the job ends.
    job: Mutex<Option<Job>>,
    /// Helpers that have not finished the current job.
    pending: AtomicUsize,
    /// Whether a helper's part of the current job panicked.
    panicked: AtomicBool,
    /// Whether each helper is parked or about to park (so the caller knows to unpark it).
    helper_parked: Vec<AtomicBool>,
    /// The same for the caller, and the caller to unpark.
    caller_parked: AtomicBool,
    caller: Mutex<Option<Thread>>,
    stop: AtomicBool,
}

/// `threads` threads counting the caller: `threads - 1` helpers, started once.
pub(crate) struct Team {
    shared: Arc<Shared>,
    helpers: Vec<(Thread, JoinHandle<()>)>,
}

impl Team {
    pub(crate) fn new(threads: usize) -> std::io::Result<Team> {
        let helpers = threads.max(1) - 1;
        let shared = Arc::new(Shared {
            generation: AtomicU64::new(0),
            job: Mutex::new(None),
            pending: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            helper_parked: (0..helpers).map(|_| AtomicBool::new(false)).collect(),
            caller_parked: AtomicBool::new(false),
            caller: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let mut team = Team {
            shared,
            helpers: Vec::with_capacity(helpers),
        };
        for t in 1..=helpers {
            let shared = Arc::clone(&team.shared);
            // On failure, dropping `team` stops the helpers already started.
            let handle = std::thread::Builder::new()
                .name(format!("stacknet-train-{t}"))
                .spawn(move || helper(&shared, t))?;
            team.helpers.push((handle.thread().clone(), handle));
        }
        Ok(team)
    }

    /// Runs `job(t)` for every `t` in `0..threads()` at once, `job(0)` on the calling thread,
    /// and returns when all have returned. Allocates nothing.
    ///
    /// # Panics
    /// If a part panicked (after every part has ended).
    #[allow(unsafe_code)]
    pub(crate) fn run(&mut self, job: &(dyn Fn(usize) + Sync)) {
        if self.helpers.is_empty() {
            return job(0);
        }
        let s = &*self.shared;
        // SAFETY: only the lifetime changes. The helpers call `job` between the bump of
        // `generation` below and their decrement of `pending`; `Wait` (dropped before this
        // function returns or unwinds, even if `job(0)` panics) waits for `pending` to reach
        // zero and then clears the slot, so no helper can touch `job` after `run` is left,
        // and `&mut self` rules out a second job overlapping this one.
        let erased: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(job) };
        *lock(&s.job) = Some(erased);
        s.pending.store(self.helpers.len(), SeqCst);
        s.generation.fetch_add(1, SeqCst);
        for (parked, (thread, _)) in s.helper_parked.iter().zip(&self.helpers) {
            if parked.load(SeqCst) {
                thread.unpark();
            }
        }
        let wait = Wait(s);
        job(0);
        drop(wait);
        if s.panicked.swap(false, SeqCst) {
            panic!("a training thread panicked");
        }
    }
}

/// Waits for the helpers to finish the current job, then clears it; in `drop`, so that an
/// unwinding caller waits too.
struct Wait<'a>(&'a Shared);

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let s = self.0;
        wait_until(
            || s.pending.load(SeqCst) == 0,
            &s.caller_parked,
            || {
                // Registered before `caller_parked` is set, so the last helper finds it; every
                // time, since the trainer may have moved to another thread since.
                *lock(&s.caller) = Some(std::thread::current());
            },
        );
        *lock(&s.job) = None;
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.stop.store(true, SeqCst);
        self.shared.generation.fetch_add(1, SeqCst);
        for (thread, handle) in self.helpers.drain(..) {
            thread.unpark();
            let _ = handle.join();
        }
    }
}

/// Helper `t`'s life: wait for a job, run part `t`, report, until told to stop.
fn helper(s: &Shared, t: usize) {
    let mut seen = 0;
    loop {
        wait_until(
            || s.generation.load(SeqCst) != seen,
            &s.helper_parked[t - 1],
            || {},
        );
        seen = s.generation.load(SeqCst);
        if s.stop.load(SeqCst) {
            return;
        }
        let job = *lock(&s.job);
        if let Some(job) = job {
            if catch_unwind(AssertUnwindSafe(|| job(t))).is_err() {
                s.panicked.store(true, SeqCst);
            }
        }
        if s.pending.fetch_sub(1, SeqCst) == 1 && s.caller_parked.load(SeqCst) {
            if let Some(caller) = &*lock(&s.caller) {
                caller.unpark();
            }
        }
    }
}

/// Spins until `ready()` for up to [`SPIN`], then yields between checks up to [`WAIT`], then
/// parks until it is. The thread that makes
/// `ready()` true (with a `SeqCst` write) then reads `parked` (`SeqCst`) and unparks if it
/// is set: either it sees the flag or this thread sees the write, so no wake-up is lost.
/// `before_park` runs once, before the first park.
fn wait_until(ready: impl Fn() -> bool, parked: &AtomicBool, before_park: impl FnOnce()) {
    let start = Instant::now();
    loop {
        let waited = start.elapsed();
        if waited >= WAIT {
            break;
        }
        for _ in 0..64 {
            if ready() {
                return;
            }
            std::hint::spin_loop();
        }
        if waited >= SPIN {
            std::thread::yield_now();
        }
    }
    before_park();
    loop {
        parked.store(true, SeqCst);
        if ready() {
            parked.store(false, SeqCst);
            return;
        }
        std::thread::park();
        parked.store(false, SeqCst);
        if ready() {
            return;
        }
    }
}

/// The locks here guard plain data that a panic cannot leave half-written.
fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
