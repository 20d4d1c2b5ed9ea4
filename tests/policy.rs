//! The config file, `init` / `check` / `update`, severities, detectors, moves, hard links,
//! growing logs and IOC lists, through the command line.

use std::path::Path;

use crate::util::{code, run_in, scratch, stderr, stdout, write};

/// A config for `dir/src/` with its baseline at `dir/state/b.fimsum`, and these rules.
fn config(dir: &Path, rules: &str) -> std::path::PathBuf {
    let root = dir.join("src");
    let text = format!(
        "roots = [\"{}/\"]\nbaseline = \"{}\"\nexclude = []\nkeep = 2\n{rules}",
        root.display(),
        dir.join("state/b.fimsum").display()
    );
    let path = dir.join("fimsum.toml");
    write(&path, text.as_bytes());
    path
}

/// The path of a tree entry as rules see it.
fn abs(dir: &Path, rel: &str) -> String {
    format!("{}/src/{rel}", dir.display())
}

fn tree(dir: &Path) {
    write(&dir.join("src/etc/passwd"), b"root:x:0:0::/root:/bin/sh\n");
    write(&dir.join("src/log/app.log"), b"line 1\nline 2\n");
    write(&dir.join("src/cache/tmp"), b"scratch");
    write(&dir.join("src/data/report.pdf"), b"%PDF-1.7 a report");
    write(&dir.join("src/data/empty"), b"");
}

/// The finding lines of a human report (after the summary lines).
fn findings(out: &std::process::Output) -> Vec<String> {
    stdout(out)
        .lines()
        .filter(|l| {
            ["critical", "high", "medium", "low"]
                .iter()
                .any(|s| l.starts_with(s))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn init_check_update_keep_generations_and_rules_set_severities() {
    let tmp = scratch();
    let dir = tmp.path();
    tree(dir);
    let rules = format!(
        "[[rule]]\npattern = \"{}/***\"\nseverity = \"critical\"\n\
         [[rule]]\npattern = \"{}/***\"\nseverity = \"ignore\"\n\
         [[rule]]\npattern = \"{}\"\nseverity = \"low\"\ngrowing = true\n",
        abs(dir, "etc"),
        abs(dir, "cache"),
        abs(dir, "log/*.log"),
    );
    let cfg = config(dir, &rules);
    let cfg = cfg.to_str().unwrap();
    let out = run_in(dir, ["init", "--config", cfg]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(dir.join("state/b.fimsum").exists());
    // A second init would throw the baseline away: refused.
    assert_eq!(code(&run_in(dir, ["init", "--config", cfg])), 64);

    let out = run_in(dir, ["check", "--config", cfg]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(findings(&out).is_empty(), "{}", stdout(&out));

    // A change under the critical rule; one under ignore; a log that only grew.
    write(
        &dir.join("src/etc/passwd"),
        b"root:x:0:0::/root:/bin/bash\n",
    );
    write(&dir.join("src/cache/tmp"), b"other scratch");
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("src/log/app.log"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"line 3\n"))
        .unwrap();
    let out = run_in(dir, ["check", "--config", cfg]);
    let lines = findings(&out);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert_eq!(lines.len(), 1, "{}", stdout(&out));
    assert!(
        lines[0].starts_with("critical changed    etc/passwd: content "),
        "{lines:?}"
    );
    assert!(
        stdout(&out).contains("growing files that only grew"),
        "{}",
        stdout(&out)
    );

    // A log whose old part changed is reported, under its rule's severity.
    write(
        &dir.join("src/log/app.log"),
        b"LINE 1\nline 2\nline 3\nline 4\n",
    );
    let out = run_in(dir, ["check", "--config", cfg]);
    assert!(
        findings(&out)
            .iter()
            .any(|l| l.starts_with("low      changed    log/app.log: content ")),
        "{}",
        stdout(&out)
    );

    // update: reports, then the scan is the baseline; the old one is kept as .1.
    let out = run_in(dir, ["update", "--config", cfg]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert!(dir.join("state/b.fimsum.1").exists());
    let out = run_in(dir, ["check", "--config", cfg]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // Generations: the next update keeps two.
    write(&dir.join("src/data/new"), b"new");
    assert_eq!(code(&run_in(dir, ["update", "--config", cfg])), 1 | 4);
    assert!(dir.join("state/b.fimsum.2").exists());
    let show = |p: &str| stdout(&run_in(dir, ["show", p]));
    assert!(show("state/b.fimsum").contains("data/new "));
    assert!(!show("state/b.fimsum.1").contains("data/new "));
}

#[test]
fn config_errors_name_the_line_and_exit_78() {
    let tmp = scratch();
    let dir = tmp.path();
    tree(dir);
    let cfg = config(
        dir,
        "[[rule]]\npattern = \"/etc/***\"\nseverity = \"high\"\ncolour = 1\n",
    );
    let out = run_in(dir, ["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code(&out), 78);
    let err = stderr(&out);
    assert!(err.contains("fimsum.toml:8:"), "{err}");
    assert!(err.contains("colour"), "{err}");
    let cfg = config(
        dir,
        "[[rule]]\npattern = \"/etc/***\"\nseverity = \"urgent\"\n",
    );
    let out = run_in(dir, ["config", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code(&out), 78, "{}", stderr(&out));
    assert!(stderr(&out).contains("urgent"), "{}", stderr(&out));
}

#[test]
fn the_default_config_prints_and_parses_back() {
    let tmp = scratch();
    let out = run_in(tmp.path(), ["config", "--default"]);
    assert_eq!(code(&out), 0);
    let path = tmp.path().join("default.toml");
    std::fs::write(&path, &out.stdout).unwrap();
    let out = run_in(tmp.path(), ["config", "--config", path.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("valid"), "{}", stdout(&out));
}

#[test]
fn moves_hard_links_and_setid_are_reported_as_such() {
    let tmp = scratch();
    let dir = tmp.path();
    tree(dir);
    write(&dir.join("src/bin/tool"), b"#!/bin/sh\necho tool\n");
    let cfg = config(dir, "");
    let cfg = cfg.to_str().unwrap();
    assert_eq!(code(&run_in(dir, ["init", "--config", cfg])), 0);
    // A renamed file is one move; a renamed empty file is not (its content says nothing).
    std::fs::rename(
        dir.join("src/data/report.pdf"),
        dir.join("src/data/old.pdf"),
    )
    .unwrap();
    std::fs::rename(dir.join("src/data/empty"), dir.join("src/data/empty2")).unwrap();
    // A new hard link to an existing file, and a setuid bit.
    std::fs::hard_link(dir.join("src/bin/tool"), dir.join("src/bin/copy")).unwrap();
    let out = run_in(dir, ["check", "--config", cfg]);
    let text = stdout(&out);
    let lines = findings(&out);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("moved      data/old.pdf <- data/report.pdf")),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains("added      data/empty2")),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains("removed    data/empty")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("high     added      bin/copy")
                && l.contains("new_hard_link to bin/tool")),
        "{text}"
    );
    assert_eq!(code(&out), 1 | 2 | 4, "{text}");

    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("src/bin/tool"), PermissionsExt::from_mode(0o4755)).unwrap();
    let out = run_in(dir, ["check", "--config", cfg, "--format", "json"]);
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let tool = events
        .iter()
        .find(|e| e["path"] == "bin/tool")
        .expect("tool reported");
    assert_eq!(tool["severity"], "critical");
    assert_eq!(tool["detectors"][0], "setid_added");
    // SIEM fields on every event, the summary last.
    for e in &events {
        assert_eq!(e["schema"], 2);
        assert!(e["host"].as_str().is_some_and(|h| !h.is_empty()));
        let time = e["time"].as_str().expect("time");
        assert!(fimsum::civil::parse(time).is_some(), "{time}");
    }
    let summary = events.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["moved"], 1);
    assert!(summary["by_severity"]["critical"].as_u64() >= Some(1));
}

#[test]
fn ioc_hits_are_critical_with_exit_bit_16_on_changed_and_unchanged_files() {
    let tmp = scratch();
    let dir = tmp.path();
    tree(dir);
    let cfg = config(dir, "");
    let cfg = cfg.to_str().unwrap();
    assert_eq!(code(&run_in(dir, ["init", "--config", cfg])), 0);
    write(&dir.join("src/data/dropper"), b"malware body");
    // md5 of "malware body" and of the unchanged passwd, as lists give them.
    let md5 = |data: &[u8]| fimsum::hash::Algorithm::Md5.digest(data).to_hex();
    let list = format!(
        "# feed\n{}  dropper.exe\n{}\n",
        md5(b"malware body"),
        md5(b"root:x:0:0::/root:/bin/sh\n")
    );
    write(&dir.join("bad.txt"), list.as_bytes());
    let out = run_in(dir, ["check", "--config", cfg, "--ioc", "bad.txt"]);
    assert_eq!(code(&out) & 16, 16, "{}", stdout(&out));
    let lines = findings(&out);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("critical added      data/dropper") && l.contains("bad.txt:2")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("critical listed     etc/passwd") && l.contains("bad.txt:3")),
        "{lines:?}"
    );
    // scan --ioc: stdout stays rsync's, the hit goes to stderr and the exit code.
    let out = run_in(dir, ["scan", "--ioc", "bad.txt", "src/"]);
    assert_eq!(code(&out), 16);
    assert!(
        stderr(&out).contains("data/dropper: on an IOC list"),
        "{}",
        stderr(&out)
    );
    // A sha256 list against md5 checksums cannot match anything: a usage error.
    write(
        &dir.join("sha.txt"),
        format!("{}\n", "ab".repeat(32)).as_bytes(),
    );
    let out = run_in(dir, ["scan", "--ioc", "sha.txt", "src/"]);
    assert_eq!(code(&out), 64);
    assert!(stderr(&out).contains("--digest sha256"), "{}", stderr(&out));
    // With sha256 recorded beside the md5, a sha256 list matches (MalwareBazaar's kind).
    let sha = fimsum::hash::HashKind::Sha256;
    let mut hasher = sha.hasher();
    hasher.update(b"malware body");
    write(
        &dir.join("sha.txt"),
        format!("{}\n", hasher.finish().to_hex()).as_bytes(),
    );
    let out = run_in(
        dir,
        ["scan", "-o", "d.fimsum", "--digest", "sha256", "src/"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run_in(
        dir,
        ["check", "--config", cfg, "d.fimsum", "--ioc", "sha.txt"],
    );
    assert_eq!(code(&out), 16, "{}", stdout(&out));
    assert!(
        findings(&out)
            .iter()
            .any(|l| l.starts_with("critical listed     data/dropper") && l.contains("sha256")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn syslog_gets_the_summary_and_each_finding_at_its_priority() {
    let tmp = scratch();
    let dir = tmp.path();
    tree(dir);
    let rules = format!(
        "[[rule]]\npattern = \"{}/***\"\nseverity = \"critical\"\n",
        abs(dir, "etc")
    );
    let cfg = config(dir, &rules);
    let cfg = cfg.to_str().unwrap();
    assert_eq!(code(&run_in(dir, ["init", "--config", cfg])), 0);
    write(&dir.join("src/etc/passwd"), b"changed\n");
    let socket = dir.join("log.sock");
    let server = std::os::unix::net::UnixDatagram::bind(&socket).unwrap();
    server.set_nonblocking(true).unwrap();
    let out = run_in(
        dir,
        [
            "check",
            "--config",
            cfg,
            "--syslog",
            "--syslog-socket",
            socket.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let mut messages = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = server.recv(&mut buf) {
        messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    // authpriv (10) * 8 + crit (2) = 82, for the summary (its worst finding) and the finding.
    assert!(messages[0].starts_with("<82>fimsum["), "{messages:?}");
    assert!(messages[0].contains("1 changed"), "{messages:?}");
    let passwd = format!("critical: changed    {}: content ", abs(dir, "etc/passwd"));
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("<82>") && m.contains(&passwd)),
        "{messages:?}"
    );
    // No syslog there: an error before the scan, naming the socket.
    let out = run_in(
        dir,
        [
            "check",
            "--config",
            cfg,
            "--syslog",
            "--syslog-socket",
            "/nonexistent/log",
        ],
    );
    assert_eq!(code(&out), 74);
    assert!(
        stderr(&out).contains("/nonexistent/log"),
        "{}",
        stderr(&out)
    );
}

/// Every JSON event of a check has the keys docs/json.md documents, of the
/// documented types, and no others: the contract a SIEM parser is written against.
#[test]
fn json_events_follow_the_documented_schema() {
    use serde_json::Value;
    let tmp = scratch();
    let dir = tmp.path();
    tree(dir);
    write(&dir.join("src/bin/tool"), b"#!/bin/sh\n");
    let cfg = config(dir, "[[rule]]\npattern = \"/**\"\nseverity = \"high\"\n");
    let cfg = cfg.to_str().unwrap();
    assert_eq!(code(&run_in(dir, ["init", "--config", cfg])), 0);
    // One of each: modified, added (with a detector and an IOC hit), removed, moved, listed.
    write(&dir.join("src/etc/passwd"), b"changed\n");
    write(&dir.join("src/data/dropper"), b"malware body");
    std::fs::remove_file(dir.join("src/cache/tmp")).unwrap();
    std::fs::rename(dir.join("src/data/report.pdf"), dir.join("src/data/r.pdf")).unwrap();
    std::fs::hard_link(dir.join("src/bin/tool"), dir.join("src/bin/tool2")).unwrap();
    let md5 = |data: &[u8]| fimsum::hash::Algorithm::Md5.digest(data).to_hex();
    let list = format!("{}\n{}\n", md5(b"malware body"), md5(b"line 1\nline 2\n"));
    write(&dir.join("bad.txt"), list.as_bytes());
    let out = run_in(
        dir,
        [
            "check", "--config", cfg, "--ioc", "bad.txt", "--format", "json",
        ],
    );
    let events: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();

    let string = |v: &Value| v.is_string();
    let number = |v: &Value| v.is_u64();
    let strings = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    let record = |v: &Value| v.is_null() || v.is_object();
    type Check = fn(&Value) -> bool;
    let change_keys: &[(&str, Check, bool)] = &[
        ("type", string, true),
        ("schema", number, true),
        ("host", string, true),
        ("time", string, true),
        ("path", string, true),
        ("abs_path", string, true),
        ("change", string, true),
        ("severity", string, true),
        ("fields", strings, true),
        ("detectors", strings, true),
        ("old", record, true),
        ("new", record, true),
        ("rule", Value::is_object, false),
        ("reason", string, false),
        ("moved_from", string, false),
        ("link_to", string, false),
        ("package", string, false),
        ("ioc", Value::is_array, false),
    ];
    let record_keys = [
        "kind",
        "mode",
        "uid",
        "gid",
        "size",
        "mtime",
        "ctime",
        "inode",
        "filesystem",
        "nlink",
        "device",
        "checksum",
        "target",
        "unreadable",
        "changed_during_scan",
        "digests",
        "attrs",
    ];
    let kinds = [
        "added",
        "removed",
        "moved",
        "type_changed",
        "modified",
        "unverified",
        "listed",
    ];
    let severities = ["critical", "high", "medium", "low"];
    let mut seen = std::collections::HashSet::new();
    for e in &events[..events.len() - 1] {
        let obj = e.as_object().expect("an object");
        for key in obj.keys() {
            assert!(
                change_keys.iter().any(|(k, _, _)| k == key),
                "undocumented key {key}: {e}"
            );
        }
        for (key, check, required) in change_keys {
            match obj.get(*key) {
                Some(v) => assert!(check(v), "{key} has the wrong type: {e}"),
                None => assert!(!required, "{key} missing: {e}"),
            }
        }
        assert_eq!(e["type"], "change");
        assert!(kinds.contains(&e["change"].as_str().unwrap()), "{e}");
        assert!(severities.contains(&e["severity"].as_str().unwrap()), "{e}");
        assert!(fimsum::civil::parse(e["time"].as_str().unwrap()).is_some());
        for side in ["old", "new"] {
            if let Some(r) = e[side].as_object() {
                for key in r.keys() {
                    assert!(
                        record_keys.contains(&key.as_str()),
                        "undocumented {key}: {e}"
                    );
                }
            }
        }
        if let Some(rule) = e.get("rule") {
            assert!(rule["index"].is_u64() && rule["line"].is_u64(), "{e}");
            assert!(strings(&rule["patterns"]), "{e}");
        }
        for hit in e.get("ioc").and_then(Value::as_array).into_iter().flatten() {
            assert!(hit["list"].is_string() && hit["line"].is_u64() && hit["hash"].is_string());
        }
        seen.insert(e["change"].as_str().unwrap().to_string());
    }
    for kind in ["added", "removed", "moved", "modified", "listed"] {
        assert!(seen.contains(kind), "no {kind} event to check: {events:?}");
    }
    let summary = events.last().unwrap();
    assert_eq!(summary["type"], "summary");
    let summary_keys = [
        "type",
        "schema",
        "host",
        "time",
        "added",
        "removed",
        "changed",
        "moved",
        "unverified",
        "listed",
        "by_severity",
        "not_counted",
        "grew",
        "compared",
        "unreadable",
        "copy",
        "notes",
    ];
    let obj = summary.as_object().unwrap();
    assert_eq!(obj.len(), summary_keys.len(), "{summary}");
    for key in summary_keys {
        assert!(obj.contains_key(key), "summary lacks {key}: {summary}");
    }
}
