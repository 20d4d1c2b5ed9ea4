//! Security attributes on real files, set with the tools people use (setcap, chattr,
//! setfacl, setfattr) and compared with what the matching tool shows (getcap, lsattr,
//! getfacl); recorded in baselines, compared by `check`, judged by the detectors, and read
//! as "not recorded" from a baseline written before they were.

use std::path::{Path, PathBuf};
use std::process::Command;

use fimsum::attrs::Attrs;
use fimsum::hash::Algorithm;
use fimsum::record::{Attribute, Record};
use fimsum::scan::walk::WalkOptions;

use crate::util::{
    code, contents_of, is_root, repo, run_in, scan_options, scan_source, scratch, stderr, stdout,
    write,
};

/// Run a tool; its stdout, or a panic naming it and its stderr.
fn tool(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} could not run ({e}): apt-get install libcap2-bin acl attr e2fsprogs")
        });
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Undoes `chattr +i`/`+a` below a directory when dropped, so that it can be removed
/// (also when a test fails), and unmounts a file system made for the test.
struct Unpin {
    dir: PathBuf,
    mounted: Option<PathBuf>,
}

impl Drop for Unpin {
    fn drop(&mut self) {
        let _ = Command::new("chattr")
            .arg("-R")
            .arg("-ia")
            .arg(&self.dir)
            .output();
        if let Some(at) = &self.mounted {
            let _ = Command::new("umount").arg(at).status();
        }
    }
}

/// Whether `chattr +i` works in `dir`.
fn takes_flags(dir: &Path) -> bool {
    let probe = dir.join(".probe");
    write(&probe, b"");
    let ok = Command::new("chattr")
        .arg("+i")
        .arg(&probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        let _ = Command::new("chattr").arg("-i").arg(&probe).output();
    }
    let _ = std::fs::remove_file(&probe);
    ok
}

/// A directory below `tmp` on a file system with inode flags: as root, a fresh ext4 image
/// mounted there (every flag lsattr shows, whatever file system the tests run on); else, or
/// where loop devices are not to be had, `tmp`'s own if it has them. `None`, said loudly,
/// when neither is possible.
fn flags_dir(tmp: &Path) -> Option<(PathBuf, Unpin)> {
    let dir = tmp.join("fs");
    std::fs::create_dir_all(&dir).unwrap();
    if is_root() {
        let image = tmp.join("ext4.img");
        let made = Command::new("truncate")
            .args(["-s", "16M"])
            .arg(&image)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new("mkfs.ext4")
                .args(["-q", "-F"])
                .arg(&image)
                .status()
                .is_ok_and(|s| s.success())
            && Command::new("mount")
                .args(["-o", "loop"])
                .arg(&image)
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
        if made {
            let unpin = Unpin {
                dir: dir.clone(),
                mounted: Some(dir.clone()),
            };
            if takes_flags(&dir) {
                return Some((dir, unpin));
            }
        } else {
            eprintln!(
                "NOTICE: no ext4 image could be mounted: trying {}",
                tmp.display()
            );
        }
    }
    if takes_flags(&dir) {
        let unpin = Unpin {
            dir: dir.clone(),
            mounted: None,
        };
        return Some((dir, unpin));
    }
    eprintln!(
        "NOTICE: no file system with inode flags here (chattr +i failed in {}, and no ext4 \
         image could be mounted): SKIPPING the inode-flag cases",
        tmp.display()
    );
    None
}

fn library_scan(dir: &Path, attrs: bool) -> Vec<Record> {
    let mut walk = WalkOptions::new(0, Vec::new()).unwrap();
    walk.attrs = attrs;
    // Both ways a file reaches its reader: opened by the walk, and opened by the reader.
    walk.open_files = 2;
    let (records, problems) = scan_source(
        &contents_of(dir),
        &scan_options(Algorithm::Md5, 2, walk),
        None,
    );
    assert!(problems.is_empty(), "{problems:?}");
    records
}

fn attrs_of<'a>(records: &'a [Record], name: &str) -> &'a Attrs {
    let record = records
        .iter()
        .find(|r| r.name == name.as_bytes())
        .unwrap_or_else(|| panic!("{name} not scanned"));
    record
        .attrs
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: no attributes recorded"))
}

/// The entries `getfacl` prints, one a line, joined by commas.
fn getfacl(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["-n", "-c", "-E"];
    all.extend_from_slice(args);
    tool(dir, "getfacl", &all)
        .lines()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// getcap's text for a file: what follows its name.
fn getcap(dir: &Path, args: &[&str]) -> String {
    let out = tool(dir, "getcap", args);
    let line = out.lines().next().unwrap_or_default();
    line.split_once(' ')
        .map_or("", |(_, caps)| caps)
        .to_string()
}

/// Every attribute is recorded from the file and shown as its tool shows it; the files the
/// scan reads through other names or not at all take the same; nothing is recorded when
/// they are not asked for.
#[test]
fn each_attribute_is_recorded_and_shown_as_its_tool_shows_it() {
    if !is_root() {
        eprintln!("NOTICE: not root: SKIPPING the security-attribute cases (setcap needs root)");
        return;
    }
    let tmp = scratch();
    let dir = tmp.path().join("t");
    for name in ["ping", "ns", "shared", "plain", "labelled", "noted"] {
        write(&dir.join(name), name.as_bytes());
    }
    std::fs::create_dir_all(dir.join("inherits")).unwrap();
    std::os::unix::fs::symlink("plain", dir.join("link")).unwrap();
    std::fs::hard_link(dir.join("ping"), dir.join("ping2")).unwrap();
    tool(&dir, "setcap", &["cap_net_raw,cap_net_admin+ep", "ping"]);
    tool(&dir, "setcap", &["-n", "1000", "cap_setuid=ep", "ns"]);
    tool(&dir, "setfacl", &["-m", "u:65534:rwx,g:100:r", "shared"]);
    tool(&dir, "setfacl", &["-d", "-m", "g:100:rx", "inherits"]);
    tool(
        &dir,
        "setfattr",
        &[
            "-n",
            "security.selinux",
            "-v",
            "system_u:object_r:bin_t:s0",
            "labelled",
        ],
    );
    tool(
        &dir,
        "setfattr",
        &["-n", "user.note", "-v", "hello", "noted"],
    );
    tool(
        &dir,
        "setfattr",
        &["-n", "user.blob", "-v", "0x00ff00ff", "noted"],
    );
    tool(
        &dir,
        "setfattr",
        &["-h", "-n", "trusted.tag", "-v", "x", "link"],
    );

    let records = library_scan(&dir, true);
    let ping = attrs_of(&records, "ping");
    assert_eq!(
        ping.text(Attribute::Caps),
        getcap(&dir, &["ping"]),
        "as getcap shows it"
    );
    assert_eq!(ping.text(Attribute::Caps), "cap_net_admin,cap_net_raw=ep");
    assert_eq!(attrs_of(&records, "ping2"), ping, "one inode, one set");
    let ns = attrs_of(&records, "ns");
    assert_eq!(ns.text(Attribute::Caps), getcap(&dir, &["-n", "ns"]));
    assert_eq!(ns.text(Attribute::Caps), "cap_setuid=ep [rootid=1000]");
    assert_eq!(ns.ext().caps.map(|c| c.version), Some(3));

    let shared = attrs_of(&records, "shared");
    assert_eq!(shared.text(Attribute::Acl), getfacl(&dir, &["shared"]));
    assert_eq!(
        shared.text(Attribute::Acl),
        "user::rw-,user:65534:rwx,group::r--,group:100:r--,mask::rwx,other::r--"
    );
    let inherits = attrs_of(&records, "inherits");
    assert_eq!(
        inherits.ext().default_acl.as_ref().map(ToString::to_string),
        Some(getfacl(&dir, &["-d", "inherits"]))
    );

    let labelled = attrs_of(&records, "labelled");
    assert_eq!(
        labelled.ext().selinux.as_deref(),
        Some(&b"system_u:object_r:bin_t:s0"[..])
    );
    let noted = attrs_of(&records, "noted");
    // A binary value by its digest, a short text as it is.
    assert_eq!(
        noted.text(Attribute::Xattrs),
        format!(
            "user.blob=sha256:{}/4 user.note=\"hello\"",
            sha256_hex(&[0, 0xff, 0, 0xff])
        )
    );
    // A symlink is never followed: its own xattrs, read by name.
    let link = attrs_of(&records, "link");
    assert_eq!(link.text(Attribute::Xattrs), "trusted.tag=\"x\"");
    assert_eq!(attrs_of(&records, "plain"), &Attrs::default());
    assert!(attrs_of(&records, ".").is_empty());

    // Not asked for: not recorded, and rsync's lines are the same either way.
    let without = library_scan(&dir, false);
    assert!(without.iter().all(|r| r.attrs.is_none()));
    let names = |rs: &[Record]| rs.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&without), names(&records));
    let out = run_in(tmp.path(), ["scan", "t/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("ping "), "{}", stdout(&out));
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Inode flags are recorded as lsattr shows them (less the flags the file system keeps of
/// its own accord), and a flag set is a change named `flags`.
#[test]
fn inode_flags_are_shown_as_lsattr_shows_them_and_checked() {
    if !is_root() {
        eprintln!("NOTICE: not root: SKIPPING the inode-flag cases (chattr +i needs root)");
        return;
    }
    let tmp = scratch();
    let Some((dir, _unpin)) = flags_dir(tmp.path()) else {
        return;
    };
    let t = dir.join("t");
    write(&t.join("pinned"), b"x");
    write(&t.join("log"), b"x");
    write(&t.join("free"), b"x");
    std::fs::create_dir_all(t.join("d")).unwrap();
    let base = dir.join("b.fimsum");
    let out = run_in(&dir, ["scan", "-o", "b.fimsum", "t/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    tool(&t, "chattr", &["+i", "pinned"]);
    tool(&t, "chattr", &["+a", "log"]);
    tool(&t, "chattr", &["+d", "d"]);
    let records = library_scan(&t, true);
    // lsattr's letters, less e, I and N (extents, a hashed index, inline data).
    let lsattr = |args: &[&str]| -> String {
        let out = tool(&t, "lsattr", args);
        let letters = out.split_whitespace().next().unwrap_or_default();
        letters
            .chars()
            .map(|c| if "eIN".contains(c) { '-' } else { c })
            .collect()
    };
    for (name, args) in [
        ("pinned", &["pinned"][..]),
        ("log", &["log"]),
        ("free", &["free"]),
        ("d", &["-d", "d"]),
    ] {
        let flags = attrs_of(&records, name).flags.expect("flags read");
        assert_eq!(flags.letters(), lsattr(args), "{name}");
    }
    assert_eq!(
        attrs_of(&records, "pinned").text(Attribute::Flags),
        "----i----------------- (immutable)"
    );
    assert!(attrs_of(&records, "free").is_empty());

    let out = run_in(&dir, ["check", "b.fimsum", "t/"]);
    let text = stdout(&out);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!("changed    {name}:")))
            .unwrap_or_else(|| panic!("{name} not reported: {text}"))
            .to_string()
    };
    assert!(
        line("pinned")
            .contains("flags ---------------------- -> ----i----------------- (immutable)"),
        "{text}"
    );
    assert!(
        line("log").contains("-> -----a---------------- (append_only)"),
        "{text}"
    );
    assert!(line("d/").contains("(no_dump)"), "{text}");
    assert!(!text.contains("free"), "{text}");
    // rsync's view has no flags: only the ctime chattr moved is not even shown.
    let out = run_in(&dir, ["check", "--format", "itemize", "b.fimsum", "t/"]);
    assert!(!stdout(&out).contains("pinned"), "{}", stdout(&out));
    drop(base);
}

/// A binary given capabilities, and an ACL that lets someone write, are reported with the
/// old and new values and their detectors; a baseline written before attributes existed
/// says "not recorded" and reports no change of them; `--no-attrs` records none.
#[test]
fn check_reports_attribute_changes_and_old_baselines_report_none() {
    if !is_root() {
        eprintln!("NOTICE: not root: SKIPPING the attribute check cases (setcap needs root)");
        return;
    }
    let tmp = scratch();
    let dir = tmp.path();
    // The tree a version-3 baseline in tests/data describes: `a` and `d/f`.
    write(&dir.join("t/a"), b"a\n");
    write(&dir.join("t/d/f"), b"f\n");
    std::fs::copy(
        repo().join("tests/data/v3-before-skip-fs.fimsum"),
        dir.join("b.fimsum"),
    )
    .unwrap();
    tool(&dir.join("t"), "setcap", &["cap_setuid=ep", "a"]);
    let out = run_in(dir, ["check", "b.fimsum", "t/"]);
    let text = stdout(&out);
    let no_attr_fields = |text: &str| {
        text.lines()
            .filter(|l| l.contains("changed "))
            .all(|l| !l.contains("caps ") && !l.contains("new_caps") && !l.contains("acl "))
    };
    assert!(no_attr_fields(&text), "{text}");
    assert!(
        text.contains("not recorded on one side for 4 entries"),
        "{text}"
    );
    // `update` writes version 5, which records them.
    let out = run_in(dir, ["update", "b.fimsum", "t/"]);
    assert!(code(&out) < 64, "{}", stderr(&out));
    let file = std::fs::read(dir.join("b.fimsum")).unwrap();
    let verified = fimsum::baseline::check_integrity(&file).unwrap();
    assert_eq!(verified.version, fimsum::baseline::FORMAT_VERSION);
    let out = run_in(dir, ["check", "b.fimsum", "t/"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // --quick reads no unchanged file, but still its attributes: the same ones.
    let out = run_in(dir, ["check", "--quick", "b.fimsum", "t/"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("2 of 2 files trusted"), "{text}");
    assert!(!text.contains("not recorded"), "{text}");
    // A trusted file takes the baseline's attributes; one set since moved the ctime, so
    // that file is read, and the change seen.
    tool(
        &dir.join("t"),
        "setfattr",
        &["-n", "user.planted", "-v", "1", "d/f"],
    );
    let out = run_in(dir, ["check", "--quick", "b.fimsum", "t/"]);
    let text = stdout(&out);
    assert!(text.contains("1 of 2 files trusted"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("d/f") && l.contains("xattrs") && l.contains("user.planted")),
        "{text}"
    );
    tool(&dir.join("t"), "setfattr", &["-x", "user.planted", "d/f"]);

    // Capabilities widened, an ACL that lets nobody write, a new binary with capabilities.
    tool(
        &dir.join("t"),
        "setcap",
        &["cap_setuid,cap_sys_admin=ep", "a"],
    );
    tool(&dir.join("t"), "setfacl", &["-m", "u:65534:rw", "d/f"]);
    write(&dir.join("t/d/helper"), b"#!/bin/sh\n");
    tool(
        &dir.join("t"),
        "setcap",
        &["cap_dac_override=ep", "d/helper"],
    );
    let out = run_in(dir, ["check", "b.fimsum", "t/"]);
    let text = stdout(&out);
    let line = |name: &str| {
        text.lines()
            .find(|l| {
                l.contains(&format!(" {name}:"))
                    || l.ends_with(&format!(" {name}"))
                    || l.contains(&format!(" {name}  ["))
            })
            .unwrap_or_else(|| panic!("{name} not reported: {text}"))
            .to_string()
    };
    let a = line("a");
    assert!(a.starts_with("critical changed    a: "), "{text}");
    assert!(
        a.contains("caps cap_setuid=ep -> cap_setuid,cap_sys_admin=ep"),
        "{text}"
    );
    assert!(
        a.ends_with("  [caps_added cap_setuid,cap_sys_admin=ep]"),
        "{text}"
    );
    assert_eq!(
        line("d/helper"),
        "critical added      d/helper  [new_caps cap_dac_override=ep]"
    );
    let f = line("d/f");
    assert!(f.contains(": mode 0644 -> 0664; "), "{text}");
    assert!(
        f.contains("; acl - -> user::rw-,user:65534:rw-,group::r--,mask::rw-,other::r--"),
        "{text}"
    );
    assert!(f.ends_with("  [acl_grants_write user:65534]"), "{text}");
    let out = run_in(dir, ["check", "--format", "json", "b.fimsum", "t/"]);
    let json = stdout(&out);
    let helper = json
        .lines()
        .find(|l| l.contains("\"path\":\"d/helper\""))
        .unwrap_or_else(|| panic!("{json}"));
    let helper: serde_json::Value = serde_json::from_str(helper).unwrap();
    assert_eq!(helper["detectors"], serde_json::json!(["new_caps"]));
    assert_eq!(helper["new"]["attrs"]["caps"], "cap_dac_override=ep");
    assert_eq!(helper["new"]["attrs"]["flags"], "----------------------");
    let a = json
        .lines()
        .find(|l| l.contains("\"path\":\"a\""))
        .unwrap_or_else(|| panic!("{json}"));
    let a: serde_json::Value = serde_json::from_str(a).unwrap();
    assert!(
        a["fields"].as_array().unwrap().contains(&"caps".into()),
        "{a}"
    );
    assert_eq!(a["old"]["attrs"]["caps"], "cap_setuid=ep");
    // The SIEM formats: the field names, the detector and both sides' capabilities.
    for format in ["ecs", "ocsf"] {
        let out = run_in(dir, ["check", "--format", format, "b.fimsum", "t/"]);
        let events: Vec<serde_json::Value> = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let a = events
            .iter()
            .find(|e| {
                e["file"]["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/t/a"))
            })
            .unwrap_or_else(|| panic!("{format}: no event for a"));
        let ns = if format == "ecs" {
            &a["fimsum"]
        } else {
            &a["unmapped"]["fimsum"]
        };
        assert!(
            ns["fields"].as_array().unwrap().contains(&"caps".into()),
            "{a}"
        );
        assert_eq!(ns["detectors"], serde_json::json!(["caps_added"]), "{a}");
        assert_eq!(ns["attrs"]["caps"], "cap_setuid,cap_sys_admin=ep", "{a}");
        assert_eq!(ns["old"]["attrs"]["caps"], "cap_setuid=ep", "{a}");
    }

    // --no-attrs: nothing recorded, so nothing compared, and it says so.
    let out = run_in(dir, ["check", "--no-attrs", "b.fimsum", "t/"]);
    let text = stdout(&out);
    assert!(no_attr_fields(&text), "{text}");
    assert!(text.contains("not recorded on one side"), "{text}");
    let out = run_in(dir, ["scan", "--no-attrs", "-o", "n.fimsum", "t/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut records = fimsum::baseline::Baseline::open(&dir.join("n.fimsum"))
        .unwrap()
        .records();
    assert!(records.all(|r| r.unwrap().attrs.is_none()));
}

/// Immutable or append-only newly set in a system directory is high (a cryptominer pins
/// its files so); the same in a tree elsewhere is an ordinary change.
#[test]
fn immutable_in_a_system_directory_is_a_finding() {
    if !is_root() {
        eprintln!("NOTICE: not root: SKIPPING the system-directory flag case");
        return;
    }
    let tmp = match tempfile::tempdir_in("/etc") {
        Ok(tmp) => tmp,
        Err(e) => {
            eprintln!("NOTICE: cannot make a directory in /etc ({e}): SKIPPING");
            return;
        }
    };
    if !takes_flags(tmp.path()) {
        eprintln!("NOTICE: /etc's file system has no inode flags: SKIPPING");
        return;
    }
    let _unpin = Unpin {
        dir: tmp.path().to_path_buf(),
        mounted: None,
    };
    let t = tmp.path().join("t");
    write(&t.join("cron.job"), b"* * * * * root /tmp/.x\n");
    let state = scratch();
    let source = contents_dir(&t);
    let args = |first: &[&str]| -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = first.iter().map(Into::into).collect();
        args.push(source.clone());
        args
    };
    let out = run_in(state.path(), args(&["scan", "-o", "b.fimsum"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    tool(&t, "chattr", &["+i", "cron.job"]);
    let out = run_in(state.path(), args(&["check", "b.fimsum"]));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("changed    cron.job: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.ends_with("  [immutable_in_system_dir ----i----------------- (immutable)]"),
        "{text}"
    );
    assert!(
        line.starts_with("high") || line.starts_with("critical"),
        "{text}"
    );
}

fn contents_dir(dir: &Path) -> std::ffi::OsString {
    let mut s = dir.as_os_str().to_os_string();
    s.push("/");
    s
}
