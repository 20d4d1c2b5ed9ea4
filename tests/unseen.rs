//! What a scan could not see is unverified, never removed: a directory listing that fails
//! part-way, a directory readable but not searchable, and what `update` writes after such a
//! scan.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use fimsum::diff::{diff_keeping, ChangeKind, DiffOptions, Kept};
use fimsum::hash::Algorithm;
use fimsum::record::Record;
use fimsum::scan::walk::WalkOptions;
use fimsum::scan::{HookRef, Hooks};

use crate::util::{
    code, contents_of, is_root, run_in, scan_options, scan_source, scratch, stderr, stdout, write,
    TestCommand,
};

/// Fails the listing of one directory with EIO once it has returned `after` entries, as a
/// `getdents` that fails on its second call does.
struct ListingFails {
    dir: &'static [u8],
    after: usize,
}

impl Hooks for ListingFails {
    fn listing_error(&self, dir: &[u8], read: usize) -> Option<i32> {
        (dir == self.dir && read >= self.after).then_some(libc::EIO)
    }
}

fn scan_records(root: &Path, hooks: Option<Arc<dyn Hooks>>) -> (Vec<Record>, Vec<String>) {
    let mut walk = WalkOptions::new(0, Vec::new()).unwrap();
    if let Some(hooks) = hooks {
        walk.hooks = HookRef::new(hooks);
    }
    let options = scan_options(Algorithm::Md5, 2, walk);
    scan_source(&contents_of(root), &options, None)
}

/// A listing that fails part-way (EIO from `getdents` after the first entries): what it did
/// not return is unverified, never removed, and a baseline written from the comparison keeps
/// every old record.
#[test]
fn listing_that_fails_part_way_reports_unverified_not_removed() {
    let tmp = scratch();
    let root = tmp.path().join("t");
    for i in 0..300 {
        write(
            &root.join(format!("big/f{i:03}")),
            format!("{i}").as_bytes(),
        );
    }
    write(&root.join("big/sub/deep"), b"deep");
    write(&root.join("other"), b"other");
    let (old, problems) = scan_records(&root, None);
    assert!(problems.is_empty(), "{problems:?}");
    let hooks: Arc<dyn Hooks> = Arc::new(ListingFails {
        dir: b"big",
        after: 24,
    });
    let (new, problems) = scan_records(&root, Some(hooks));
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("big: error while reading directory")),
        "{problems:?}"
    );
    assert!(new.len() < old.len(), "the listing was cut short");
    let mut kept = Vec::new();
    let diff = diff_keeping(
        old.clone().into_iter().map(Ok),
        new.into_iter().map(Ok),
        DiffOptions {
            compare_content: true,
            identity: true,
        },
        |r, k| {
            kept.push((r.clone(), k));
            Ok(())
        },
    )
    .unwrap();
    let s = diff.summary();
    assert_eq!((s.added, s.removed), (0, 0), "{:?}", diff.changes);
    assert!(s.unverified > 250, "{s:?}");
    for c in &diff.changes {
        match &c.kind {
            ChangeKind::Unverified(why) => assert!(why.contains("error while reading"), "{why}"),
            // The directory's own record is compared as usual: nothing else may differ.
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(c.name())),
        }
    }
    // Every old record is kept, in order; those not seen from the old side.
    let names: Vec<&[u8]> = kept.iter().map(|(r, _)| r.name.as_slice()).collect();
    let old_names: Vec<&[u8]> = old.iter().map(|r| r.name.as_slice()).collect();
    assert_eq!(names, old_names);
    assert!(kept.iter().filter(|(_, k)| *k == Kept::Old).count() > 250);
}

fn as_nobody(dir: &Path, args: &[&str]) -> Output {
    TestCommand::as_nobody(dir).args(args).run()
}

/// A scratch directory that user 65534 can write in; `None`, with a notice, when the tests
/// cannot switch to that user (they are not root).
fn scratch_for_nobody() -> Option<tempfile::TempDir> {
    if !is_root() {
        eprintln!("skipped: needs root to run as uid 65534");
        return None;
    }
    let tmp = scratch();
    std::fs::set_permissions(tmp.path(), PermissionsExt::from_mode(0o777)).unwrap();
    Some(tmp)
}

/// A directory readable but not searchable (mode 0744, checked by another user): its
/// entries are listed but cannot be looked at. They are unverified in every report format,
/// no `deleting` line is printed for them, and `update` keeps their records.
#[test]
fn entries_of_a_non_searchable_directory_are_unverified_not_removed() {
    let Some(tmp) = scratch_for_nobody() else {
        return;
    };
    let top = tmp.path();
    write(&top.join("t/a"), b"a");
    write(&top.join("t/d/x"), b"x");
    write(&top.join("t/d/sub/y"), b"y");
    let out = as_nobody(top, &["scan", "-o", "b.fimsum", "t/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::set_permissions(top.join("t/d"), PermissionsExt::from_mode(0o744)).unwrap();

    let out = as_nobody(top, &["check", "b.fimsum"]);
    let human = stdout(&out);
    assert_eq!(code(&out) & 2, 0, "nothing removed: {human}");
    assert!(human.contains("0 removed"), "{human}");
    assert!(human.contains("3 unverified"), "{human}");
    for name in ["d/x", "d/sub/", "d/sub/y"] {
        assert!(human.contains(&format!("unverified {name}")), "{human}");
    }
    let out = as_nobody(top, &["check", "--format", "json", "b.fimsum"]);
    let lines = stdout(&out);
    let summary: serde_json::Value =
        serde_json::from_str(lines.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(summary["removed"], 0, "{lines}");
    assert_eq!(summary["unverified"], 3, "{lines}");
    assert!(!lines.contains("\"removed\",\"severity"), "{lines}");
    for format in ["rsync", "itemize"] {
        let out = as_nobody(top, &["check", "--format", format, "b.fimsum"]);
        assert!(
            !stdout(&out).contains("deleting"),
            "{format}: {}",
            stdout(&out)
        );
        assert_eq!(code(&out) & 2, 0, "{format}");
        assert_ne!(code(&out) & 8, 0, "{format}: incomplete");
    }
    // The scan prints no line for what it could not look at, as rsync does.
    let out = as_nobody(top, &["scan", "t/"]);
    assert!(!stdout(&out).contains("d/x"), "{}", stdout(&out));

    // `update` refuses to drop what it could not see...
    let before = std::fs::read(top.join("b.fimsum")).unwrap();
    let out = as_nobody(top, &["update", "b.fimsum"]);
    assert_ne!(code(&out) & 8, 0);
    assert!(stderr(&out).contains("not updated"));
    assert_eq!(std::fs::read(top.join("b.fimsum")).unwrap(), before);
    // ...and with --allow-incomplete keeps their old records.
    let out = as_nobody(top, &["update", "--allow-incomplete", "b.fimsum"]);
    assert_ne!(code(&out) & 8, 0);
    let shown = stdout(&run_in(top, ["show", "b.fimsum"]));
    for name in ["d/x ", "d/sub/ ", "d/sub/y "] {
        assert!(shown.contains(name), "{name} kept: {shown}");
    }
    // Searchable again: nothing changed but the directory's mode (the update recorded 0744).
    std::fs::set_permissions(top.join("t/d"), PermissionsExt::from_mode(0o755)).unwrap();
    let out = as_nobody(top, &["check", "--format", "rsync", "b.fimsum"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
    assert!(stdout(&out).starts_with("d/ "), "{}", stdout(&out));
}

/// A `dir/` source that cannot be opened (mode 0700, checked by another user): everything
/// the baseline has of it is unverified, none of it removed.
#[test]
fn source_that_cannot_be_opened_is_unverified_not_removed() {
    let Some(tmp) = scratch_for_nobody() else {
        return;
    };
    let top = tmp.path();
    write(&top.join("t/d/x"), b"x");
    let out = as_nobody(top, &["scan", "-o", "b.fimsum", "t/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::set_permissions(top.join("t"), PermissionsExt::from_mode(0o700)).unwrap();
    let out = as_nobody(top, &["check", "b.fimsum"]);
    let human = stdout(&out);
    assert_eq!(code(&out), 8, "{human}");
    assert!(
        human.contains("0 removed") && human.contains("3 unverified"),
        "{human}"
    );
    let out = as_nobody(top, &["check", "--format", "rsync", "b.fimsum"]);
    assert_eq!(stdout(&out), "", "no deleting lines");
}
