//! `check --copy`: a tree copied with `rsync -aHAX` (a forensic copy, a restored backup) is
//! compared on what a faithful copy keeps, so every entry's new ctime and inode is no change.

use std::process::Command;

use crate::util::{code, run_in, scratch, stderr, stdout, write};

/// A real `rsync -aHAX` copy: plain `check` reports a ctime and inode change on every entry;
/// `check --copy` reports nothing (exit 0) and says it compared a copy; a real change of the
/// copy's content is still reported.
#[test]
fn check_copy_of_an_rsync_copy_is_not_noise_and_still_sees_a_change() {
    let tmp = scratch();
    let dir = tmp.path();
    write(&dir.join("t/a"), b"hi\n");
    write(&dir.join("t/d/z"), b"z\n");
    write(&dir.join("t/bin/su"), b"\x7fELF pretend");
    std::fs::set_permissions(
        dir.join("t/bin/su"),
        std::os::unix::fs::PermissionsExt::from_mode(0o4755),
    )
    .unwrap();
    std::fs::hard_link(dir.join("t/a"), dir.join("t/hard")).unwrap();
    std::os::unix::fs::symlink("a", dir.join("t/link")).unwrap();
    let out = run_in(dir, ["scan", "-o", "b.fimsum", "t/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // rsync sets no time it finds equal to the second: a copy made in the second the tree
    // was made would keep the copy's own sub-second times.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let rsync = Command::new("rsync")
        .args(["-aHAX", "t/", "copy/"])
        .current_dir(dir)
        .status();
    if !rsync.is_ok_and(|s| s.success()) {
        eprintln!("skipped: rsync -aHAX did not run");
        return;
    }
    let plain = run_in(dir, ["check", "b.fimsum", "copy/"]);
    assert_eq!(code(&plain), 4, "a plain check sees new inodes");

    let out = run_in(dir, ["check", "--copy", "b.fimsum", "copy/"]);
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}");
    assert!(text.contains("0 changed"), "{text}");
    assert!(text.contains("note: --copy:"), "{text}");
    let out = run_in(
        dir,
        ["check", "--copy", "--format", "json", "b.fimsum", "copy/"],
    );
    let json = stdout(&out);
    let summary: serde_json::Value =
        serde_json::from_str(json.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(summary["copy"], true, "{json}");
    assert_eq!(summary["changed"], 0, "{json}");

    // Patched in place, mtime set back: still a change.
    let z = dir.join("copy/d/z");
    let mtime = std::fs::metadata(&z).unwrap().modified().unwrap();
    std::fs::write(&z, b"y\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&z)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let out = run_in(dir, ["check", "--copy", "b.fimsum", "copy/"]);
    let text = stdout(&out);
    assert_eq!(code(&out), 4, "{text}");
    assert!(text.contains("changed    d/z: content"), "{text}");

    // --quick trusts ctimes, which a copy does not keep.
    let out = run_in(dir, ["check", "--copy", "--quick", "b.fimsum", "copy/"]);
    assert_eq!(code(&out), 64);
}
