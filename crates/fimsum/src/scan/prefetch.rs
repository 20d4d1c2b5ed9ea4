//! Directories opened and listed ahead of the walk, by a thread of their own, for walks
//! that read few files (`check --quick`): there the walk's system calls (an open, the
//! listing and an `fstatat` of every entry) are the run's critical path, one thread's
//! worth, and a second thread can make a share of them.
//!
//! The walker stays the one that decides anything. It takes back only listings of
//! directories it has listed, filtered and is going to enter, when it reaches each in its
//! own order; everything a listing means (filters, `--files-from`, what is reported) is
//! still worked out by the walker. The thread makes the calls the walker would make
//! ([`open_dir`], [`read_entries`]): the directory is opened `O_NOFOLLOW|O_DIRECTORY`
//! relative to its parent's descriptor and checked to be the inode that was listed, its
//! entries looked at relative to it; and with `O_NOATIME`, as it may list what the walk
//! leaves out. What it hands back is what the
//! walker would have seen a moment later; a swap in between is the same race as one just
//! before the walker's own look, and is caught the same way.
//!
//! Which directories: the walker puts the subdirectories it will enter of each directory
//! it lists at the front of the queue, in its order (they come next in its depth-first
//! walk), and lists itself any it reaches before the thread has started on it. Left at
//! that, the thread would learn of a directory only when the walker is about to enter it,
//! and the two would take turns. So the thread also guesses: below each directory it lists,
//! it queues the subdirectories on the same file system at the front, unconfirmed. The
//! walker takes only what it asked for; its own listing of a directory confirms the guesses
//! below it that it will enter and drops the others (an excluded directory). A job whose
//! parent the walk has closed is dropped too: nobody can ask for it. A guess is read only
//! up to [`GUESS_MAX`] entries and kept only if all went well, so that a huge directory the
//! walk leaves out costs little. At most [`AHEAD`] listings, each holding its directory's
//! descriptor, are running or wait to be taken.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::attrs::Attrs;
use crate::record::{Kind, Meta};
use crate::rsync::order::cmp_entries;
use crate::scan::read::describe;

/// Listings done ahead and not yet taken, at most: each holds an open directory.
const AHEAD: usize = 64;

/// One entry of a directory as it was read: its name, the type its directory entry gives,
/// and what `fstatat` said of it (`None` where it was not asked: a regular file the walk
/// opens itself).
pub(crate) struct RawEntry {
    pub leaf: CString,
    pub file_type: FileType,
    pub stat: Option<Result<(Kind, Meta), Errno>>,
}

/// A directory opened and read: the walker's [`crate::scan::walk`] makes its children of it.
pub(crate) struct Opened {
    pub fd: Arc<OwnedFd>,
    /// Its security attributes, read from `fd`, if they are recorded.
    pub attrs: Option<Attrs>,
    pub entries: Vec<RawEntry>,
    /// Why reading it stopped before its end, if it did.
    pub error: Option<Errno>,
}

/// Open the directory `leaf` of `parent` that was listed as `seen` and check it is still
/// that inode: a directory swapped for a symlink since it was listed fails here
/// (`O_NOFOLLOW|O_DIRECTORY`: ELOOP/ENOTDIR) instead of leading the walk elsewhere, and one
/// swapped for another directory is found by its inode.
pub(crate) fn open_dir(
    parent: &OwnedFd,
    leaf: &CStr,
    seen: &Meta,
) -> Result<(OwnedFd, Meta), String> {
    let fd = rustix::fs::openat(parent, leaf, DIR_FLAGS, Mode::empty()).map_err(describe)?;
    check_inode(fd, seen)
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

fn check_inode(fd: OwnedFd, seen: &Meta) -> Result<(OwnedFd, Meta), String> {
    let meta = Meta::from_stat(&rustix::fs::fstat(&fd).map_err(describe)?);
    if (meta.dev, meta.ino) != (seen.dev, seen.ino) {
        return Err("replaced during the scan".into());
    }
    Ok((fd, meta))
}

/// [`open_dir`] for the thread, with `O_NOATIME`: it may list directories the walk then
/// leaves out, and those keep their access times. `O_NOATIME` needs ownership of the
/// directory or CAP_FOWNER; without them a guess is not listed (`None`), and a directory
/// the walker asked for is opened as the walker would.
fn open_dir_quietly(
    parent: &OwnedFd,
    leaf: &CStr,
    seen: &Meta,
    guess: bool,
) -> Option<Result<(OwnedFd, Meta), String>> {
    let quiet = DIR_FLAGS | OFlags::NOATIME;
    let fd = match rustix::fs::openat(parent, leaf, quiet, Mode::empty()) {
        Err(Errno::PERM) if guess => return None,
        Err(Errno::PERM) => rustix::fs::openat(parent, leaf, DIR_FLAGS, Mode::empty()),
        opened => opened,
    };
    Some(fd.map_err(describe).and_then(|fd| check_inode(fd, seen)))
}

/// Every entry of the open directory `dir` but `.` and `..`, each `fstatat`ed relative to it
/// unless it is a regular file and `stat_files` is false; reading stops at the first error,
/// which comes back with what was read before it. `inject(n)` may fail the `n`th read (the
/// tests' [`crate::scan::Hooks::listing_error`]).
pub(crate) fn read_entries(
    dir: &OwnedFd,
    stat_files: bool,
    inject: impl Fn(usize) -> Option<i32>,
) -> Result<(Vec<RawEntry>, Option<Errno>), Errno> {
    let reader = rustix::fs::Dir::new(rustix::io::fcntl_dupfd_cloexec(dir, 0)?)?;
    let mut entries = Vec::new();
    for (read, item) in reader.enumerate() {
        let item = match inject(read) {
            Some(errno) => Err(Errno::from_raw_os_error(errno)),
            None => item,
        };
        let item = match item {
            Ok(item) => item,
            Err(e) => return Ok((entries, Some(e))),
        };
        let leaf = item.file_name();
        if leaf == c"." || leaf == c".." {
            continue;
        }
        let file_type = item.file_type();
        let stat = (stat_files || file_type != FileType::RegularFile).then(|| {
            rustix::fs::statat(dir, leaf, AtFlags::SYMLINK_NOFOLLOW)
                .map(|st| (Kind::from_stat(&st), Meta::from_stat(&st)))
        });
        entries.push(RawEntry {
            leaf: leaf.to_owned(),
            file_type,
            stat,
        });
    }
    Ok((entries, None))
}

/// [`open_dir_quietly`] and [`read_entries`] of one directory, every entry looked at, with
/// its attributes if `attrs`; and the directory's own metadata. A guess is listed only if
/// all goes well (`None` otherwise: the walker lists it if it wants it, and reports what
/// went wrong itself) and it has at most [`GUESS_MAX`] entries: a directory the walk leaves
/// out is never read whole, however big, so what the thread holds of the walk's excluded
/// parts stays bounded.
fn open_and_read(job: &Picked, attrs: bool) -> Option<Result<(Opened, Meta), String>> {
    let (fd, meta) = match open_dir_quietly(&job.parent, &job.key.1, &job.seen, job.guess)? {
        Ok(opened) => opened,
        Err(_) if job.guess => return None,
        Err(e) => return Some(Err(e)),
    };
    let attrs = attrs
        .then(|| crate::attrs::read::of_fd(fd.as_fd(), Kind::Dir))
        .flatten();
    // Past the limit a guess's read fails, as a read can ("." and ".." are read too).
    let too_many =
        |read| (job.guess && read >= GUESS_MAX + 2).then(|| Errno::OVERFLOW.raw_os_error());
    let (entries, error) = match read_entries(&fd, true, too_many) {
        Ok((_, Some(_))) | Err(_) if job.guess => return None,
        Ok(read) => read,
        Err(e) => return Some(Err(describe(e))),
    };
    let opened = Opened {
        fd: Arc::new(fd),
        attrs,
        entries,
        error,
    };
    Some(Ok((opened, meta)))
}

/// The entries of a guessed directory the thread reads at most.
const GUESS_MAX: usize = 4096;

/// A job the thread took from the queue.
struct Picked {
    /// Its parent's address and its name there.
    key: Key,
    parent: Arc<OwnedFd>,
    seen: Meta,
    /// Unconfirmed when it was taken.
    guess: bool,
}

/// A directory to list: where it is and what it was listed as.
pub(crate) struct Request {
    pub parent: Arc<OwnedFd>,
    pub leaf: CString,
    pub seen: Meta,
}

/// A directory by its parent's descriptor (the address of the very `Arc`, whose allocation
/// a job's weak reference keeps, so that no other descriptor can take the address while
/// the job exists) and its name there.
type Key = (usize, CString);

fn key(parent: &Arc<OwnedFd>, leaf: &CStr) -> Key {
    (Arc::as_ptr(parent) as usize, leaf.to_owned())
}

enum Job {
    /// The parent is held weakly: a job whose parent is closed is one nobody can take (the
    /// walk has left that directory), and is dropped ([`evict_dead`]). Its name is its
    /// key's.
    Queued {
        parent: Weak<OwnedFd>,
        seen: Meta,
    },
    Running,
    Done(Result<Opened, String>, Weak<OwnedFd>),
}

struct Slot {
    job: Job,
    /// The walker asked for it ([`Prefetch::submit`]); else the thread guessed it from a
    /// listing of its own, and only the walker's next listing tells whether it is wanted.
    confirmed: bool,
}

#[derive(Default)]
struct State {
    /// Keys in the walker's order: the front is needed first. A key whose job is gone, or
    /// that comes again later, is skipped.
    queue: VecDeque<Key>,
    jobs: HashMap<Key, Slot>,
    /// The subdirectories the thread guessed, by their parent's address: the walker's
    /// listing of that parent confirms or drops each.
    guessed: HashMap<usize, Vec<CString>>,
    /// Jobs running or done and not taken.
    ahead: usize,
    /// The jobs done and not taken (at most [`AHEAD`]): the ones a dead parent can leave
    /// holding a place ahead ([`evict_dead`]).
    done: HashSet<Key>,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// For the thread: work was queued, a listing taken, or the walk is over.
    work: Condvar,
    /// For the walker: a listing is done.
    done: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The thread listing directories ahead of the walk.
pub(crate) struct Prefetch {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Prefetch {
    /// Start the thread; `None` if it cannot be started (the walker then does it all).
    pub(crate) fn start(attrs: bool) -> Option<Prefetch> {
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            work: Condvar::new(),
            done: Condvar::new(),
        });
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fimsum-prefetch".into())
            .spawn(move || run(&theirs, attrs))
            .ok()?;
        Some(Prefetch {
            shared,
            thread: Some(thread),
        })
    }

    /// The directories the walker will enter among what it just listed in `listed` (the
    /// descriptors of the directories it listed), in the order it will enter them: they go
    /// before everything queued so far. What the thread guessed below `listed` and is not
    /// among them is dropped.
    pub(crate) fn submit(&self, listed: &[usize], requests: Vec<Request>) {
        let mut state = self.shared.lock();
        let mut dropped = Vec::new();
        for request in requests.into_iter().rev() {
            let key = (Arc::as_ptr(&request.parent) as usize, request.leaf);
            state.queue.push_front(key.clone());
            match state.jobs.get_mut(&key) {
                Some(slot) => slot.confirmed = true,
                None => {
                    let job = Job::Queued {
                        parent: Arc::downgrade(&request.parent),
                        seen: request.seen,
                    };
                    state.jobs.insert(
                        key,
                        Slot {
                            job,
                            confirmed: true,
                        },
                    );
                }
            }
        }
        for parent in listed {
            for leaf in state.guessed.remove(parent).unwrap_or_default() {
                let key = (*parent, leaf);
                if state.jobs.get(&key).is_some_and(|slot| !slot.confirmed) {
                    dropped.extend(discard(&mut state, &key));
                }
            }
        }
        if !state.queue.is_empty() {
            self.shared.work.notify_one();
        }
        drop(state);
        drop(dropped); // closed outside the lock
    }

    /// The listing of this directory if the thread has started on it at the walker's
    /// request (waiting for it to be done), `None` if the walker is to list it itself.
    pub(crate) fn take(
        &self,
        parent: &Arc<OwnedFd>,
        leaf: &CStr,
    ) -> Option<Result<Opened, String>> {
        let key = key(parent, leaf);
        let mut state = self.shared.lock();
        loop {
            let slot = state.jobs.get(&key)?;
            if !slot.confirmed || matches!(slot.job, Job::Queued { .. }) {
                // The walker's, and what the thread may still do of it is dropped.
                let dropped = discard(&mut state, &key);
                drop(state);
                drop(dropped);
                return None;
            }
            if matches!(slot.job, Job::Running) {
                state = self
                    .shared
                    .done
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            let Some(Slot {
                job: Job::Done(opened, _),
                ..
            }) = remove(&mut state, &key)
            else {
                return None; // not reached: the job was seen done
            };
            self.shared.work.notify_one();
            return Some(opened);
        }
    }
}

/// Remove the job of `key`, keeping the count of listings ahead; a running one finds itself
/// gone when it is done, and is dropped then. What it held comes back, to be closed
/// outside the lock.
fn remove(state: &mut State, key: &Key) -> Option<Slot> {
    let slot = state.jobs.remove(key)?;
    if matches!(slot.job, Job::Done(..)) {
        state.ahead -= 1;
        state.done.remove(key);
    }
    Some(slot)
}

/// [`remove`] a job nobody will take, and the guesses below its listing, which nobody will
/// confirm.
fn discard(state: &mut State, key: &Key) -> Option<Slot> {
    let slot = remove(state, key)?;
    if let Job::Done(Ok(opened), _) = &slot.job {
        state.guessed.remove(&(Arc::as_ptr(&opened.fd) as usize));
    }
    Some(slot)
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: the queued directory the walker needs first, while fewer than [`AHEAD`] are
/// running or done. Below each directory it lists, it guesses the walk's next steps: the
/// subdirectories on the same file system go to the front of the queue, in the walk's
/// order, unconfirmed until the walker lists that directory (see [`Prefetch::submit`]). A
/// guess never crosses into another file system, so the thread never lists what `-x` or
/// `skip_fs` keeps the walk out of (a hung network mount among them).
fn run(shared: &Shared, attrs: bool) {
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                if state.closed {
                    return;
                }
                if state.ahead >= AHEAD {
                    let dropped = evict_dead(&mut state);
                    if !dropped.is_empty() {
                        drop(state);
                        drop(dropped);
                        state = shared.lock();
                        continue;
                    }
                }
                if state.ahead < AHEAD {
                    if let Some(found) = next_queued(&mut state) {
                        state.ahead += 1;
                        break found;
                    }
                }
                state = shared
                    .work
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let listed = open_and_read(&job, attrs);
        let guesses = match &listed {
            Some(Ok((opened, meta))) => subdirectories(opened, meta.dev),
            _ => Vec::new(),
        };
        let mut state = shared.lock();
        let running = state
            .jobs
            .get_mut(&job.key)
            .filter(|slot| matches!(slot.job, Job::Running));
        let (Some(slot), Some(listed)) = (running, listed) else {
            // Dropped while it ran (nobody wants it), or a guess not listed (see
            // `open_and_read`): gone either way, and the walker lists it if it wants it.
            if matches!(
                state.jobs.get(&job.key),
                Some(Slot {
                    job: Job::Running,
                    ..
                })
            ) {
                state.jobs.remove(&job.key);
            }
            state.ahead -= 1;
            drop(state);
            // A walker may be waiting for it.
            shared.done.notify_all();
            continue;
        };
        let parent = Arc::downgrade(&job.parent);
        let below = match &listed {
            Ok((opened, _)) => Some(Arc::downgrade(&opened.fd)),
            Err(_) => None,
        };
        slot.job = Job::Done(listed.map(|(opened, _)| opened), parent);
        state.done.insert(job.key);
        if let Some(below) = below {
            guess(&mut state, below, guesses);
        }
        drop(state);
        shared.done.notify_all();
    }
}

/// The subdirectories of a listing on the device `dev`, in the walk's order.
fn subdirectories(opened: &Opened, dev: u64) -> Vec<(CString, Meta)> {
    let mut dirs: Vec<(CString, Meta)> = opened
        .entries
        .iter()
        .filter_map(|e| match &e.stat {
            Some(Ok((Kind::Dir, meta))) if meta.dev == dev => Some((e.leaf.clone(), *meta)),
            _ => None,
        })
        .collect();
    dirs.sort_by(|(a, _), (b, _)| cmp_entries(a.to_bytes(), true, b.to_bytes(), true));
    dirs
}

/// Queue the guessed subdirectories `dirs` of the directory just listed, whose descriptor
/// is `below`: at the front, in the walk's order, unconfirmed; one already queued stays as
/// it is.
fn guess(state: &mut State, below: Weak<OwnedFd>, dirs: Vec<(CString, Meta)>) {
    let dir = below.as_ptr() as usize;
    let mut leaves = Vec::with_capacity(dirs.len());
    for (leaf, seen) in dirs.into_iter().rev() {
        let key = (dir, leaf.clone());
        if state.jobs.contains_key(&key) {
            continue;
        }
        state.queue.push_front(key.clone());
        let job = Job::Queued {
            parent: Weak::clone(&below),
            seen,
        };
        state.jobs.insert(
            key,
            Slot {
                job,
                confirmed: false,
            },
        );
        leaves.push(leaf);
    }
    if !leaves.is_empty() {
        state.guessed.insert(dir, leaves);
    }
}

/// Drop the jobs nobody can take any more: their parent is closed, so the walk has left
/// it (or never wanted it: a guess below a directory that was dropped). What they held
/// comes back, to be closed outside the lock, which may make more jobs dead: the thread
/// asks again.
fn evict_dead(state: &mut State) -> Vec<Slot> {
    // Only the listings done hold places; a queued job whose parent is closed is dropped
    // when the queue reaches it ([`next_queued`]).
    let dead: Vec<Key> = state
        .done
        .iter()
        .filter(|key| match state.jobs.get(*key) {
            Some(Slot {
                job: Job::Done(_, parent),
                ..
            }) => parent.strong_count() == 0,
            _ => false,
        })
        .cloned()
        .collect();
    dead.iter().filter_map(|key| discard(state, key)).collect()
}

/// The queued directory needed first, marked running; keys whose job is gone or not
/// queued, or whose parent is closed, are dropped on the way.
fn next_queued(state: &mut State) -> Option<Picked> {
    while let Some(key) = state.queue.pop_front() {
        let Some(slot) = state.jobs.get_mut(&key) else {
            continue;
        };
        let (parent, seen) = match &slot.job {
            Job::Queued { parent, seen } => (parent.upgrade(), *seen),
            _ => continue,
        };
        let Some(parent) = parent else {
            state.jobs.remove(&key);
            continue;
        };
        slot.job = Job::Running;
        return Some(Picked {
            guess: !slot.confirmed,
            key,
            parent,
            seen,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_fd(path: &std::path::Path) -> Arc<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        Arc::new(rustix::fs::open(path, flags, Mode::empty()).unwrap())
    }

    fn meta_of(path: &std::path::Path) -> Meta {
        Meta::from_stat(&rustix::fs::lstat(path).unwrap())
    }

    fn names(opened: &Opened) -> Vec<String> {
        let mut names: Vec<String> = opened
            .entries
            .iter()
            .map(|e| e.leaf.to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Every submitted directory is either listed by the thread (and handed back once, with
    /// every entry looked at) or left to the walker; the thread lists at most [`AHEAD`]
    /// ahead, the first needed first; one replaced since it was listed is found replaced.
    #[test]
    fn listings_come_back_once_or_are_left_to_the_walker() {
        let tmp = tempfile::tempdir().unwrap();
        for i in 0..200 {
            let d = tmp.path().join(format!("d{i:03}"));
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("f"), b"x").unwrap();
            std::os::unix::fs::symlink("f", d.join("l")).unwrap();
        }
        let root = dir_fd(tmp.path());
        let prefetch = Prefetch::start(false).unwrap();
        let leaves: Vec<CString> = (0..200)
            .map(|i| CString::new(format!("d{i:03}")).unwrap())
            .collect();
        let requests = leaves
            .iter()
            .map(|leaf| Request {
                parent: Arc::clone(&root),
                leaf: leaf.clone(),
                seen: meta_of(&tmp.path().join(leaf.to_str().unwrap())),
            })
            .collect();
        // The first is swapped for another directory after it was listed.
        let swapped = tmp.path().join("d000");
        std::fs::rename(&swapped, tmp.path().join("old")).unwrap();
        std::fs::create_dir(&swapped).unwrap();
        prefetch.submit(&[], requests);
        // The thread stops when AHEAD listings wait.
        let started = std::time::Instant::now();
        while prefetch.shared.lock().ahead < AHEAD {
            assert!(
                started.elapsed().as_secs() < 60,
                "the thread did not list ahead"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        for (i, leaf) in leaves.iter().enumerate() {
            match (i, prefetch.take(&root, leaf)) {
                (0, Some(Err(e))) => assert_eq!(e, "replaced during the scan"),
                (1..AHEAD, Some(Ok(opened))) => {
                    assert_eq!(names(&opened), ["f", "l"]);
                    assert!(opened.entries.iter().all(|e| matches!(e.stat, Some(Ok(_)))));
                }
                // Past AHEAD: those the thread has not started yet are the walker's.
                (AHEAD.., _) => {}
                (i, other) => panic!("{i}: {:?}", other.map(|r| r.map(|o| names(&o)))),
            }
            // Taken once: asked again, it is the walker's.
            assert!(prefetch.take(&root, leaf).is_none());
        }
    }

    /// Wait (a minute at most) until the thread's state satisfies `done`.
    fn wait_for(prefetch: &Prefetch, what: &str, done: impl Fn(&State) -> bool) {
        let started = std::time::Instant::now();
        while !done(&prefetch.shared.lock()) {
            assert!(started.elapsed().as_secs() < 60, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn is_done(state: &State, key: &Key) -> bool {
        matches!(
            state.jobs.get(key),
            Some(Slot {
                job: Job::Done(..),
                ..
            })
        )
    }

    /// Below a directory it listed, the thread lists the subdirectories too, in the walk's
    /// order; the walker takes such a listing only once it has asked for it, and what its
    /// own listing of the parent does not ask for is dropped, with what was guessed below.
    #[test]
    fn guesses_wait_for_the_walker() {
        let tmp = tempfile::tempdir().unwrap();
        for dir in ["a/x/deeper", "a/y"] {
            std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
        }
        let root = dir_fd(tmp.path());
        let prefetch = Prefetch::start(false).unwrap();
        let request = |parent: &Arc<OwnedFd>, path: &str, leaf: &str| Request {
            parent: Arc::clone(parent),
            leaf: CString::new(leaf).unwrap(),
            seen: meta_of(&tmp.path().join(path)),
        };
        prefetch.submit(&[], vec![request(&root, "a", "a")]);
        wait_for(&prefetch, "a listed", |s| is_done(s, &key(&root, c"a")));
        let a = prefetch.take(&root, c"a").unwrap().unwrap();
        assert_eq!(names(&a), ["x", "y"]);
        let (x, y) = (key(&a.fd, c"x"), key(&a.fd, c"y"));
        wait_for(&prefetch, "x and y guessed", |s| {
            is_done(s, &x) && is_done(s, &y)
        });
        // x's own subdirectory is guessed below x's listing, which is not yet taken.
        wait_for(&prefetch, "x/deeper guessed", |s| {
            s.jobs.iter().any(|((_, leaf), slot)| {
                leaf.as_c_str() == c"deeper" && matches!(slot.job, Job::Done(..))
            })
        });
        assert!(!prefetch.shared.lock().jobs[&y].confirmed);
        // Not asked for: the walker lists it itself.
        assert!(prefetch.take(&a.fd, c"y").is_none());
        // The walker's listing of a asks for y only: x and what is below it are dropped.
        prefetch.submit(
            &[Arc::as_ptr(&a.fd) as usize],
            vec![request(&a.fd, "a/y", "y")],
        );
        assert!(!prefetch.shared.lock().jobs.contains_key(&x));
        wait_for(&prefetch, "y listed again", |s| is_done(s, &y));
        assert_eq!(
            names(&prefetch.take(&a.fd, c"y").unwrap().unwrap()),
            Vec::<String>::new()
        );
        // Full of nothing anybody can take, the thread drops what is below closed parents.
        drop(a);
        let mut state = prefetch.shared.lock();
        let dropped = evict_dead(&mut state);
        assert!(state.jobs.is_empty(), "{} jobs left", state.jobs.len());
        assert_eq!(state.ahead, 0);
        drop(state);
        drop(dropped);
    }

    /// A guessed directory of more than [`GUESS_MAX`] entries is not listed ahead: the walker
    /// lists it if it wants it.
    #[test]
    fn big_directories_are_not_guessed() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("a/small")).unwrap();
        let big = tmp.path().join("a/big");
        std::fs::create_dir_all(&big).unwrap();
        for i in 0..=GUESS_MAX {
            std::fs::write(big.join(format!("f{i}")), b"").unwrap();
        }
        let root = dir_fd(tmp.path());
        let prefetch = Prefetch::start(false).unwrap();
        let a = Request {
            parent: Arc::clone(&root),
            leaf: CString::new("a").unwrap(),
            seen: meta_of(&tmp.path().join("a")),
        };
        prefetch.submit(&[], vec![a]);
        wait_for(&prefetch, "a listed", |s| is_done(s, &key(&root, c"a")));
        let a = prefetch.take(&root, c"a").unwrap().unwrap();
        let (small, big) = (key(&a.fd, c"small"), key(&a.fd, c"big"));
        wait_for(&prefetch, "small guessed, big dropped", |s| {
            is_done(s, &small) && !s.jobs.contains_key(&big)
        });
        assert_eq!(prefetch.shared.lock().ahead, 1);
    }

    /// What the thread lists of directories the walk leaves out keeps its access time.
    #[test]
    fn excluded_directories_keep_their_access_times() {
        use crate::scan::walk::{FilterArg, WalkOptions, Walker};
        use std::fs::FileTimes;
        use std::time::{Duration, SystemTime};
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("src");
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let mut quiet = Vec::new();
        for i in 0..20 {
            let skip = root.join(format!("d{i}/skip"));
            std::fs::create_dir_all(skip.join("inner/more")).unwrap();
            std::fs::create_dir_all(root.join(format!("d{i}/keep"))).unwrap();
            for dir in [skip.clone(), skip.join("inner"), skip.join("inner/more")] {
                let times = FileTimes::new().set_accessed(old);
                std::fs::File::open(&dir).unwrap().set_times(times).unwrap();
                quiet.push(dir);
            }
        }
        let mut options = WalkOptions::new(0, vec![FilterArg::Exclude("skip/".into())]).unwrap();
        options.prefetch = true;
        let source = format!("{}/", root.display()).into_bytes();
        let walker = Walker::new(&[source], options);
        assert!(walker.prefetching());
        assert_eq!(walker.count(), 1 + 20 * 2);
        for dir in quiet {
            let accessed = std::fs::metadata(&dir).unwrap().accessed().unwrap();
            assert_eq!(accessed, old, "{}", dir.display());
        }
    }

    /// Reading stops at an error with what was read before it.
    #[test]
    fn a_failed_read_keeps_what_came_before() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["a", "b", "c"] {
            std::fs::write(tmp.path().join(name), b"").unwrap();
        }
        let dir = dir_fd(tmp.path());
        let (entries, error) =
            read_entries(&dir, false, |n| (n == 3).then_some(libc_eio())).unwrap();
        assert_eq!(error, Some(Errno::IO));
        // `.` and `..` are among the first three reads, in no fixed place.
        assert!(entries.len() <= 3);
        assert!(
            entries.iter().all(|e| e.stat.is_none()),
            "files not stat'ed"
        );
    }

    fn libc_eio() -> i32 {
        Errno::IO.raw_os_error()
    }

    /// A walk with the prefetch thread lists exactly what one without it lists, in the
    /// same order, with the same metadata and problems: on a tree of many directories at
    /// many depths, with hostile names, an unreadable directory and filters, one of them
    /// excluding a directory with many below it.
    #[test]
    fn a_walk_lists_the_same_with_and_without_the_thread() {
        use crate::scan::walk::{Event, FilterArg, WalkOptions, Walker};
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("src");
        for i in 0..40 {
            let mut dir = root.join(format!("d{}", i % 7));
            for depth in 0..(i % 5) {
                dir = dir.join(format!("s{depth}\n\x01 {i}"));
            }
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("f{i}")), b"x").unwrap();
            std::fs::write(dir.join(format!("f{i}.tmp")), b"x").unwrap();
            std::os::unix::fs::symlink("..", dir.join(format!("up{i}"))).unwrap();
        }
        // Below an excluded directory, more directories than the thread lists ahead: its
        // guesses there are dropped, and it goes on with the walk.
        for i in 0..(2 * AHEAD) {
            std::fs::create_dir_all(root.join(format!("d1/skip/w{i}/deep"))).unwrap();
        }
        let locked = root.join("d3/locked");
        std::fs::create_dir_all(locked.join("inner")).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let walk = |prefetch: bool| {
            let mut options = WalkOptions::new(
                0,
                vec![
                    FilterArg::Exclude("*.tmp".into()),
                    FilterArg::Exclude("skip/".into()),
                ],
            )
            .unwrap();
            options.attrs = true;
            options.prefetch = prefetch;
            let source = format!("{}/", root.display()).into_bytes();
            let walker = Walker::new(&[source], options);
            assert_eq!(walker.prefetching(), prefetch);
            walker
                .map(|event| match event {
                    // Not the entry's fd numbers, which differ.
                    Event::Entry(entry) => format!("{:?}", entry.record),
                    Event::Problem(p) => format!("{:?}: {}", p.name, p.message),
                    Event::Skipped(s) => format!("{:?}", s.name),
                })
                .collect::<Vec<String>>()
        };
        let (without, with) = (walk(false), walk(true));
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(without.len() > 150, "{}", without.len());
        assert_eq!(with, without);
    }
}
