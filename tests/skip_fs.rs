//! A baseline records the filesystem types its scan did not enter (`skip_fs`), and `check`
//! walks with the baseline's choice, so that what one side did not enter is neither added
//! nor removed. Baselines written before the field existed are still read.

use std::path::Path;
use std::process::Command;

use fimsum::baseline::Baseline;

use crate::util::{code, repo, run_in, scratch, stderr, stdout, write};

/// A version-3 baseline, written by fimsum before baselines recorded `skip_fs` (a scan of
/// a directory holding `a` and `d/f`).
fn old_baseline() -> std::path::PathBuf {
    repo().join("tests/data/v3-before-skip-fs.fimsum")
}

/// A baseline written before `skip_fs` was recorded is read, says it does not know, and is
/// shown as before; `update` from it writes the current version, which records it.
#[test]
fn baseline_written_before_skip_fs_was_recorded_is_still_read() {
    let base = Baseline::open(&old_baseline()).unwrap();
    assert_eq!(base.header.skip_fs, None);
    assert_eq!(base.count, 4);
    let tmp = scratch();
    let out = run_in(
        tmp.path(),
        [std::ffi::OsStr::new("show"), old_baseline().as_os_str()],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "./                                 \na 60b725f10c9c85c70d97880dfe8191b3\n\
         d/                                 \nd/f 9a8ad92c50cae39aa2c5604fd0ab6d8c\n"
    );
    // Updated against a tree of the same content: written in the current version, with
    // what this scan did not enter (nothing: no config names the baseline).
    write(&tmp.path().join("t/a"), b"a\n");
    write(&tmp.path().join("t/d/f"), b"f\n");
    std::fs::copy(old_baseline(), tmp.path().join("b.fimsum")).unwrap();
    let out = run_in(tmp.path(), ["update", "b.fimsum", "t/"]);
    assert!(code(&out) < 64, "{}", stderr(&out));
    let base = Baseline::open(&tmp.path().join("b.fimsum")).unwrap();
    assert_eq!(base.header.skip_fs, Some(Vec::new()));
}

fn mount_tmpfs(at: &Path) -> bool {
    std::fs::create_dir_all(at).unwrap();
    Command::new("mount")
        .args(["-t", "tmpfs", "none"])
        .arg(at)
        .status()
        .is_ok_and(|s| s.success())
}

struct Unmount<'a>(&'a Path);
impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

/// A tmpfs mounted in the tree: a baseline made entering it, checked with a config that
/// skips tmpfs, reports nothing removed; one made skipping it, checked with a config that
/// does not skip it, reports nothing added. A note says which choice was used. Needs root
/// to mount; skipped (with a note) otherwise.
#[test]
fn skip_fs_of_the_baseline_is_used_by_check_not_the_configs() {
    let tmp = scratch();
    let dir = tmp.path();
    let mnt = dir.join("t/m");
    if !mount_tmpfs(&mnt) {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    }
    let _unmount = Unmount(&mnt);
    write(&dir.join("t/a"), b"a");
    write(&mnt.join("secret"), b"s");
    write(&mnt.join("sub/q"), b"q");
    let config = |name: &str, skip: &str| {
        let text = format!(
            "baseline = \"{}\"\nroots = [\"{}/\"]\nskip_fs = [{skip}]\n",
            dir.join("b.fimsum").display(),
            dir.join("t").display()
        );
        std::fs::write(dir.join(name), text).unwrap();
    };
    config("skip.toml", "\"tmpfs\"");
    config("enter.toml", "");

    // Made entering the tmpfs (scan -o), checked with a config that skips it.
    let out = run_in(dir, ["scan", "-o", "b.fimsum", "t/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run_in(dir, ["check", "--config", "skip.toml"]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(code(&out), 0, "{text}{err}");
    assert!(text.contains("0 added, 0 removed"), "{text}");
    assert!(err.contains("not the config's skip_fs (tmpfs)"), "{err}");

    // Made skipping it (init with that config), checked with one that enters it.
    let out = run_in(dir, ["init", "--force", "--config", "skip.toml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run_in(dir, ["check", "--config", "enter.toml"]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(code(&out), 0, "{text}{err}");
    assert!(text.contains("0 added, 0 removed"), "{text}");
    assert!(err.contains("did not enter (tmpfs)"), "{err}");
    // The mount point itself is listed, as rsync -x lists one, and nothing below it.
    let out = run_in(dir, ["show", "b.fimsum"]);
    let shown = stdout(&out);
    assert!(shown.lines().any(|l| l.starts_with("m/ ")), "{shown}");
    assert!(!shown.contains("m/secret"), "{shown}");
}
