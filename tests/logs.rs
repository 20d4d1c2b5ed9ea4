//! The backup job's log as the FIM: which algorithm its checksums are (never guessed),
//! judging its names as absolute paths, and IOC lists on logs and plain scans.

use std::path::Path;
use std::process::Command;

use crate::util::{code, rsync_available, run_in, scratch, stderr, stdout, write};

fn tree(src: &Path) {
    write(&src.join("etc/passwd"), b"root:x:0:0::/root:/bin/sh\n");
    write(&src.join("bin/tool"), b"a tool\n");
    write(&src.join("bin/other"), b"another tool\n");
}

/// `rsync -a --checksum --out-format="%n %C" src/ dest/` into an empty `dest` (plain `-c`
/// unless `extra` says otherwise): a full listing, its stdout written to `log`.
fn rsync_log(dir: &Path, extra: &[&str], log: &str) {
    let _ = std::fs::remove_dir_all(dir.join("dest"));
    let out = Command::new("rsync")
        .current_dir(dir)
        .args(["-a", "--checksum", "--out-format=%n %C"])
        .args(extra)
        .args(["src/", "dest/"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.join(log), &out.stdout).unwrap();
}

#[test]
fn a_log_s_algorithm_is_never_guessed_and_a_listed_file_can_decide_it() {
    if !rsync_available("the algorithm decision against real rsync logs") {
        return;
    }
    let tmp = scratch();
    let dir = tmp.path();
    tree(&dir.join("src"));
    // Day 0 as md5, the next as plain `rsync -c`: xxh128, as rsync 3.2.2+ negotiates.
    rsync_log(dir, &["--checksum-choice=md5"], "day0.log");
    assert_eq!(code(&run_in(dir, ["scan", "-o", "day0.fimsum", "src/"])), 0);
    write(
        &dir.join("src/etc/passwd"),
        b"root:x:0:0::/root:/bin/bash\n",
    );
    rsync_log(dir, &[], "night.log");
    // Nothing says which 32-digit algorithm the night used: refused, naming the ways out.
    let out = run_in(dir, ["diff", "--full", "day0.fimsum", "night.log"]);
    assert_eq!(code(&out), 64, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("md5, md4, xxh128") && err.contains("--checksum-choice"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    // The backup copy decides it: its passwd hashes to the logged checksum as xxh128.
    let out = run_in(
        dir,
        [
            "diff",
            "--full",
            "--dest",
            "dest",
            "day0.fimsum",
            "night.log",
        ],
    );
    let err = stderr(&out);
    assert!(err.contains("the checksums are xxh128"), "{err}");
    // md5 baseline against an xxh128 log: checksums are not compared, so no file is said
    // to have changed for its algorithm alone.
    let report = stdout(&out);
    assert!(
        report.contains("checksums not compared: md5 against xxh128"),
        "{report}"
    );
    assert!(!report.contains("content"), "{report}");
    assert_eq!(code(&out), 0, "{report}");
    // Two md5 logs: the live source decides, and the changed file is reported once.
    rsync_log(dir, &["--checksum-choice=md5"], "night-md5.log");
    write(&dir.join("src/etc/passwd"), b"root:x:0:0::/root:/bin/zsh\n");
    let out = run_in(
        dir,
        [
            "diff",
            "--full",
            "--source",
            "src/",
            "day0.log",
            "night-md5.log",
        ],
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 4, "{err}{}", stdout(&out));
    assert!(err.contains("the checksums are md5"), "{err}");
    // The file that decided is not the one that changed since the log.
    assert!(!err.contains("etc/passwd hashes"), "{err}");
    // Logs of two algorithms, each decided: refused rather than compared.
    rsync_log(dir, &[], "night.log");
    let out = run_in(
        dir,
        ["diff", "--full", "--dest", "dest", "day0.log", "night.log"],
    );
    assert_eq!(code(&out), 64, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("those of day0.log md5"),
        "{}",
        stderr(&out)
    );
    // import: the same rule.
    let out = run_in(dir, ["import", "--full", "night.log", "-o", "n.fimsum"]);
    assert_eq!(code(&out), 64, "{}", stderr(&out));
    assert!(!dir.join("n.fimsum").exists());
    let out = run_in(
        dir,
        [
            "import",
            "--full",
            "--dest",
            "dest",
            "night.log",
            "-o",
            "n.fimsum",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let shown = run_in(dir, ["show", "n.fimsum"]);
    assert_eq!(shown.stdout, std::fs::read(dir.join("night.log")).unwrap());
}

#[test]
fn a_log_s_names_are_judged_under_its_source_and_ioc_lists_match_them() {
    if !rsync_available("IOC lists on real rsync logs") {
        return;
    }
    let tmp = scratch();
    let dir = tmp.path();
    tree(&dir.join("src"));
    rsync_log(dir, &["--checksum-choice=md5"], "day0.log");
    write(&dir.join("src/bin/tool"), b"a backdoored tool\n");
    rsync_log(dir, &["--checksum-choice=md5"], "night.log");
    let md5 = fimsum::hash::Algorithm::Md5
        .digest(b"a backdoored tool\n")
        .to_hex();
    write(&dir.join("bad.txt"), format!("{md5}  tool\n").as_bytes());
    let source = format!("{}/src/", dir.display());
    let rule = format!(
        "[[rule]]\npattern = \"{}bin/***\"\nseverity = \"high\"\n",
        source
    );
    write(&dir.join("rules.toml"), rule.as_bytes());
    let out = run_in(
        dir,
        [
            "diff",
            "--full",
            "--cc",
            "md5",
            "--source",
            &source,
            "--config",
            "rules.toml",
            "--ioc",
            "bad.txt",
            "day0.log",
            "night.log",
        ],
    );
    let report = stdout(&out);
    assert_eq!(code(&out), 4 | 16, "{report}{}", stderr(&out));
    let line = report
        .lines()
        .find(|l| l.contains("bin/tool"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(line.starts_with("critical"), "{report}");
    assert!(line.contains("bad.txt:1"), "{report}");
    // The config's IOC lists count too, and the rule's severity applies to what the list
    // does not name.
    let cfg = format!("ioc = [\"{}/bad.txt\"]\n{rule}", dir.display());
    write(&dir.join("ioc.toml"), cfg.as_bytes());
    let out = run_in(
        dir,
        [
            "diff",
            "--full",
            "--cc",
            "md5",
            "--source",
            &source,
            "--config",
            "ioc.toml",
            "day0.log",
            "night.log",
        ],
    );
    assert_eq!(code(&out) & 16, 16, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn scan_matches_ioc_lists_of_extra_digests_and_prints_only_rsync_s_lines() {
    let tmp = scratch();
    let dir = tmp.path();
    tree(&dir.join("src"));
    let sha = fimsum::hash::HashKind::Sha256;
    let mut hasher = sha.hasher();
    hasher.update(b"a tool\n");
    write(
        &dir.join("sha.txt"),
        format!("{}\n", hasher.finish().to_hex()).as_bytes(),
    );
    let plain = run_in(dir, ["scan", "src/"]);
    assert_eq!(code(&plain), 0);
    let out = run_in(
        dir,
        ["scan", "--digest", "sha256", "--ioc", "sha.txt", "src/"],
    );
    assert_eq!(code(&out), 16, "{}", stderr(&out));
    assert_eq!(out.stdout, plain.stdout, "stdout stays rsync's lines");
    assert!(
        stderr(&out).contains("bin/tool: on an IOC list: sha256"),
        "{}",
        stderr(&out)
    );
    // Without a list the extra digests would go nowhere: still refused.
    let out = run_in(dir, ["scan", "--digest", "sha256", "src/"]);
    assert_eq!(code(&out), 64);
}

#[test]
fn a_baseline_from_a_log_knows_what_it_does_not_know() {
    let tmp = scratch();
    let dir = tmp.path();
    let src = dir.join("src");
    write(&src.join("bin/su"), b"a\n");
    write(&src.join("bin/ls"), b"b\n");
    write(&src.join("bin/cat"), b"c\n");
    let chmod = |path: &Path, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    chmod(&src.join("bin/su"), 0o4755);
    let log = run_in(dir, ["scan", "src/"]);
    std::fs::write(dir.join("day0.log"), &log.stdout).unwrap();
    let out = run_in(
        dir,
        [
            "import", "--full", "--cc", "md5", "day0.log", "-o", "b.fimsum",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // A set-uid file whose content changed was set-uid before: no setid_added on a guess.
    write(&src.join("bin/su"), b"A\n");
    chmod(&src.join("bin/su"), 0o4755);
    chmod(&src.join("bin/ls"), 0o777);
    std::fs::rename(src.join("bin/cat"), src.join("bin/kat")).unwrap();
    let out = run_in(dir, ["check", "b.fimsum", "src/"]);
    let report = stdout(&out);
    assert!(!report.contains("setid_added"), "{report}");
    assert!(report.contains("moved      bin/kat <- bin/cat"), "{report}");
    assert!(
        report.contains("mode, owner, group, size, times") && report.contains("fimsum update"),
        "the report names what it could not compare: {report}"
    );
    // `update` records the metadata; from then on a permission change shows.
    let out = run_in(dir, ["update", "b.fimsum", "src/"]);
    assert_eq!(code(&out) & 8, 0, "{}", stderr(&out));
    let out = run_in(dir, ["check", "b.fimsum"]);
    assert_eq!(code(&out), 0, "no PATHs needed now: {}", stdout(&out));
    assert!(!stdout(&out).contains("imported"), "{}", stdout(&out));
    chmod(&src.join("bin/ls"), 0o755);
    let out = run_in(dir, ["check", "b.fimsum"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert!(stdout(&out).contains("bin/ls: mode"), "{}", stdout(&out));
}
