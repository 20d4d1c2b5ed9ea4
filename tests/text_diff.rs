//! Content diffs of config files (`diff = true`) through `init`, `check`, `update` and
//! `diff`, and the secrets that must never be stored or shown: not in the baseline, the
//! human report, the JSON or syslog.

use std::path::Path;

use fimsum::baseline::Baseline;
use fimsum::text::Snapshot;

use crate::util::{code, run_in, scratch, stderr, stdout, write};

/// Text no output and no baseline may ever hold: the secret parts of the files below.
const SECRETS: [&str; 8] = [
    "$6$rounds=5000$OLDSALT$oldhasholdhash",
    "$6$rounds=5000$NEWSALT$newhashnewhash",
    "MIIEoldKEYmaterialOLD",
    "MIIEnewKEYmaterialNEW",
    "b3BlbnNzaC1rZXktdjEOLD",
    "b3BlbnNzaC1rZXktdjENEW",
    "token-OLD-9f8e7d",
    "token-NEW-1a2b3c",
];

fn shadow(hash: &str) -> String {
    format!("root:{hash}:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")
}

fn pem(material: &str) -> String {
    format!("-----BEGIN PRIVATE KEY-----\n{material}\n-----END PRIVATE KEY-----\n")
}

/// A config for `dir/src/`: everything high, diffs for everything below the root, and
/// `etc/tokens` secret by a rule.
fn config(dir: &Path) -> String {
    let root = dir.join("src");
    let text = format!(
        "roots = [\"{root}/\"]\nbaseline = \"{state}\"\nexclude = []\nkeep = 2\n\
         [[rule]]\npattern = \"{root}/***\"\nseverity = \"high\"\n\
         [[rule]]\npattern = \"{root}/**\"\ndiff = true\n\
         [[rule]]\npattern = \"{root}/etc/tokens\"\nsecret = true\n",
        root = root.display(),
        state = dir.join("state/b.fimsum").display()
    );
    let path = dir.join("fimsum.toml");
    write(&path, text.as_bytes());
    path.to_str().unwrap().to_string()
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n";

fn tree(dir: &Path) {
    let src = dir.join("src");
    write(&src.join("etc/passwd"), PASSWD.as_bytes());
    write(&src.join("etc/hosts"), b"127.0.0.1 localhost\n");
    write(&src.join("etc/shadow"), shadow(SECRETS[0]).as_bytes());
    write(
        &src.join("etc/ssl/private/site.pem"),
        pem(SECRETS[2]).as_bytes(),
    );
    // A private key in a file whose name says nothing: found by its content.
    let app = format!("[app]\nname = demo\n{}", pem(SECRETS[4]));
    write(&src.join("etc/app.conf"), app.as_bytes());
    write(
        &src.join("etc/tokens"),
        format!("api={}\n", SECRETS[6]).as_bytes(),
    );
    write(&src.join("etc/blob.db"), b"SQLite\0\x01\x02 old");
    write(&src.join("etc/big.conf"), &vec![b'x'; 300 * 1024]);
}

fn edit(dir: &Path) {
    let src = dir.join("src");
    let mut passwd = PASSWD.to_string();
    passwd.push_str("evil:x:0:0::/root:/bin/sh\n");
    write(&src.join("etc/passwd"), passwd.as_bytes());
    write(&src.join("etc/shadow"), shadow(SECRETS[1]).as_bytes());
    write(
        &src.join("etc/ssl/private/site.pem"),
        pem(SECRETS[3]).as_bytes(),
    );
    let app = format!("[app]\nname = demo\n{}", pem(SECRETS[5]));
    write(&src.join("etc/app.conf"), app.as_bytes());
    write(
        &src.join("etc/tokens"),
        format!("api={}\n", SECRETS[7]).as_bytes(),
    );
    write(&src.join("etc/blob.db"), b"SQLite\0\x01\x02 new");
    write(&src.join("etc/big.conf"), &vec![b'y'; 300 * 1024]);
}

/// No secret, in any form the tests can look for, in `text`.
fn assert_no_secret(what: &str, text: &[u8]) {
    for secret in SECRETS {
        let found = text.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "{what} holds {secret:?}");
    }
}

/// No secret in the baseline file's bytes, nor in any snapshot's decompressed text; and
/// the secret files keep line digests only.
fn assert_baseline_clean(path: &Path) {
    assert_no_secret("the baseline file", &std::fs::read(path).unwrap());
    let base = Baseline::open(path).unwrap();
    let mut kinds = Vec::new();
    for record in base.records() {
        let record = record.unwrap();
        let name = String::from_utf8(record.name.clone()).unwrap();
        if let Some(snapshot) = &record.snapshot {
            if let Snapshot::Text(text) = snapshot {
                assert_no_secret(&name, &text.content().unwrap());
            }
            kinds.push((name, snapshot.kind_name()));
        }
    }
    let kind = |name: &str| {
        kinds
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| *k)
            .unwrap_or_else(|| panic!("no snapshot of {name}: {kinds:?}"))
    };
    assert_eq!(kind("etc/passwd"), "text");
    assert_eq!(kind("etc/shadow"), "secret");
    assert_eq!(kind("etc/ssl/private/site.pem"), "secret");
    assert_eq!(kind("etc/app.conf"), "secret");
    assert_eq!(kind("etc/tokens"), "secret");
    assert_eq!(kind("etc/blob.db"), "binary");
    assert_eq!(kind("etc/big.conf"), "too-large");
}

#[test]
fn config_workflow_shows_diffs_and_never_a_secret() {
    let tmp = scratch();
    let dir = tmp.path();
    tree(dir);
    let cfg = config(dir);
    let out = run_in(dir, ["init", "--config", &cfg]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let baseline = dir.join("state/b.fimsum");
    assert_baseline_clean(&baseline);
    edit(dir);

    // The human report: the diff indented under the change line.
    let out = run_in(dir, ["check", "--config", &cfg]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let report = stdout(&out);
    assert_no_secret("the human report", &out.stdout);
    assert_no_secret("stderr", &out.stderr);
    let lines: Vec<&str> = report.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("changed    etc/passwd: "))
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(
        &lines[at + 1..at + 5],
        [
            "    @@ -1,2 +1,3 @@",
            "     root:x:0:0:root:/root:/bin/bash",
            "     daemon:x:1:1::/usr/sbin:/usr/sbin/nologin",
            "    +evil:x:0:0::/root:/bin/sh",
        ],
        "{report}"
    );
    let under = |name: &str| -> Vec<&str> {
        let at = lines
            .iter()
            .position(|l| l.contains(&format!("changed    {name}: ")))
            .unwrap_or_else(|| panic!("{name}: {report}"));
        lines[at + 1..]
            .iter()
            .take_while(|l| l.starts_with("    "))
            .map(|l| l.trim_start())
            .collect()
    };
    let secret = "holds secrets: the text is neither stored nor shown";
    assert_eq!(under("etc/shadow"), [secret, "line 1 changed"]);
    assert_eq!(
        under("etc/ssl/private/site.pem"),
        [secret, "line 2 changed"]
    );
    assert_eq!(under("etc/app.conf"), [secret, "line 4 changed"]);
    assert_eq!(under("etc/tokens"), [secret, "line 1 changed"]);
    assert_eq!(under("etc/blob.db"), ["binary content changed"]);
    assert_eq!(
        under("etc/big.conf"),
        ["over the limit of 256 KiB for a diff"]
    );

    // JSON: the diff as a string; for a secret, null and the line numbers.
    let out = run_in(dir, ["check", "--config", &cfg, "--format", "json"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert_no_secret("the JSON report", &out.stdout);
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let event = |path: &str| {
        events
            .iter()
            .find(|e| e["path"] == path)
            .unwrap_or_else(|| panic!("no event for {path}"))
    };
    let passwd = event("etc/passwd");
    assert_eq!(
        passwd["diff"],
        "@@ -1,2 +1,3 @@\n root:x:0:0:root:/root:/bin/bash\n daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n+evil:x:0:0::/root:/bin/sh"
    );
    assert_eq!(
        (&passwd["diff_added"], &passwd["diff_removed"]),
        (&1.into(), &0.into())
    );
    let secret_event = event("etc/shadow");
    assert!(secret_event["diff"].is_null());
    assert_eq!(secret_event["secret"], true);
    assert_eq!(secret_event["lines_changed"], serde_json::json!([1]));
    assert_eq!(secret_event["old_lines_changed"], serde_json::json!([1]));
    assert_eq!(event("etc/blob.db")["diff_note"], "binary content changed");
    assert!(events.iter().all(|e| e["path"] != "etc/hosts"), "unchanged");

    // ECS and OCSF: the same diff, under `fimsum.diff` and as OCSF's `file_diff`; a secret's
    // lines by number only.
    let siem = |format: &str| -> Vec<serde_json::Value> {
        let out = run_in(dir, ["check", "--config", &cfg, "--format", format]);
        assert_eq!(code(&out), 4, "{}", stderr(&out));
        assert_no_secret(format, &out.stdout);
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let ends_with = |e: &serde_json::Value, path: &str, name: &str| {
        e[name].as_str().is_some_and(|p| p.ends_with(path))
    };
    let ecs = siem("ecs");
    let ecs_passwd = ecs
        .iter()
        .find(|e| ends_with(&e["file"], "etc/passwd", "path"))
        .expect("an ECS document for etc/passwd");
    assert_eq!(ecs_passwd["fimsum"]["diff"], passwd["diff"]);
    let ecs_shadow = ecs
        .iter()
        .find(|e| ends_with(&e["file"], "etc/shadow", "path"))
        .expect("an ECS document for etc/shadow");
    assert_eq!(
        ecs_shadow["fimsum"]["lines_changed"],
        serde_json::json!([1])
    );
    let ocsf = siem("ocsf");
    let ocsf_passwd = ocsf
        .iter()
        .find(|e| ends_with(&e["file"], "etc/passwd", "path"))
        .expect("an OCSF event for etc/passwd");
    assert_eq!(ocsf_passwd["file_diff"], passwd["diff"]);
    let ocsf_shadow = ocsf
        .iter()
        .find(|e| ends_with(&e["file"], "etc/shadow", "path"))
        .expect("an OCSF event for etc/shadow");
    assert_eq!(ocsf_shadow["file_diff"], "secret: line 1 changed");

    // syslog: counts and line numbers, never a diff's text nor a secret.
    let socket = dir.join("log.sock");
    let server = std::os::unix::net::UnixDatagram::bind(&socket).unwrap();
    server.set_nonblocking(true).unwrap();
    let out = run_in(
        dir,
        [
            "check",
            "--config",
            &cfg,
            "--syslog",
            "--syslog-socket",
            socket.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let mut messages = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = server.recv(&mut buf) {
        messages.push(buf[..n].to_vec());
    }
    let all = messages.concat();
    assert_no_secret("syslog", &all);
    let text = String::from_utf8_lossy(&all);
    assert!(!text.contains("evil"), "no diff text in syslog: {text}");
    assert!(text.contains("diff +1 -0 lines"), "{text}");
    assert!(text.contains("secret: line 1 changed"), "{text}");

    // update keeps each secret file's salt: the next change still says which line.
    let out = run_in(dir, ["update", "--config", &cfg]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert_no_secret("update's report", &out.stdout);
    assert_baseline_clean(&baseline);
    let out = run_in(dir, ["check", "--config", &cfg]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    write(
        &dir.join("src/etc/shadow"),
        format!("{}extra:*:1::::::\n", shadow(SECRETS[1])).as_bytes(),
    );
    let out = run_in(dir, ["check", "--config", &cfg]);
    assert_no_secret("the second check", &out.stdout);
    let report = stdout(&out);
    assert!(report.contains("\n    line 3 added\n"), "{report}");

    // `diff` of the two generations shows the same diffs.
    let old = dir.join("state/b.fimsum.1");
    let out = run_in(
        dir,
        [
            "diff",
            "--config",
            &cfg,
            old.to_str().unwrap(),
            baseline.to_str().unwrap(),
        ],
    );
    let report = stdout(&out);
    assert_no_secret("diff's report", &out.stdout);
    assert!(
        report.contains("\n    +evil:x:0:0::/root:/bin/sh\n"),
        "{report}"
    );
    assert!(report.contains("\n    line 1 changed\n"), "{report}");
}

/// A file with terminal escapes in it cannot put them on the terminal through its diff.
#[test]
fn diff_lines_are_escaped() {
    let tmp = scratch();
    let dir = tmp.path();
    write(&dir.join("src/etc/motd"), b"hello\n");
    let cfg = config(dir);
    assert_eq!(code(&run_in(dir, ["init", "--config", &cfg])), 0);
    write(
        &dir.join("src/etc/motd"),
        b"hello\n\x1b[2J\x1b]0;owned\x07\rforged\n",
    );
    let out = run_in(dir, ["check", "--config", &cfg]);
    let report = stdout(&out);
    assert!(
        !out.stdout.contains(&0x1b) && !out.stdout.contains(&b'\r'),
        "{report}"
    );
    assert!(
        report.contains("    +\\x1b[2J\\x1b]0;owned\\x07\\x0dforged\n"),
        "{report}"
    );
}

/// A baseline made without a `diff` rule keeps no snapshots, and its check says nothing
/// more than before: "content X -> Y".
#[test]
fn without_a_diff_rule_nothing_is_kept() {
    let tmp = scratch();
    let dir = tmp.path();
    write(&dir.join("src/etc/passwd"), PASSWD.as_bytes());
    let root = dir.join("src");
    let text = format!(
        "roots = [\"{root}/\"]\nbaseline = \"{state}\"\nexclude = []\n\
         [[rule]]\npattern = \"{root}/***\"\nseverity = \"high\"\n",
        root = root.display(),
        state = dir.join("state/b.fimsum").display()
    );
    write(&dir.join("fimsum.toml"), text.as_bytes());
    let cfg = dir.join("fimsum.toml");
    let cfg = cfg.to_str().unwrap();
    assert_eq!(code(&run_in(dir, ["init", "--config", cfg])), 0);
    let base = Baseline::open(&dir.join("state/b.fimsum")).unwrap();
    assert!(base.records().all(|r| r.unwrap().snapshot.is_none()));
    write(&dir.join("src/etc/passwd"), b"changed\n");
    let out = run_in(dir, ["check", "--config", cfg]);
    let report = stdout(&out);
    let change = report
        .lines()
        .position(|l| l.contains("changed    etc/passwd: content "))
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(
        report.lines().count(),
        change + 1,
        "nothing under it: {report}"
    );
}

/// `update --quick` takes an unchanged file's snapshot from the baseline with its checksum,
/// so a later change still shows its diff.
#[test]
fn quick_update_keeps_the_snapshots_of_files_it_does_not_read() {
    let tmp = scratch();
    let dir = tmp.path();
    tree(dir);
    let cfg = config(dir);
    assert_eq!(code(&run_in(dir, ["init", "--config", &cfg])), 0);
    // Old enough for --quick to trust (a file changed within seconds is read anyway).
    std::thread::sleep(std::time::Duration::from_millis(3100));
    write(
        &dir.join("src/etc/hosts"),
        b"127.0.0.1 localhost\n::1 localhost\n",
    );
    let out = run_in(dir, ["update", "--config", &cfg, "--quick"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stdout(&out).contains("etc/hosts"), "{}", stdout(&out));
    let base = Baseline::open(&dir.join("state/b.fimsum")).unwrap();
    let kept: Vec<String> = base
        .records()
        .map(|r| r.unwrap())
        .filter(|r| r.snapshot.is_some())
        .map(|r| String::from_utf8(r.name).unwrap())
        .collect();
    for name in ["etc/passwd", "etc/shadow", "etc/hosts", "etc/big.conf"] {
        assert!(kept.iter().any(|k| k == name), "{name}: {kept:?}");
    }
    edit(dir);
    let out = run_in(dir, ["check", "--config", &cfg]);
    let report = stdout(&out);
    assert!(
        report.contains("\n    +evil:x:0:0::/root:/bin/sh\n"),
        "{report}"
    );
    assert!(report.contains("\n    line 1 changed\n"), "{report}");
}
