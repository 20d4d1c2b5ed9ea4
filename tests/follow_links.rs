//! rsync's -L, --copy-unsafe-links and --safe-links beyond the recorded cases: loops rsync
//! would follow without end, checks of a baseline made with them, and symlinks or their
//! targets swapped while the walk follows them.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use fimsum::hash::Algorithm;
use fimsum::record::{Content, Kind, Record};
use fimsum::scan::walk::{Follow, WalkOptions};
use fimsum::scan::{HookRef, Hooks};

use crate::util::{
    code, contents_of, fixtures, run_in, scan_options, scan_source, scratch, stderr, stdout, write,
};

/// A symlink to `.` or to a directory above it: rsync -L lists its way down them until
/// the kernel refuses a path (for hours with two of them); fimsum lists the tree once,
/// names each such link and exits with bit 8, as for rsync's exit 23.
#[test]
fn loops_are_stopped_and_named() {
    for (source, prefix) in [("follow/loops/", ""), ("follow/loops", "loops/")] {
        let out = run_in(fixtures(), ["scan", "-aL", source]);
        let (text, err) = (stdout(&out), stderr(&out));
        assert_eq!(code(&out), 8, "{source}: {text}{err}");
        let names: Vec<&str> = text
            .lines()
            .map(|l| l.split(' ').next().unwrap_or(l))
            .collect();
        let want: Vec<String> = ["./", "d/", "d/f"]
            .iter()
            .map(|n| match (prefix, *n) {
                ("", n) => n.to_string(),
                (p, "./") => p.to_string(),
                (p, n) => format!("{p}{n}"),
            })
            .collect();
        assert_eq!(names, want, "{source}: {text}");
        for link in ["self", "d/anc"] {
            assert!(
                err.contains(&format!(
                    "{prefix}{link}: symlink leads back to a directory"
                )),
                "{source}: {err}"
            );
        }
    }
}

/// `check` rescans with the baseline's symlink options (no -L on its command line): a
/// followed link is compared as the file or directory it leads to, so new content of its
/// target, or the link pointing elsewhere, is a change of the link's entry; a baseline
/// made without -L sees neither.
#[test]
fn check_compares_a_followed_link_as_what_it_leads_to() {
    let tmp = scratch();
    let d = tmp.path();
    write(&d.join("src/a"), b"a\n");
    write(&d.join("src/b"), b"bb\n");
    write(&d.join("src/sub/in"), b"in\n");
    std::os::unix::fs::symlink("a", d.join("src/l")).unwrap();
    std::os::unix::fs::symlink("sub", d.join("src/dl")).unwrap();
    for (base, option) in [("followed", "-aL"), ("links", "-a")] {
        let out = run_in(d, ["scan", "-o", base, option, "src/"]);
        assert_eq!(code(&out), 0, "{base}: {}", stderr(&out));
        let out = run_in(d, ["check", base]);
        assert_eq!(code(&out), 0, "{base} unchanged: {}", stdout(&out));
    }
    let out = run_in(d, ["check", "followed", "--format", "rsync"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // The link points elsewhere: the followed listing sees new content under its name.
    std::fs::remove_file(d.join("src/l")).unwrap();
    std::os::unix::fs::symlink("b", d.join("src/l")).unwrap();
    let out = run_in(d, ["check", "followed", "--format", "rsync"]);
    let text = stdout(&out);
    assert_eq!(code(&out) & 7, 4, "{text}");
    let md5_b = Algorithm::Md5.digest(b"bb\n").to_hex();
    assert!(text.contains(&format!("l {md5_b}")), "{text}");
    // A new file under the followed directory is a new entry below the link's name.
    write(&d.join("src/sub/new"), b"new\n");
    let out = run_in(d, ["check", "followed", "--format", "rsync"]);
    assert!(stdout(&out).contains("dl/new "), "{}", stdout(&out));
    assert_eq!(code(&out) & 7, 5, "{}", stdout(&out));
    // The -a baseline lists the symlinks: the one pointing elsewhere is a change, the new
    // file is there only under sub/, not under the link's name.
    let out = run_in(d, ["check", "links", "--format", "rsync"]);
    assert_eq!(code(&out) & 7, 5, "{}", stdout(&out));
    assert!(!stdout(&out).contains("dl/new"), "{}", stdout(&out));
}

fn follow_all() -> WalkOptions {
    let mut walk = WalkOptions::new(0, Vec::new()).unwrap();
    walk.listing.follow = Follow {
        copy_links: true,
        ..Follow::NONE
    };
    walk
}

fn find<'a>(records: &'a [Record], name: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.name == name.as_bytes())
        .unwrap_or_else(|| panic!("{name} not listed"))
}

/// Runs `action` once, the first time `moment` comes for `target`.
struct Once {
    target: &'static [u8],
    moment: &'static str,
    done: AtomicBool,
    action: Box<dyn Fn() + Send + Sync>,
}

impl Once {
    fn fire(&self, moment: &str, name: &[u8]) {
        if moment == self.moment && name == self.target && !self.done.swap(true, Ordering::SeqCst) {
            (self.action)();
        }
    }
}

impl Hooks for Once {
    fn before_descend(&self, name: &[u8]) {
        self.fire("before_descend", name)
    }
    fn before_open(&self, name: &[u8]) {
        self.fire("before_open", name)
    }
}

fn scan(root: &Path, hooks: Once, open_files: usize) -> (Vec<Record>, Vec<String>) {
    let mut walk = follow_all();
    walk.hooks = HookRef::new(Arc::new(hooks));
    walk.open_files = open_files;
    let options = scan_options(Algorithm::Md5, 2, walk);
    scan_source(&contents_of(&root.join("src")), &options, None)
}

/// The target of a followed link replaced just before it is opened: the record holds the
/// metadata of the file it hashed (its fstat), never the old file's size with the new
/// file's checksum. Whether the walk or the reader opens it.
#[test]
fn a_followed_target_swapped_before_the_open_is_recorded_whole() {
    for open_files in [0, 64] {
        let tmp = scratch();
        let (old, new) = (vec![b'o'; 4096], vec![b'n'; 100]);
        write(&tmp.path().join("src/t"), &old);
        std::os::unix::fs::symlink("t", tmp.path().join("src/l")).unwrap();
        let (t, staged) = (tmp.path().join("src/t"), tmp.path().join("staged"));
        let replacement = new.clone();
        let hooks = Once {
            target: b"l",
            moment: "before_open",
            done: AtomicBool::new(false),
            action: Box::new(move || {
                std::fs::write(&staged, &replacement).unwrap();
                std::fs::rename(&staged, &t).unwrap();
            }),
        };
        let (records, problems) = scan(tmp.path(), hooks, open_files);
        let l = find(&records, "l");
        assert_eq!(l.kind, Kind::File, "{problems:?}");
        let meta = l.meta.expect("metadata");
        let digest = l.content.digest().expect("hashed");
        if *digest == Algorithm::Md5.digest(&new) {
            assert_eq!(meta.size, new.len() as u64, "open_files {open_files}");
        } else {
            assert_eq!(*digest, Algorithm::Md5.digest(&old));
            assert_eq!(meta.size, old.len() as u64, "open_files {open_files}");
        }
    }
}

/// A followed directory swapped for a symlink to elsewhere after the link was resolved:
/// it is opened O_NOFOLLOW, so nothing outside is listed, and the problem is named.
#[test]
fn a_followed_directory_swapped_for_a_symlink_leads_nowhere() {
    let tmp = scratch();
    let p = tmp.path();
    write(&p.join("src/d/inside"), b"in");
    write(&p.join("outside/shadow"), b"root-only secret");
    std::os::unix::fs::symlink("d", p.join("src/dl")).unwrap();
    let (d, moved, outside) = (p.join("src/d"), p.join("src/d.moved"), p.join("outside"));
    let hooks = Once {
        target: b"dl",
        moment: "before_descend",
        done: AtomicBool::new(false),
        action: Box::new(move || {
            std::fs::rename(&d, &moved).unwrap();
            std::os::unix::fs::symlink(&outside, &d).unwrap();
        }),
    };
    let (records, problems) = scan(p, hooks, 0);
    assert!(
        !records.iter().any(|r| r.name.ends_with(b"shadow")),
        "{records:?}"
    );
    let dl = find(&records, "dl");
    assert_eq!(dl.kind, Kind::Dir);
    assert!(matches!(dl.content, Content::Unreadable(_)), "{dl:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("dl: cannot read directory")),
        "{problems:?}"
    );
}
