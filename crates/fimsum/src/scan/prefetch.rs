//! Directories opened and listed ahead of the walk, by a thread of their own, for walks
//! that read few files (`check --quick`): there the walk's system calls (an open, the
//! listing and an `fstatat` of every entry) are the run's critical path, one thread's
//! worth, and a second thread can make a share of them.
//!
//! The walker stays the one that decides anything. It hands over only directories it has
//! listed, filtered and is going to enter, and takes each listing back when it reaches the
//! directory in its own order; everything a listing means (filters, `--files-from`, what
//! is reported) is still worked out by the walker. The thread makes exactly the calls the
//! walker would make ([`open_dir`], [`read_entries`]): the directory is opened
//! `O_NOFOLLOW|O_DIRECTORY` relative to its parent's descriptor and checked to be the inode
//! that was listed, its entries looked at relative to it. What it hands back is what the
//! walker would have seen a moment later; a swap in between is the same race as one just
//! before the walker's own look, and is caught the same way.
//!
//! Which directories: the walker puts each directory's subdirectories at the front of the
//! queue, in its order (they come next in its depth-first walk), and lists itself any it
//! reaches before the thread has started on it. The thread takes the one needed next but
//! one: the next is the walker's, which it is about to list, and what the thread lists is
//! taken soon, so that at most [`AHEAD`] listings, each holding its directory's
//! descriptor, wait to be taken.

use std::collections::{HashMap, VecDeque};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::attrs::Attrs;
use crate::record::{Kind, Meta};
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
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(parent, leaf, flags, Mode::empty()).map_err(describe)?;
    let meta = Meta::from_stat(&rustix::fs::fstat(&fd).map_err(describe)?);
    if (meta.dev, meta.ino) != (seen.dev, seen.ino) {
        return Err("replaced during the scan".into());
    }
    Ok((fd, meta))
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

/// [`open_dir`] and [`read_entries`] of one directory, every entry looked at, with its
/// attributes if `attrs`.
fn open_and_read(request: &Request, attrs: bool) -> Result<Opened, String> {
    let (fd, _) = open_dir(&request.parent, &request.leaf, &request.seen)?;
    let attrs = attrs
        .then(|| crate::attrs::read::of_fd(fd.as_fd(), Kind::Dir))
        .flatten();
    let (entries, error) = read_entries(&fd, true, |_| None).map_err(describe)?;
    Ok(Opened {
        fd: Arc::new(fd),
        attrs,
        entries,
        error,
    })
}

/// A directory to list: where it is and what it was listed as.
pub(crate) struct Request {
    pub parent: Arc<OwnedFd>,
    pub leaf: CString,
    pub seen: Meta,
}

/// A directory by its parent's descriptor (the very `Arc`, alive as long as the request
/// or listing that holds it) and its name there.
type Key = (usize, CString);

fn key(parent: &Arc<OwnedFd>, leaf: &CStr) -> Key {
    (Arc::as_ptr(parent) as usize, leaf.to_owned())
}

enum Job {
    Queued(Request),
    Running,
    /// With the parent's descriptor, so that no other can take its address (and so its
    /// key) while the listing waits.
    Done(Result<Opened, String>, Arc<OwnedFd>),
}

#[derive(Default)]
struct State {
    /// Keys in the walker's order: the front is needed first. A key whose job the walker
    /// took back is skipped.
    queue: VecDeque<Key>,
    jobs: HashMap<Key, Job>,
    /// Jobs running or done and not taken.
    ahead: usize,
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

    /// Directories the walker will enter, in the order it will: they go before everything
    /// queued so far.
    pub(crate) fn submit(&self, requests: Vec<Request>) {
        if requests.is_empty() {
            return;
        }
        let mut state = self.shared.lock();
        for request in requests.into_iter().rev() {
            let key = key(&request.parent, &request.leaf);
            state.queue.push_front(key.clone());
            state.jobs.insert(key, Job::Queued(request));
        }
        self.shared.work.notify_one();
    }

    /// The listing of this directory if the thread has started on it (waiting for it to be
    /// done), `None` if the walker is to list it itself.
    pub(crate) fn take(
        &self,
        parent: &Arc<OwnedFd>,
        leaf: &CStr,
    ) -> Option<Result<Opened, String>> {
        let key = key(parent, leaf);
        let mut state = self.shared.lock();
        loop {
            match state.jobs.remove(&key)? {
                // Not started: the walker's, and its key in the queue is skipped.
                Job::Queued(_) => return None,
                Job::Running => {
                    state.jobs.insert(key.clone(), Job::Running);
                    state = self
                        .shared
                        .done
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Job::Done(opened, _parent) => {
                    state.ahead -= 1;
                    self.shared.work.notify_one();
                    return Some(opened);
                }
            }
        }
    }
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

/// The thread: the queued directory the walker needs last, while fewer than [`AHEAD`] are
/// running or done.
fn run(shared: &Shared, attrs: bool) {
    loop {
        let (key, request) = {
            let mut state = shared.lock();
            loop {
                if state.closed {
                    return;
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
        let opened = open_and_read(&request, attrs);
        shared
            .lock()
            .jobs
            .insert(key, Job::Done(opened, request.parent));
        shared.done.notify_all();
    }
}

/// The queued directory needed first, marked running; keys the walker took back are
/// dropped on the way.
fn next_queued(state: &mut State) -> Option<(Key, Request)> {
    while let Some(key) = state.queue.pop_front() {
        match state.jobs.remove(&key) {
            Some(Job::Queued(request)) => {
                state.jobs.insert(key.clone(), Job::Running);
                return Some((key, request));
            }
            Some(job) => {
                state.jobs.insert(key, job);
            }
            None => {}
        }
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
        prefetch.submit(requests);
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
    /// many depths, with hostile names, an unreadable directory and a filter.
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
        let locked = root.join("d3/locked");
        std::fs::create_dir_all(locked.join("inner")).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let walk = |prefetch: bool| {
            let mut options =
                WalkOptions::new(0, vec![FilterArg::Exclude("*.tmp".into())]).unwrap();
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
