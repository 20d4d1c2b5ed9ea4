//! `check --format rsync` and `check --format itemize` against what real rsync printed for an
//! incremental `rsync -a --delete --checksum --out-format=FMT NEW/ BACKUP/` with FMT
//! `%n %C` and `%i %n %C`, recorded in baselines/rsync-incremental by
//! scripts/record-rsync-incremental.sh. The recordings put rsync's `deleting` lines first
//! (their place among the other lines varies between runs of rsync itself), which is the
//! order fimsum prints. Type changes the recordings do not cover (devices, sockets, FIFOs)
//! are compared with live rsync when it is installed and the test runs as root.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{code, is_root, repo, rsync_available, run_in, scratch, stderr, stdout};

fn recordings() -> PathBuf {
    repo().join("baselines/rsync-incremental")
}

/// The recorded cases, by name; those that need root are left out without it.
fn cases() -> Vec<String> {
    let root = is_root();
    let mut cases: Vec<_> = std::fs::read_dir(recordings())
        .expect("recordings")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ops"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} recorded cases", cases.len());
    cases
        .into_iter()
        .filter_map(|ops| {
            let name = ops.file_stem()?.to_string_lossy().into_owned();
            let script = std::fs::read_to_string(&ops).expect("ops");
            if !root && (script.contains("chown") || script.contains("chgrp")) {
                eprintln!("skipped {name}: needs root");
                return None;
            }
            Some(name)
        })
        .collect()
}

/// Run a bash script in `dir` as the recorder does.
fn sh(dir: &Path, script: &Path) {
    let status = Command::new("bash")
        .args(["-euo", "pipefail", "-c", "umask 022; . \"$0\""])
        .arg(script)
        .current_dir(dir)
        .status()
        .expect("bash runs");
    assert!(status.success(), "{} failed", script.display());
}

/// Replay a recorded case: NEW built by init.sh, the baseline `base` scanned from it, then
/// the case's ops run in NEW. Returns the scratch dir holding NEW and `base`.
fn replay(case: &str) -> tempfile::TempDir {
    let tmp = scratch();
    let new = tmp.path().join("NEW");
    std::fs::create_dir(&new).unwrap();
    sh(&new, &recordings().join("init.sh"));
    assert_eq!(code(&run_in(tmp.path(), ["scan", "-o", "base", "NEW/"])), 0);
    sh(&new, &recordings().join(format!("{case}.ops")));
    tmp
}

/// `check --format FORMAT` of every recorded case against the recording with `suffix`.
fn check_against_recordings(format: &str, suffix: &str) {
    let mut failures = Vec::new();
    for name in cases() {
        let tmp = replay(&name);
        let out = run_in(tmp.path(), ["check", "--format", format, "base"]);
        let expected = std::fs::read(recordings().join(format!("{name}{suffix}"))).unwrap();
        if out.stdout != expected {
            failures.push(format!(
                "{name}:\n--- rsync\n{}--- fimsum\n{}",
                String::from_utf8_lossy(&expected),
                stdout(&out)
            ));
        }
        let want_changes = !expected.is_empty();
        assert!(
            code(&out) != 0 || !want_changes,
            "{name}: exit {}",
            code(&out)
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn check_format_rsync_prints_what_rsync_delete_printed() {
    check_against_recordings("rsync", ".out");
}

#[test]
fn check_format_itemize_prints_what_rsync_delete_printed_with_percent_i() {
    check_against_recordings("itemize", ".itemize.out");
}

/// Whether a line fimsum printed with a log side stands for `rsync`'s line: equal, where
/// a `?` in fimsum's `%i` (the first 11 bytes) stands for any letter.
fn matches_with_unknowns(fimsum: &[u8], rsync: &[u8]) -> bool {
    fimsum.len() == rsync.len()
        && fimsum
            .iter()
            .zip(rsync)
            .enumerate()
            .all(|(i, (f, r))| f == r || (i < 11 && *f == b'?'))
}

/// With an rsync log on one or both sides, `diff --format itemize` prints exactly the
/// recorded lines a log can tell of: deletions, created entries and files whose checksum
/// differs, with `?` for what the log does not say; nothing else.
#[test]
fn diff_format_itemize_with_a_log_side_prints_what_a_log_can_tell() {
    let mut failures = Vec::new();
    for name in cases() {
        let tmp = replay(&name);
        let dir = tmp.path();
        let save = |args: &[&str], file: &str| {
            let out = run_in(dir, args);
            assert_eq!(code(&out), 0, "{name}: {args:?}");
            std::fs::write(dir.join(file), &out.stdout).unwrap();
        };
        save(&["show", "base"], "old.log");
        save(&["scan", "NEW/"], "new.log");
        assert_eq!(code(&run_in(dir, ["scan", "-o", "new", "NEW/"])), 0);

        let recorded = std::fs::read(recordings().join(format!("{name}.itemize.out"))).unwrap();
        let knowable: Vec<&[u8]> = recorded
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| {
                l.starts_with(b"*deleting ")
                    || l.starts_with(b">f")
                    || l.get(2..11) == Some(b"+++++++++".as_slice())
            })
            .collect();
        for (old, new) in [
            ("base", "new.log"),
            ("old.log", "new"),
            ("old.log", "new.log"),
        ] {
            let out = run_in(
                dir,
                [
                    "diff", "--cc", "md5", "--full", "--format", "itemize", old, new,
                ],
            );
            let got: Vec<&[u8]> = out.stdout.split_inclusive(|&b| b == b'\n').collect();
            let same = got.len() == knowable.len()
                && got
                    .iter()
                    .zip(&knowable)
                    .all(|(f, r)| matches_with_unknowns(f, r));
            if !same {
                failures.push(format!(
                    "{name} (diff {old} {new}):\n--- rsync, lines a log can tell\n{}--- fimsum\n{}",
                    String::from_utf8_lossy(&knowable.concat()),
                    stdout(&out)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Two baselines of different algorithms: checksums are not compared, so a file whose
/// size is unchanged may or may not be sent (`?` in the first and third places). fimsum
/// prints the recorded lines (`%C` aside: the new side's checksums are xxh128), except
/// those of files rewritten with nothing but their content changed, which it cannot see.
#[test]
fn diff_format_itemize_without_comparable_checksums_prints_what_it_can_tell() {
    let mut failures = Vec::new();
    for name in cases() {
        let tmp = replay(&name);
        let dir = tmp.path();
        let out = run_in(dir, ["scan", "--cc", "xxh128", "-o", "new", "NEW/"]);
        assert_eq!(code(&out), 0);
        let recorded = std::fs::read(recordings().join(format!("{name}.itemize.out"))).unwrap();
        // `%i %n`: the line without ` %C` (32 characters for md5 and xxh128 alike).
        let strip = |l: &[u8]| l[..l.len().saturating_sub(34)].to_vec();
        let expected: Vec<Vec<u8>> = recorded
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| !(l.starts_with(b">fc") && l.get(3..8) == Some(b".....".as_slice())))
            .map(strip)
            .collect();
        let out = run_in(dir, ["diff", "--format", "itemize", "base", "new"]);
        let got: Vec<Vec<u8>> = out
            .stdout
            .split_inclusive(|&b| b == b'\n')
            .map(strip)
            .collect();
        let same = got.len() == expected.len()
            && got
                .iter()
                .zip(&expected)
                .all(|(f, r)| matches_with_unknowns(f, r));
        if !same {
            failures.push(format!(
                "{name}:\n--- rsync, what can be told\n{}--- fimsum\n{}",
                String::from_utf8_lossy(&expected.join(&b"\n"[..])),
                stdout(&out)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// rsync's stdout with its `deleting` lines moved first, in their order (a stable
/// partition), as the recordings are normalised.
fn deletions_first(stdout: &[u8]) -> Vec<u8> {
    let lines: Vec<&[u8]> = stdout.split_inclusive(|&b| b == b'\n').collect();
    let deleting = |l: &&[u8]| l.starts_with(b"deleting ") || l.starts_with(b"*deleting ");
    let (mut first, rest): (Vec<&[u8]>, Vec<&[u8]>) = lines.into_iter().partition(deleting);
    first.extend(rest);
    first.concat()
}

/// Type changes among FIFOs, sockets, devices, files, symlinks and directories, a file
/// sent with new attributes, and names rsync escapes, against live rsync (both formats).
#[test]
fn type_changes_of_special_files_match_live_rsync() {
    if !is_root() {
        eprintln!("skipped: needs root (mknod, owners)");
        return;
    }
    if !rsync_available("the live rsync comparison") {
        return;
    }
    let tmp = scratch();
    let dir = tmp.path();
    let new = dir.join("NEW");
    std::fs::create_dir(&new).unwrap();
    let script = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        sh(&new, &path);
    };
    // A socket is made by binding one (python3, as the other tests need it anyway).
    let sock = "sock() { python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \"$1\"; }\n";
    script(
        "init.sh",
        &format!(
            "{sock}mknod chr-renum c 1 3; mknod chr-to-blk c 1 3
mknod blk-to-chr b 7 0; mknod dev-mtime c 1 5
mkfifo fifo-to-sock fifo-to-file fifo-chmod; sock sock-to-fifo; sock sock-chown
printf 'x\\n' >file-to-fifo; printf 'y\\n' >file-sent; ln -s a link-to-dev
mkdir dir-to-fifo; printf 'z\\n' >dir-to-fifo/z
printf 'cr\\n' >$'\\rcr'; printf 'nl\\n' >$'n\\nl'; printf 'hi\\n' >$'bad\\xff'
find . -exec touch -h -d @1600000000 {{}} +
"
        ),
    );
    for backup in ["B1", "B2"] {
        let status = Command::new("rsync")
            .args(["-a", "NEW/"])
            .arg(backup)
            .current_dir(dir)
            .status()
            .expect("rsync runs");
        assert!(status.success());
    }
    assert_eq!(code(&run_in(dir, ["scan", "-o", "base", "NEW/"])), 0);
    script(
        "ops.sh",
        &format!(
            "{sock}rm chr-renum; mknod chr-renum c 1 5; rm chr-to-blk; mknod chr-to-blk b 1 3
rm blk-to-chr; mknod blk-to-chr c 7 0; touch -d @1600000500 dev-mtime
rm fifo-to-sock; sock fifo-to-sock; rm sock-to-fifo; mkfifo sock-to-fifo
rm fifo-to-file; printf 'f\\n' >fifo-to-file; chmod 600 fifo-chmod; chown 65534 sock-chown
rm file-to-fifo; mkfifo file-to-fifo; chmod 640 file-sent; printf 'longer\\n' >file-sent
rm link-to-dev; mknod link-to-dev b 7 1; rm -r dir-to-fifo; mkfifo dir-to-fifo
printf 'CR\\n' >$'\\rcr'; chmod 600 $'n\\nl'; touch -d @1600000500 $'bad\\xff'
"
        ),
    );
    let mut failures = Vec::new();
    for (format, out_format, backup) in [("rsync", "%n %C", "B1"), ("itemize", "%i %n %C", "B2")] {
        let live = Command::new("rsync")
            .args(["-a", "--delete", "--checksum", "--checksum-choice=md5"])
            .arg(format!("--out-format={out_format}"))
            .arg("NEW/")
            .arg(backup)
            .current_dir(dir)
            .env("LC_ALL", "C.UTF-8")
            .output()
            .expect("rsync runs");
        assert!(live.status.success(), "{}", stderr(&live));
        let expected = deletions_first(&live.stdout);
        let out = run_in(dir, ["check", "--format", format, "base"]);
        if out.stdout != expected {
            failures.push(format!(
                "--format {format}:\n--- rsync\n{}--- fimsum\n{}",
                String::from_utf8_lossy(&expected),
                stdout(&out)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
