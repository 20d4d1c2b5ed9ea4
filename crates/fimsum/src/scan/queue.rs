//! The queue of files between the walker and the hashing threads: bounded, and blocking on
//! both ends with a mutex and condition variables, so that a thread with nothing to do
//! sleeps in the kernel until there is something.
//!
//! A general-purpose channel spins and yields before it sleeps (`sched_yield` by the tens of
//! thousands in one scan of /usr), and cannot be woken by anything but a message; a hashing
//! thread with files in its lanes must also wake when the output stalls (see
//! [`JobQueue::next`]), which here is one more condition under the same lock instead of a
//! timed poll.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::hash::Next;

/// A bounded multi-consumer queue with one producer, which closes it when done. It may hold
/// up to one hand-off more than its capacity.
pub(crate) struct JobQueue<T> {
    state: Mutex<State<T>>,
    /// Signalled when a job comes in, the queue closes or the output stalls.
    ready: Condvar,
    /// Signalled when a job goes out.
    room: Condvar,
    capacity: usize,
}

struct State<T> {
    jobs: VecDeque<T>,
    closed: bool,
    /// The walker waits for the output (see [`JobQueue::set_stalled`]).
    stalled: bool,
    /// Threads waiting on `ready`, and on `room`: a notification with nobody waiting would
    /// still be a system call, and there would be two for every file.
    want_job: usize,
    want_room: usize,
}

impl<T> JobQueue<T> {
    pub(crate) fn new(capacity: usize) -> JobQueue<T> {
        JobQueue {
            state: Mutex::new(State {
                jobs: VecDeque::with_capacity(capacity),
                closed: false,
                stalled: false,
                want_job: 0,
                want_room: 0,
            }),
            ready: Condvar::new(),
            room: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    /// A panicking thread cannot leave the state half-changed (every change is one field),
    /// so a poisoned lock is still good.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queue the jobs of `pending`, leaving it empty; waits while the queue is full. The
    /// walker hands jobs over a few at a time: one wake-up then starts a waiting thread on
    /// several files instead of one.
    pub(crate) fn push_all(&self, pending: &mut Vec<T>) {
        if pending.is_empty() {
            return;
        }
        let mut state = self.lock();
        while state.jobs.len() >= self.capacity {
            state.want_room += 1;
            state = self
                .room
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.want_room -= 1;
        }
        let many = pending.len() > 1;
        state.jobs.extend(pending.drain(..));
        let wake = state.want_job > 0;
        drop(state);
        match (wake, many) {
            (false, _) => {}
            (true, false) => self.ready.notify_one(),
            (true, true) => self.ready.notify_all(),
        }
    }

    /// No more jobs will come: every waiting thread takes [`Next::End`] once the queue is
    /// empty.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// The walker is (or is no longer) waiting for the output to take a batch, which may
    /// wait for a file in some hashing thread's lanes.
    pub(crate) fn set_stalled(&self, stalled: bool) {
        self.lock().stalled = stalled;
        if stalled {
            self.ready.notify_all();
        }
    }

    /// The next job for a hashing thread. With `wait` (all its lanes are idle) it blocks
    /// until there is one or the queue is closed. Without, it blocks too, as long as the
    /// walker is merely behind: running the lanes half empty would take CPU time from the
    /// walker on a machine with few cores. It returns [`Next::Later`], so that the lanes
    /// drain, only when the walker is stalled: then the output waits for a file that may be
    /// in these very lanes, and the walker waits for the output.
    pub(crate) fn next(&self, wait: bool) -> Next<T> {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                let wake = state.want_room > 0;
                drop(state);
                if wake {
                    self.room.notify_one();
                }
                return Next::Msg(job);
            }
            if state.closed {
                return Next::End;
            }
            if !wait && state.stalled {
                return Next::Later;
            }
            state.want_job += 1;
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.want_job -= 1;
        }
    }
}

/// Closes the queue when dropped, so that the hashing threads end however the walker does.
pub(crate) struct CloseOnDrop<'a, T>(pub(crate) &'a JobQueue<T>);

impl<T> Drop for CloseOnDrop<'_, T> {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_is_taken_once_in_order_then_end() {
        let queue = JobQueue::new(2);
        let taken = std::thread::scope(|s| {
            let consumers: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        while let Next::Msg(j) = queue.next(true) {
                            mine.push(j);
                        }
                        mine
                    })
                })
                .collect();
            {
                let _close = CloseOnDrop(&queue);
                for chunk in (0..1000).collect::<Vec<_>>().chunks(7) {
                    queue.push_all(&mut chunk.to_vec());
                }
            }
            let mut all: Vec<i32> = consumers
                .into_iter()
                .flat_map(|c| c.join().unwrap_or_default())
                .collect();
            all.sort();
            all
        });
        assert_eq!(taken, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn a_thread_with_busy_lanes_drains_only_when_stalled() {
        let queue = JobQueue::<u8>::new(4);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| matches!(queue.next(false), Next::Later));
            std::thread::sleep(std::time::Duration::from_millis(20));
            assert!(
                !waiter.is_finished(),
                "returned while the walker was merely behind"
            );
            queue.set_stalled(true);
            assert!(waiter.join().unwrap_or(false));
        });
        queue.set_stalled(false);
        queue.push_all(&mut vec![7]);
        assert!(matches!(queue.next(false), Next::Msg(7)));
        queue.close();
        assert!(matches!(queue.next(false), Next::End));
    }
}
