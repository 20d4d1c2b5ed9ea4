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

/// The recorded logs' tree as it is after both nights, rebuilt in `dir/src` from the
/// recording's scripts.
fn final_tree(dir: &Path) -> std::path::PathBuf {
    let logs = crate::util::repo().join("baselines/rsync-logs");
    let src = dir.join("src");
    std::fs::create_dir(&src).unwrap();
    for script in ["tree.sh", "night1.sh", "night2.sh"] {
        let ok = Command::new("bash")
            .arg("-euo")
            .arg("pipefail")
            .arg(logs.join(script))
            .current_dir(&src)
            .status()
            .unwrap();
        assert!(ok.success(), "{script}");
    }
    src
}

/// The recorded logs of every form (`baselines/rsync-logs/`, real rsync): day 0 imported
/// as a full listing, then both nights replayed onto it, give exactly the listing rsync
/// prints of the final tree. Logs without `%C` take their checksums from the copy
/// (`--dest`, here the final tree rebuilt from the recording's scripts).
#[test]
fn every_recorded_log_form_replays_to_rsync_s_final_listing() {
    let logs = crate::util::repo().join("baselines/rsync-logs");
    let tmp = scratch();
    let dir = tmp.path();
    let src = final_tree(dir);
    let mut forms: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".options").map(str::to_string)
        })
        .collect();
    forms.sort();
    assert!(forms.len() >= 14, "{forms:?}");
    let mut failures = Vec::new();
    for form in &forms {
        let options = std::fs::read_to_string(logs.join(format!("{form}.options"))).unwrap();
        let ext = if options.contains("--log-file=") {
            "logfile"
        } else {
            "log"
        };
        let night = |n: u32| logs.join(format!("{form}.{n}.{ext}"));
        let mut common: Vec<String> = vec!["--dest".into(), src.display().to_string()];
        if let Some(format) = options
            .lines()
            .find_map(|l| l.strip_prefix("--log-file-format="))
        {
            common.extend(["--log-format".into(), format.into()]);
        }
        let has_checksums = options.contains("%C");
        let md5 = options.contains("--checksum-choice=md5") || !has_checksums;
        if !has_checksums {
            // fimsum computes these checksums itself, so it is told which.
            common.extend(["--cc".into(), "md5".into()]);
        }
        let run = |args: Vec<String>| run_in(dir, args);
        let mut day0 = vec!["import".to_string(), "--full".into()];
        day0.extend(common.iter().cloned());
        day0.extend([
            night(0).display().to_string(),
            "-o".into(),
            format!("{form}.0.fimsum"),
        ]);
        let out = run(day0);
        if code(&out) != 0 {
            failures.push(format!("{form}: day 0: {}", stderr(&out)));
            continue;
        }
        let mut nights = vec![
            "import".to_string(),
            "--base".into(),
            format!("{form}.0.fimsum"),
        ];
        nights.extend(common.iter().cloned());
        nights.extend([
            night(1).display().to_string(),
            night(2).display().to_string(),
            "-o".into(),
            format!("{form}.2.fimsum"),
        ]);
        let out = run(nights);
        if code(&out) != 0 {
            failures.push(format!("{form}: nights: {}", stderr(&out)));
            continue;
        }
        let shown = run_in(dir, ["show".to_string(), format!("{form}.2.fimsum")]);
        let want = std::fs::read(logs.join(if md5 {
            "final.md5.out"
        } else {
            "final.xxh128.out"
        }))
        .unwrap();
        if shown.stdout != want {
            failures.push(format!(
                "{form}: after both nights:\n--- rsync\n{}--- fimsum\n{}",
                String::from_utf8_lossy(&want),
                stdout(&shown)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A log the job appended to every night (`>> night.log`) holds several runs: they are
/// applied in order, the first a full listing, without a base.
#[test]
fn a_log_of_several_runs_is_applied_run_by_run() {
    let logs = crate::util::repo().join("baselines/rsync-logs");
    let tmp = scratch();
    let dir = tmp.path();
    // Three runs of `rsync -v`, which shows no checksums: they come from the final tree.
    let out = run_in(
        dir,
        [
            "import".as_ref(),
            "--cc".as_ref(),
            "md5".as_ref(),
            "--dest".as_ref(),
            final_tree(dir).as_os_str(),
            logs.join("v.all.log").as_os_str(),
            "-o".as_ref(),
            "all.fimsum".as_ref(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let shown = run_in(dir, ["show", "all.fimsum"]);
    assert_eq!(
        shown.stdout,
        std::fs::read(logs.join("final.md5.out")).unwrap()
    );
    // `-v --stats` begins each run with a header, so the runs of an appended log are told
    // apart (plain `%n %C` runs appended run into each other).
    let (log, cc, want) = ("stats", "md5", "final.md5.out");
    let both = [1, 2]
        .iter()
        .map(|n| std::fs::read(logs.join(format!("{log}.{n}.log"))).unwrap())
        .collect::<Vec<_>>()
        .concat();
    std::fs::write(dir.join("nights.log"), both).unwrap();
    let day0 = logs.join(format!("{log}.0.log"));
    let out = run_in(
        dir,
        [
            "import".as_ref(),
            "--cc".as_ref(),
            cc.as_ref(),
            "--full".as_ref(),
            day0.as_os_str(),
            "-o".as_ref(),
            "b0".as_ref(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run_in(
        dir,
        [
            "import",
            "--cc",
            cc,
            "--base",
            "b0",
            "nights.log",
            "-o",
            "b2",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let shown = run_in(dir, ["show", "b2"]);
    assert_eq!(shown.stdout, std::fs::read(logs.join(want)).unwrap());
    // Without a base, a night has nothing to apply to: refused, nothing written.
    let out = run_in(dir, ["import", "--cc", cc, "nights.log", "-o", "b3"]);
    assert_eq!(code(&out), 64, "{}", stderr(&out));
    assert!(stderr(&out).contains("--base"), "{}", stderr(&out));
    assert!(!dir.join("b3").exists());
    // diff applies the nights to the base: only what they changed is reported.
    let out = run_in(dir, ["diff", "--cc", cc, "b0", "nights.log"]);
    let report = stdout(&out);
    assert!(!report.contains("removed    a.txt"), "{report}");
    assert!(report.contains("changed    a.txt"), "{report}");
    assert!(report.contains("removed    b.txt"), "{report}");
    assert!(report.contains("added      j.txt"), "{report}");
}

#[test]
fn a_night_s_diff_goes_to_syslog_and_json_as_a_check_s_does() {
    let tmp = scratch();
    let dir = tmp.path();
    tree(&dir.join("src"));
    let day0 = run_in(dir, ["scan", "src/"]);
    std::fs::write(dir.join("day0.log"), &day0.stdout).unwrap();
    std::fs::write(
        dir.join("night.log"),
        format!(
            "deleting bin/other\netc/passwd {}\n",
            fimsum::hash::Algorithm::Md5.digest(b"toor\n").to_hex()
        ),
    )
    .unwrap();
    let socket = dir.join("log.sock");
    let server = std::os::unix::net::UnixDatagram::bind(&socket).unwrap();
    server.set_nonblocking(true).unwrap();
    let sock = socket.to_str().unwrap();
    let out = run_in(
        dir,
        [
            "diff",
            "--cc",
            "md5",
            "--full",
            "--source",
            "/",
            "--format",
            "json",
            "--syslog",
            "--syslog-socket",
            sock,
            "day0.log",
            "night.log",
        ],
    );
    assert_eq!(code(&out), 2 | 4, "{}", stderr(&out));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["path"] == "etc/passwd" && e["severity"] == "critical"),
        "{events:?}"
    );
    let mut messages = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = server.recv(&mut buf) {
        messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        messages[0].contains("diff of day0.log and night.log: 0 added, 1 removed, 1 changed"),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("critical: changed    /etc/passwd")),
        "{messages:?}"
    );
}

#[test]
fn a_night_without_checksums_takes_them_from_the_copy() {
    if !rsync_available("logs without %C against real rsync") {
        return;
    }
    let tmp = scratch();
    let dir = tmp.path();
    tree(&dir.join("src"));
    let copy = |format: &str, log: &str| {
        let out = Command::new("rsync")
            .current_dir(dir)
            .args(["-a", "--delete", &format!("--out-format={format}")])
            .args(["src/", "dest/"])
            .output()
            .unwrap();
        assert!(out.status.success());
        std::fs::write(dir.join(log), &out.stdout).unwrap();
    };
    copy("%n", "day0.log");
    assert_eq!(code(&run_in(dir, ["scan", "-o", "day0.fimsum", "src/"])), 0);
    write(&dir.join("src/bin/tool"), b"a changed tool\n");
    copy("%n", "night.log");
    // A night of names alone (rsync 3.0.x has no %C): the copy gives the checksums.
    let out = run_in(
        dir,
        [
            "diff",
            "--cc",
            "md5",
            "--incremental",
            "--log-format",
            "%n",
            "--dest",
            "dest",
            "day0.fimsum",
            "night.log",
        ],
    );
    let report = stdout(&out);
    assert_eq!(code(&out), 4, "{report}{}", stderr(&out));
    assert!(report.contains("changed    bin/tool: content"), "{report}");
    assert!(report.contains("as they are now"), "{report}");
}

/// A base with extra digests: the nights carry none, so the new baseline keeps none, says
/// so, and reads back; a check says where its metadata comes from.
#[test]
fn nights_onto_a_base_with_extra_digests_drop_them_and_say_so() {
    let tmp = scratch();
    let dir = tmp.path();
    tree(&dir.join("src"));
    let out = run_in(dir, ["scan", "-o", "b0", "--digest", "sha256", "src/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let md5 = fimsum::hash::Algorithm::Md5.digest(b"toor\n").to_hex();
    write(
        &dir.join("night.log"),
        format!("deleting bin/other\netc/passwd {md5}\n").as_bytes(),
    );
    let out = run_in(
        dir,
        [
            "import",
            "--cc",
            "md5",
            "--base",
            "b0",
            "night.log",
            "-o",
            "b1",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("extra digests (sha256) are not kept"),
        "{}",
        stderr(&out)
    );
    let shown = stdout(&run_in(dir, ["show", "b1"]));
    assert!(shown.contains(&format!("etc/passwd {md5}")), "{shown}");
    assert!(!shown.contains("bin/other"), "{shown}");
    write(&dir.join("src/etc/passwd"), b"toor\n");
    std::fs::remove_file(dir.join("src/bin/other")).unwrap();
    let out = run_in(dir, ["check", "b1"]);
    let report = stdout(&out);
    assert!(
        report.contains("replayed from rsync logs onto a scan's"),
        "{report}"
    );
    assert!(!report.contains("removed    "), "{report}");
    assert!(!report.contains("content"), "{report}");
}
