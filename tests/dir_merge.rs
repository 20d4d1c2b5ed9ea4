//! Per-directory merge files where the tree is hostile or the environment changes: a
//! symlink or a FIFO planted where `.rsync-filter` should be is reported by name and never
//! followed or waited on, and `-C`'s list from the environment is the one the baseline
//! recorded when `check` rescans. (What rsync lists with them is in the recorded cases,
//! baselines/rsync/cases-listing-merge.tsv.)

use std::process::Output;
use std::time::{Duration, Instant};

use crate::util::{code, scratch, stderr, stdout, write, TestCommand};

fn names(out: &Output) -> Vec<String> {
    stdout(out)
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(l).to_string())
        .collect()
}

fn scan(dir: &std::path::Path, args: &[&str]) -> Output {
    TestCommand::new(dir)
        .env("HOME", "/nonexistent")
        .env("CVSIGNORE", "")
        .args(["scan"])
        .args(args)
        .run()
}

#[test]
fn a_symlink_in_place_of_a_merge_file_is_reported_not_followed() {
    let dir = scratch();
    let t = dir.path().join("t");
    write(&t.join("rules"), b"- *.txt\n");
    write(&t.join("sub/a.txt"), b"a\n");
    write(&t.join("sub/b.log"), b"b\n");
    write(&t.join(".rsync-filter"), b"- *.log\n");
    std::os::unix::fs::symlink("../rules", t.join("sub/.rsync-filter")).unwrap();
    let out = scan(dir.path(), &["-r", "-F", "t/"]);
    let err = stderr(&out);
    assert!(
        err.contains("sub/.rsync-filter") && err.contains("symlink"),
        "{err}"
    );
    assert_eq!(code(&out) & 8, 8, "{err}");
    let listed = names(&out);
    // The parent's rules still apply below; the symlink's target's do not.
    assert!(listed.contains(&"sub/a.txt".to_string()), "{listed:?}");
    assert!(!listed.contains(&"sub/b.log".to_string()), "{listed:?}");
}

#[test]
fn a_fifo_in_place_of_a_merge_file_never_blocks_the_scan() {
    let dir = scratch();
    let t = dir.path().join("t");
    write(&t.join("sub/a.txt"), b"a\n");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        t.join("sub/.rsync-filter"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let started = Instant::now();
    let out = scan(dir.path(), &["-r", "-F", "t/"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    let err = stderr(&out);
    assert!(
        err.contains("sub/.rsync-filter") && err.contains("not a regular file"),
        "{err}"
    );
    assert!(names(&out).contains(&"sub/a.txt".to_string()));
}

#[test]
fn cvs_names_from_the_environment_are_kept_for_check() {
    let dir = scratch();
    let home = dir.path().join("home");
    write(&home.join(".cvsignore"), b"*.home\n");
    let t = dir.path().join("t");
    for name in ["a.home", "b.env", "c.o", "keep.txt", "sub/d.env"] {
        write(&t.join(name), b"x\n");
    }
    let with_env = |args: &[&str]| {
        TestCommand::new(dir.path())
            .env("HOME", &home)
            .env("CVSIGNORE", "*.env")
            .args(args)
            .run()
    };
    let out = with_env(&["scan", "-r", "-C", "-o", "b.fimsum", "t/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = with_env(&["scan", "-r", "-C", "t/"]);
    let listed = names(&out);
    assert!(listed.contains(&"keep.txt".to_string()), "{listed:?}");
    for gone in ["a.home", "b.env", "c.o", "sub/d.env"] {
        assert!(!listed.contains(&gone.to_string()), "{gone}: {listed:?}");
    }
    // The check runs without that environment, and rescans with the recorded list.
    let out = TestCommand::new(dir.path())
        .env("HOME", "/nonexistent")
        .env("CVSIGNORE", "")
        .args(["check", "b.fimsum", "t/"])
        .run();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(!stdout(&out).contains(".env"), "{}", stdout(&out));
}

#[test]
fn check_reads_the_merge_files_again_parent_directories_included() {
    let dir = scratch();
    let t = dir.path().join("t");
    write(&t.join(".rsync-filter"), b"- *.log\n");
    write(&t.join("sub/.rsync-filter"), b"- /skip/\n");
    write(&t.join("sub/a.txt"), b"a\n");
    write(&t.join("sub/skip/b.txt"), b"b\n");
    let out = scan(dir.path(), &["-r", "-F", "-o", "b.fimsum", "t/sub/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Left out by the file above the source, and by the anchored rule of the source's.
    write(&t.join("sub/new.log"), b"new\n");
    write(&t.join("sub/skip/c.txt"), b"c\n");
    write(&t.join("sub/d.txt"), b"d\n");
    let out = TestCommand::new(dir.path())
        .args(["check", "b.fimsum", "t/sub/"])
        .run();
    let text = stdout(&out);
    assert!(text.contains("added      d.txt"), "{text}");
    assert!(
        !text.contains("new.log") && !text.contains("skip"),
        "{text}"
    );
    assert!(text.starts_with("1 added"), "{text}");
}

#[test]
fn files_from_with_merge_files_is_refused_by_name() {
    let dir = scratch();
    write(&dir.path().join("t/a"), b"a\n");
    write(&dir.path().join("list"), b"a\n");
    for rules in [&["-F"][..], &["-C"], &["--filter=: .x"]] {
        let out = scan(dir.path(), &[rules, &["--files-from=list", "t/"]].concat());
        assert_eq!(code(&out), 64, "{rules:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("--files-from with per-directory merge files"));
    }
}
