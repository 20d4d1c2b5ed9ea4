//! Never crash, never lie: files that change, vanish or are swapped while a scan reads them.
//! Each test changes the tree at an exact moment through `fimsum::scan::Hooks`, the way
//! rsync's test suite uses an LD_PRELOAD shim, and checks that no checksum of mixed or
//! foreign content is recorded and that the scan goes on.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use fimsum::hash::{Algorithm, HashKind, Kernel};
use fimsum::record::{Content, Kind, Record};
use fimsum::scan::walk::WalkOptions;
use fimsum::scan::ScanOptions;
use fimsum::scan::{HookRef, Hooks};

use crate::util::{contents_of, is_root, scan_options, scan_source, scratch, stdout, write};

/// Big enough to take several reads (the read buffer is 256 KiB), and mapped in the scan.
const BIG: usize = 1 << 20;
/// Sizes that take each way in: read in one piece, read in several pieces of 256 KiB, mapped,
/// mapped in many windows of 256 KiB.
const SIZES: [usize; 4] = [64 << 10, 600 << 10, 1 << 20, 5 << 20];

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Scan `src/` under `root` with hooks, also computing a sha256 beside every md5; return
/// the records and problems by name. Every sha256 must be of the same bytes as its md5,
/// never of a piece more or less, however the file changed under the read: where a file
/// now holds what its md5 says, its sha256 must be that content's.
fn scan_with(root: &Path, hooks: Arc<dyn Hooks>) -> (Vec<Record>, Vec<String>) {
    let sha = [HashKind::Sha256];
    let (records, problems) = scan_with_hooks(root, hooks, 2, Kernel::detect(), &sha);
    for r in &records {
        let Content::Digest(md5) = r.content else {
            assert!(r.extra.is_empty(), "{r:?}");
            continue;
        };
        assert_eq!(r.extra.len(), 1, "{r:?}");
        let path = root.join("src").join(std::ffi::OsStr::from_bytes(&r.name));
        let now = std::fs::read(path).ok();
        if let Some(now) = now.filter(|now| Algorithm::Md5.digest(now) == md5) {
            assert_eq!(
                r.extra,
                vec![(HashKind::Sha256, HashKind::Sha256.digest(&now))]
            );
        }
    }
    (records, problems)
}

/// Scan `src/` under `root` without hooks; the records.
fn scan_with_options(root: &Path, threads: usize, kernel: Kernel) -> Vec<Record> {
    let (records, problems) = scan_with_hooks(root, Arc::new(NoHooks), threads, kernel, &[]);
    assert!(problems.is_empty(), "{problems:?}");
    records
}

struct NoHooks;
impl Hooks for NoHooks {}

fn scan_with_hooks(
    root: &Path,
    hooks: Arc<dyn Hooks>,
    threads: usize,
    kernel: Kernel,
    extras: &[HashKind],
) -> (Vec<Record>, Vec<String>) {
    let mut walk = WalkOptions::new(0, Vec::new()).unwrap();
    walk.hooks = HookRef::new(hooks);
    // The look-ahead of scan_options is small, so that the test with 40,000 small files
    // fills it.
    let options = ScanOptions {
        extras: extras.to_vec(),
        kernel,
        ..scan_options(Algorithm::Md5, threads, walk)
    };
    scan_source(&contents_of(&root.join("src/")), &options, None)
}

fn find<'a>(records: &'a [Record], name: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.name == name.as_bytes())
        .unwrap_or_else(|| panic!("{name} not listed"))
}

/// Runs `action` on the file the first N times the chosen moment comes for it.
struct At {
    target: Vec<u8>,
    moment: &'static str,
    times: usize,
    done: AtomicUsize,
    action: Box<dyn Fn() + Send + Sync>,
}

impl At {
    fn new(
        target: &str,
        moment: &'static str,
        times: usize,
        action: impl Fn() + Send + Sync + 'static,
    ) -> Arc<At> {
        Arc::new(At {
            target: target.as_bytes().to_vec(),
            moment,
            times,
            done: AtomicUsize::new(0),
            action: Box::new(action),
        })
    }

    fn fire(&self, moment: &str, name: &[u8]) {
        if moment == self.moment
            && name == self.target
            && self.done.fetch_add(1, Ordering::SeqCst) < self.times
        {
            (self.action)();
        }
    }
}

impl Hooks for At {
    fn before_descend(&self, name: &[u8]) {
        self.fire("before_descend", name)
    }
    fn before_open(&self, name: &[u8]) {
        self.fire("before_open", name)
    }
    fn after_open(&self, name: &[u8]) {
        self.fire("after_open", name)
    }
    fn after_first_read(&self, name: &[u8]) {
        self.fire("after_first_read", name)
    }
}

fn setup(size: usize) -> (tempfile::TempDir, PathBuf) {
    let tmp = scratch();
    let f = tmp.path().join("src/f");
    write(&f, &content(size, 1));
    write(&tmp.path().join("src/other"), b"unchanged");
    (tmp, f)
}

fn assert_changed_during_scan(records: &[Record], problems: &[String]) {
    let f = find(records, "f");
    assert!(
        matches!(f.content, Content::ChangedDuringScan(_)),
        "{:?}",
        f.content
    );
    assert!(f.content.digest().is_none());
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("f: changed during the scan")),
        "{problems:?}"
    );
    // The scan went on.
    assert_eq!(
        find(records, "other").content.digest(),
        Some(&Algorithm::Md5.digest(b"unchanged"))
    );
}

#[test]
fn a_file_truncated_while_read_gets_no_checksum() {
    for size in SIZES {
        let (tmp, f) = setup(size);
        let g = f.clone();
        let hooks = At::new("f", "after_first_read", usize::MAX, move || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&g)
                .unwrap()
                .set_len(4096)
                .unwrap();
            // Grow it back so every attempt sees a change.
            std::fs::write(&g, content(size, 2)).unwrap();
        });
        let (records, problems) = scan_with(tmp.path(), hooks);
        assert_changed_during_scan(&records, &problems);
    }
}

#[test]
fn a_file_growing_while_read_gets_no_checksum() {
    for size in SIZES {
        let (tmp, f) = setup(size);
        let g = f.clone();
        let hooks = At::new("f", "after_first_read", usize::MAX, move || {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new().append(true).open(&g).unwrap();
            file.write_all(b"appended log line\n").unwrap();
        });
        let (records, problems) = scan_with(tmp.path(), hooks);
        assert_changed_during_scan(&records, &problems);
    }
}

#[test]
fn a_same_size_rewrite_with_the_old_mtime_put_back_is_caught_by_ctime() {
    for size in SIZES {
        let (tmp, f) = setup(size);
        let g = f.clone();
        let hooks = At::new("f", "after_first_read", usize::MAX, move || {
            let mtime = std::fs::metadata(&g).unwrap().modified().unwrap();
            std::fs::write(&g, content(size, 9)).unwrap();
            std::fs::File::options()
                .write(true)
                .open(&g)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
        });
        let (records, problems) = scan_with(tmp.path(), hooks);
        assert_changed_during_scan(&records, &problems);
    }
}

#[test]
fn a_change_that_settles_is_retried_once_and_hashed_whole() {
    for size in SIZES {
        let (tmp, f) = setup(size);
        let g = f.clone();
        let hooks = At::new("f", "after_first_read", 1, move || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&g)
                .unwrap()
                .set_len(1000)
                .unwrap();
        });
        let (records, problems) = scan_with(tmp.path(), hooks);
        let rec = find(&records, "f");
        let now = std::fs::read(&f).unwrap();
        assert_eq!(now.len(), 1000);
        assert_eq!(rec.content.digest(), Some(&Algorithm::Md5.digest(&now)));
        assert_eq!(rec.meta.unwrap().size, 1000);
        assert!(problems.is_empty(), "{problems:?}");
    }
}

#[test]
fn a_file_renamed_over_while_read_is_not_recorded_with_the_old_content() {
    let (tmp, f) = setup(BIG);
    let (g, staged) = (f.clone(), tmp.path().join("staged"));
    let hooks = At::new("f", "after_open", 1, move || {
        // A package upgrade: write the new version beside it, rename it over.
        std::fs::write(&staged, content(BIG, 7)).unwrap();
        std::fs::rename(&staged, &g).unwrap();
    });
    let (records, _) = scan_with(tmp.path(), hooks);
    // The retry hashes the file the name holds now.
    assert_eq!(
        find(&records, "f").content.digest(),
        Some(&Algorithm::Md5.digest(&content(BIG, 7)))
    );
}

#[test]
fn a_file_unlinked_while_read_is_reported_not_hashed() {
    let (tmp, f) = setup(BIG);
    let g = f.clone();
    let hooks = At::new("f", "after_open", 1, move || {
        std::fs::remove_file(&g).unwrap()
    });
    let (records, problems) = scan_with(tmp.path(), hooks);
    let rec = find(&records, "f");
    assert!(rec.content.digest().is_none(), "{:?}", rec.content);
    assert!(
        problems.iter().any(|p| p.starts_with("f: ")),
        "{problems:?}"
    );
}

#[test]
fn a_fifo_swapped_in_for_a_file_does_not_hang_the_scan() {
    let (tmp, f) = setup(BIG);
    let g = f.clone();
    let hooks = At::new("f", "before_open", usize::MAX, move || {
        if std::fs::symlink_metadata(&g)
            .map(|m| m.is_file())
            .unwrap_or(false)
        {
            std::fs::remove_file(&g).unwrap();
            rustix::fs::mkfifoat(rustix::fs::CWD, &g, rustix::fs::Mode::from_raw_mode(0o644))
                .unwrap();
        }
    });
    let started = std::time::Instant::now();
    let (records, problems) = scan_with(tmp.path(), hooks);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_changed_during_scan(&records, &problems);
}

#[test]
fn a_file_swapped_for_a_symlink_is_never_followed() {
    let (tmp, f) = setup(BIG);
    write(&tmp.path().join("secret"), b"outside the tree");
    let (g, secret) = (f.clone(), tmp.path().join("secret"));
    let hooks = At::new("f", "before_open", usize::MAX, move || {
        if std::fs::symlink_metadata(&g)
            .map(|m| m.is_file())
            .unwrap_or(false)
        {
            std::fs::remove_file(&g).unwrap();
            std::os::unix::fs::symlink(&secret, &g).unwrap();
        }
    });
    let (records, _) = scan_with(tmp.path(), hooks);
    let rec = find(&records, "f");
    assert_ne!(
        rec.content.digest(),
        Some(&Algorithm::Md5.digest(b"outside the tree"))
    );
    assert!(rec.content.digest().is_none());
}

/// rsync's CVE-2026-53797: a directory swapped for a symlink after it was listed must not
/// lead the scan outside the tree.
#[test]
fn a_directory_swapped_for_a_symlink_leads_nowhere() {
    let tmp = scratch();
    write(&tmp.path().join("src/d/inside"), b"in");
    write(&tmp.path().join("outside/shadow"), b"root-only secret");
    let (d, moved, outside) = (
        tmp.path().join("src/d"),
        tmp.path().join("src/d.moved"),
        tmp.path().join("outside"),
    );
    let hooks = At::new("d", "before_descend", 1, move || {
        std::fs::rename(&d, &moved).unwrap();
        std::os::unix::fs::symlink(&outside, &d).unwrap();
    });
    let (records, problems) = scan_with(tmp.path(), hooks);
    let names: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.name).into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("shadow")), "{names:?}");
    let d = find(&records, "d");
    assert_eq!(d.kind, Kind::Dir);
    assert!(
        matches!(d.content, Content::Unreadable(_)),
        "{:?}",
        d.content
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("d: cannot read directory")),
        "{problems:?}"
    );
}

/// Devices and FIFOs are listed and never opened (opening /dev/watchdog reboots a machine).
#[test]
fn special_files_are_listed_and_never_opened() {
    let tmp = scratch();
    write(&tmp.path().join("src/file"), b"x");
    let dir = tmp.path().join("src");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        dir.join("fifo"),
        rustix::fs::Mode::from_raw_mode(0o644),
    )
    .unwrap();
    let is_root = is_root();
    if is_root {
        let null = rustix::fs::makedev(1, 3);
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.join("null"),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o666),
            null,
        )
        .unwrap();
    }
    struct Opens(Mutex<Vec<Vec<u8>>>);
    impl Hooks for Opens {
        fn before_open(&self, name: &[u8]) {
            self.0.lock().unwrap().push(name.to_vec());
        }
    }
    let opens = Arc::new(Opens(Mutex::new(Vec::new())));
    let (records, problems) = scan_with(tmp.path(), opens.clone());
    assert_eq!(*opens.0.lock().unwrap(), vec![b"file".to_vec()]);
    assert_eq!(find(&records, "fifo").kind, Kind::Fifo);
    if is_root {
        let null = find(&records, "null");
        assert_eq!(null.kind, Kind::CharDevice);
        assert_eq!(null.content, Content::NotAFile);
    }
    assert!(problems.is_empty(), "{problems:?}");
}

/// Another thread truncates large files while they are hashed, at moments no test chooses:
/// the scan finishes and every checksum it records is of content the file really held.
#[test]
fn concurrent_truncation_never_yields_a_checksum_of_mixed_content() {
    let tmp = scratch();
    let n = 8;
    for i in 0..n {
        write(
            &tmp.path().join(format!("src/big{i}")),
            &content(8 << 20, i as u8),
        );
    }
    let root = tmp.path().to_path_buf();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let truncator = {
        let (root, stop) = (root.clone(), stop.clone());
        std::thread::spawn(move || {
            for i in (0..n).step_by(2) {
                std::thread::sleep(std::time::Duration::from_millis(5));
                let _ = std::fs::OpenOptions::new()
                    .write(true)
                    .open(root.join(format!("src/big{i}")))
                    .and_then(|f| f.set_len(12 << 10));
                if stop.load(Ordering::SeqCst) {
                    break;
                }
            }
        })
    };
    let (records, _) = scan_with(&root, At::new("", "none", 0, || {}));
    stop.store(true, Ordering::SeqCst);
    truncator.join().unwrap();
    for i in 0..n {
        let rec = find(&records, &format!("big{i}"));
        if let Some(d) = rec.content.digest() {
            let full = content(8 << 20, i as u8);
            let possible = [
                Algorithm::Md5.digest(&full),
                Algorithm::Md5.digest(&full[..12 << 10]),
            ];
            assert!(
                possible.contains(d),
                "big{i}: checksum of content the file never held"
            );
        }
    }
}

/// Names of 255 bytes and paths longer than PATH_MAX: the walker works relative to the
/// directories it holds, so depth does not matter. (rsync skips such paths with
/// "filename overflows max-path len"; fimsum lists them.)
#[test]
fn paths_longer_than_path_max_and_255_byte_names_are_listed() {
    use rustix::fs::{openat, Mode, OFlags};
    let tmp = scratch();
    std::fs::create_dir(tmp.path().join("src")).unwrap();
    let long = "n".repeat(255);
    let mut dir = rustix::fs::open(
        tmp.path().join("src"),
        OFlags::DIRECTORY | OFlags::RDONLY,
        Mode::empty(),
    )
    .unwrap();
    let depth = 20; // 20 x 256 bytes: well past PATH_MAX (4096)
    for _ in 0..depth {
        rustix::fs::mkdirat(&dir, long.as_str(), Mode::from_raw_mode(0o755)).unwrap();
        dir = openat(
            &dir,
            long.as_str(),
            OFlags::DIRECTORY | OFlags::RDONLY,
            Mode::empty(),
        )
        .unwrap();
    }
    let file = openat(
        &dir,
        "leaf",
        OFlags::CREATE | OFlags::WRONLY,
        Mode::from_raw_mode(0o644),
    )
    .unwrap();
    rustix::io::write(&file, b"deep").unwrap();
    let (records, problems) = scan_with(tmp.path(), At::new("", "none", 0, || {}));
    assert!(problems.is_empty(), "{problems:?}");
    let leaf = records.last().unwrap();
    assert!(leaf.name.len() > 4096 && leaf.name.ends_with(b"/leaf"));
    assert_eq!(leaf.content.digest(), Some(&Algorithm::Md5.digest(b"deep")));
    assert_eq!(records.len(), 1 + depth + 1);
}

/// Page-cache courtesy: a file that was not cached is dropped from the cache after it is
/// hashed; a file that was cached stays cached; a file under 64 KiB is not asked about and
/// stays. Measured with util-linux `fincore` (skipped
/// with a notice where it or `cachestat(2)` is missing).
#[test]
fn scanning_leaves_the_page_cache_as_it_found_it() {
    let tmp = scratch();
    write(&tmp.path().join("src/cold"), &content(4 << 20, 3));
    write(&tmp.path().join("src/warm"), &content(4 << 20, 4));
    write(&tmp.path().join("src/small-cold"), &content(64 << 10, 5));
    write(&tmp.path().join("src/tiny-cold"), &content(4 << 10, 6));
    let resident = |name: &str| -> Option<u64> {
        let out = std::process::Command::new("fincore")
            .args(["--bytes", "--noheadings", "--output", "RES"])
            .arg(tmp.path().join("src").join(name))
            .output()
            .ok()?;
        stdout(&out).trim().parse().ok()
    };
    let evict = |name: &str| {
        let f = std::fs::File::open(tmp.path().join("src").join(name)).unwrap();
        f.sync_all().unwrap();
        rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
    };
    evict("cold");
    evict("small-cold");
    evict("tiny-cold");
    std::fs::read(tmp.path().join("src/warm")).unwrap();
    let (Some(0), Some(warm_before)) = (resident("cold"), resident("warm")) else {
        eprintln!("skipped: fincore cannot tell page-cache residency here");
        return;
    };
    // Not `scan_with`: its check would read the files back into the cache.
    let sha = [HashKind::Sha256];
    let hooks = At::new("", "none", 0, || {});
    let (records, problems) = scan_with_hooks(tmp.path(), hooks, 2, Kernel::detect(), &sha);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        find(&records, "cold").content.digest(),
        Some(&Algorithm::Md5.digest(&content(4 << 20, 3)))
    );
    if resident("cold") != Some(0) && !kernel_has_cachestat() {
        eprintln!("skipped: this kernel has no cachestat(2)");
        return;
    }
    assert_eq!(
        resident("cold"),
        Some(0),
        "a file fimsum brought into the cache stays there"
    );
    assert_eq!(resident("small-cold"), Some(0));
    // Files under 64 KiB are not worth the question (`cache::COURTESY_MIN`).
    assert_eq!(resident("tiny-cold"), Some(4 << 10));
    assert_eq!(
        resident("warm"),
        Some(warm_before),
        "a cached file was evicted"
    );
}

/// cachestat(2) arrived in Linux 6.5.
fn kernel_has_cachestat() -> bool {
    let release = rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    matches!((parts.next(), parts.next()), (Some(major), Some(minor)) if (major, minor) >= (6, 5))
}

/// Big files early in the walk, then more small files than the output window holds: the
/// output waits for a big file in a lane while the walker waits for the output, so the
/// lanes must drain instead of waiting for more jobs (this once hung). Every thread count
/// and MD5 kernel, each within a time limit.
#[test]
fn big_files_before_a_long_tail_of_small_ones_do_not_hang_the_scan() {
    let tmp = scratch();
    let big: Vec<Vec<u8>> = (0..3u8).map(|i| content(24 << 20, i)).collect();
    for (i, data) in big.iter().enumerate() {
        write(&tmp.path().join(format!("src/a{i}")), data);
    }
    let small = tmp.path().join("src/z");
    std::fs::create_dir_all(&small).unwrap();
    for i in 0..40_000 {
        std::fs::write(small.join(i.to_string()), i.to_string()).unwrap();
    }
    for (threads, kernel) in [
        (1, Kernel::detect()),
        (2, Kernel::detect()),
        (2, Kernel::Scalar),
    ] {
        let root = tmp.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(scan_with_options(&root, threads, kernel));
        });
        let records = rx
            .recv_timeout(std::time::Duration::from_secs(300))
            .unwrap_or_else(|_| panic!("the scan hung ({threads} threads, {kernel})"));
        for (i, data) in big.iter().enumerate() {
            assert_eq!(
                find(&records, &format!("a{i}")).content.digest(),
                Some(&Algorithm::Md5.digest(data))
            );
        }
        assert_eq!(records.len(), 3 + 1 + 40_000 + 1);
        assert_eq!(
            find(&records, "z/39999").content.digest(),
            Some(&Algorithm::Md5.digest(b"39999"))
        );
    }
}

/// Counts the files a scan reads, by name. (Not the opens: a full scan's walk opens every
/// name to take its metadata, and learns only then that two names are one file.)
#[derive(Default)]
struct CountReads(Mutex<Vec<String>>);

impl Hooks for CountReads {
    fn after_first_read(&self, name: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(name).into_owned());
    }
}

/// A file with several names is read once, and every name gets its checksum.
#[test]
fn hard_links_are_read_once_and_share_the_checksum() {
    let tmp = scratch();
    write(&tmp.path().join("src/a/one"), b"linked content");
    std::fs::create_dir_all(tmp.path().join("src/b")).unwrap();
    std::fs::hard_link(tmp.path().join("src/a/one"), tmp.path().join("src/b/two")).unwrap();
    std::fs::hard_link(tmp.path().join("src/a/one"), tmp.path().join("src/three")).unwrap();
    write(&tmp.path().join("src/plain"), b"plain");
    let reads = Arc::new(CountReads::default());
    let (records, problems) = scan_with(tmp.path(), reads.clone());
    assert!(problems.is_empty(), "{problems:?}");
    let want = Algorithm::Md5.digest(b"linked content");
    for name in ["a/one", "b/two", "three"] {
        assert_eq!(find(&records, name).content.digest(), Some(&want), "{name}");
    }
    let mut read = reads.0.lock().unwrap().clone();
    read.sort();
    // rsync order lists a directory's files before its subdirectories: "three" is the first
    // name of the three, so it is the one read.
    assert_eq!(read, ["plain", "three"]);
}
