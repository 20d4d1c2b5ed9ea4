//! `-H` beyond the recorded rsync cases (cases-listing-hard.tsv): the baseline that keeps
//! it for `check`, the listings whose rsync order is not modelled, and links that come and
//! go while the scan runs.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::util::{code, run_in, scratch, stderr, stdout, write};

/// src/ with one inode of three names across two directories, and a plain file.
fn linked_tree(d: &Path) {
    let src = d.join("src");
    write(&src.join("a/x"), b"shared\n");
    std::fs::create_dir_all(src.join("b")).unwrap();
    std::fs::hard_link(src.join("a/x"), src.join("a/y")).unwrap();
    std::fs::hard_link(src.join("a/x"), src.join("b/z")).unwrap();
    write(&src.join("plain"), b"plain\n");
}

/// `check` of a `-H` baseline rescans with `-H` (the header's listing option 3): the
/// human form reports what changed; rsync's line forms, whose `-H` order was not recorded
/// for a next run, are refused by name before any scan.
#[test]
fn check_of_a_hard_link_baseline() {
    let tmp = scratch();
    let d = tmp.path();
    linked_tree(d);
    let out = run_in(d, ["scan", "-aH", "-o", "hard", "src/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run_in(d, ["scan", "-a", "-o", "plain", "src/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run_in(d, ["check", "hard"]);
    assert_eq!(code(&out), 0, "unchanged: {}", stdout(&out));
    for format in ["rsync", "itemize"] {
        let out = run_in(d, ["check", "hard", "--format", format]);
        assert_eq!(code(&out), 64, "{format}: {}", stderr(&out));
        assert!(stderr(&out).contains("-H/--hard-links"), "{}", stderr(&out));
        assert!(out.stdout.is_empty(), "{}", stdout(&out));
        let out = run_in(d, ["check", "plain", "--format", format]);
        assert_eq!(code(&out), 0, "{format} without -H: {}", stderr(&out));
    }
    // One write changes every name of the inode.
    write(&d.join("src/a/x"), b"changed\n");
    let out = run_in(d, ["check", "hard", "--format", "json"]);
    assert_eq!(code(&out) & 4, 4, "{}", stdout(&out));
    for name in ["a/x", "a/y", "b/z"] {
        assert!(stdout(&out).contains(name), "{name}: {}", stdout(&out));
    }
    // A new name of the inode is a new entry.
    std::fs::hard_link(d.join("src/a/x"), d.join("src/b/new")).unwrap();
    let out = run_in(d, ["check", "hard"]);
    assert_eq!(code(&out) & 1, 1, "{}", stdout(&out));
    // `update`'s new generation keeps -H.
    let out = run_in(d, ["update", "hard", "-q"]);
    assert_eq!(code(&out) & 3, 1, "{}", stderr(&out));
    let out = run_in(d, ["check", "hard"]);
    assert_eq!(code(&out), 0, "after update: {}", stdout(&out));
    let out = run_in(d, ["check", "hard", "--format", "rsync"]);
    assert_eq!(code(&out), 64, "after update: {}", stderr(&out));
}

/// With -r, rsync joins the names of one inode across directories only as far as its
/// generator has read ahead: beyond the listings where that is known, fimsum refuses
/// (exit 64, nothing printed) rather than print another order. Within one directory, and
/// without -r, the group is joined however large the listing.
#[test]
fn large_listings_with_a_group_across_directories_are_refused() {
    let tmp = scratch();
    let d = tmp.path();
    for i in 0..520 {
        write(
            &d.join(format!("src/m/f{i:03}")),
            format!("{i}\n").as_bytes(),
        );
    }
    write(&d.join("src/a/x"), b"shared\n");
    write(&d.join("src/m/f000x"), b"other\n");
    std::fs::create_dir_all(d.join("src/z")).unwrap();
    std::fs::hard_link(d.join("src/a/x"), d.join("src/z/x")).unwrap();
    std::fs::hard_link(d.join("src/m/f000x"), d.join("src/m/f449x")).unwrap();
    let out = run_in(d, ["scan", "-rH", "src/"]);
    assert_eq!(code(&out), 64, "{}", stderr(&out));
    assert!(stderr(&out).contains("-H/--hard-links"), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    let out = run_in(d, ["scan", "-r", "src/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Within one directory: m/f449x, then m/f000x, at the place of the last name.
    std::fs::remove_file(d.join("src/z/x")).unwrap();
    let out = run_in(d, ["scan", "-rH", "src/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let names: Vec<&str> = text.lines().filter_map(|l| l.split(' ').next()).collect();
    let last = names.iter().position(|n| *n == "m/f449x").expect("m/f449x");
    assert_eq!(names.get(last + 1), Some(&"m/f000x"), "{text}");
    assert!(!names[..last].contains(&"m/f000x"), "{text}");
}

/// Another process adds and removes a name of an inode while the scan runs: every run
/// ends, prints each name at most once and every checksum of the inode's names is that of
/// its content, which never changed. A name whose inode changed
/// (its link count, so its ctime) while it was read is reported by name (exit bit 8), not
/// given a checksum; the other entries are always printed.
#[test]
fn links_added_and_removed_during_the_scan() {
    let tmp = scratch();
    let d = tmp.path();
    linked_tree(d);
    for i in 0..200 {
        write(
            &d.join(format!("src/a/n{i:03}")),
            format!("{i}\n").as_bytes(),
        );
    }
    let want = {
        let out = run_in(d, ["scan", "-a", "src/a/x"]);
        stdout(&out).split(' ').nth(1).expect("checksum").to_owned()
    };
    let stop = AtomicBool::new(false);
    /// Stops the other process's loop however the runs end, a failed assertion included.
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    std::thread::scope(|s| {
        s.spawn(|| {
            let (from, to) = (d.join("src/a/x"), d.join("src/b/extra"));
            while !stop.load(Ordering::Relaxed) {
                let _ = std::fs::hard_link(&from, &to);
                let _ = std::fs::remove_file(&to);
            }
        });
        let _stop = Stop(&stop);
        for run in 0..12 {
            let threads = if run % 2 == 0 { "1" } else { "8" };
            let out = run_in(d, ["scan", "-aH", "--threads", threads, "src/"]);
            let (text, err) = (stdout(&out), stderr(&out));
            assert!(matches!(code(&out), 0 | 8), "run {run}: {err}");
            let mut seen = HashSet::new();
            for line in text.lines() {
                let (name, sum) = line.split_once(' ').expect("a %n %C line");
                assert!(
                    seen.insert(name.to_owned()),
                    "run {run}: {name} twice:\n{text}"
                );
                if ["a/x", "a/y", "b/z", "b/extra"].contains(&name) && !sum.trim().is_empty() {
                    assert_eq!(sum, want, "run {run}: {name}:\n{text}\n{err}");
                }
            }
            for name in ["a/x", "a/y", "b/z"] {
                let reported = err.contains(&format!("{name}: changed during the scan"));
                assert!(
                    seen.contains(name) || reported,
                    "run {run}: {name} neither printed nor reported:\n{text}\n{err}"
                );
            }
            for name in ["plain", "a/n000", "a/n199"] {
                assert!(seen.contains(name), "run {run}: {name} missing:\n{text}");
            }
        }
    });
}
