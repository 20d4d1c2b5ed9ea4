//! The commands end to end: exit codes, check/diff/show/import round trips.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::util::{code, fimsum, run_in, scratch, stderr, stdout, write};

fn tree(root: &Path) {
    write(
        &root.join("etc/passwd"),
        b"root:x:0:0:root:/root:/bin/bash\n",
    );
    write(&root.join("etc/hosts"), b"127.0.0.1 localhost\n");
    write(&root.join("bin/tool"), b"\x7fELF binary");
    write(&root.join("bin/empty"), b"");
    std::os::unix::fs::symlink("tool", root.join("bin/alias")).expect("symlink");
}

#[test]
fn check_of_an_unchanged_tree_is_silent_and_exits_zero() {
    let tmp = scratch();
    let src = tmp.path().join("src");
    tree(&src);
    let base = tmp.path().join("base.fimsum");
    let out = run_in(tmp.path(), ["scan", "-o", "base.fimsum", "src/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "scan -o prints nothing on stdout");
    // check rescans the absolute roots recorded in the baseline, from any directory.
    let out = run_in(
        Path::new("/"),
        [std::ffi::OsStr::new("check"), base.as_os_str()],
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).starts_with("0 added, 0 removed, 0 changed, 0 moved, 0 unverified"));
}

#[test]
fn check_reports_each_kind_of_change_with_its_exit_bit() {
    let tmp = scratch();
    let src = tmp.path().join("src");
    tree(&src);
    assert_eq!(code(&run_in(tmp.path(), ["scan", "-o", "b", "src/"])), 0);

    // Adding a file also changes its directory's mtime, which is reported too.
    write(&src.join("etc/new"), b"x");
    let out = run_in(tmp.path(), ["check", "b"]);
    // Outside every rule of the built-in policy: medium, every attribute counts.
    let lines: Vec<String> = stdout(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("medium   "))
        .map(|l| l.split(" -> ").next().unwrap().to_string())
        .collect();
    assert_eq!(code(&out), 1 | 4);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("changed    etc/: mtime "), "{lines:?}");
    assert_eq!(lines[1], "added      etc/new");
    std::fs::remove_file(src.join("etc/new")).unwrap();

    std::fs::remove_file(src.join("bin/empty")).unwrap();
    let out = run_in(tmp.path(), ["check", "b"]);
    assert_eq!(code(&out), 2 | 4);
    assert!(
        stdout(&out).contains("medium   removed    bin/empty"),
        "{}",
        stdout(&out)
    );
    write(&src.join("bin/empty"), b"");

    // Same size, new content, old mtime put back: still caught by the checksum.
    let mtime = std::fs::metadata(src.join("etc/passwd"))
        .unwrap()
        .modified()
        .unwrap();
    write(
        &src.join("etc/passwd"),
        b"root:x:0:0:r00t:/root:/bin/bash\n",
    );
    std::fs::File::options()
        .write(true)
        .open(src.join("etc/passwd"))
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let out = run_in(tmp.path(), ["check", "b"]);
    let text = stdout(&out);
    assert_eq!(code(&out) & 4, 4, "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("etc/passwd"))
        .expect("passwd reported");
    assert!(
        line.starts_with("medium   changed    etc/passwd: content "),
        "{line}"
    );
    assert!(!line.contains("mtime"), "mtime was restored: {line}");
}

#[test]
fn json_lines_parse_and_name_old_and_new_values() {
    let tmp = scratch();
    let src = tmp.path().join("src");
    tree(&src);
    assert_eq!(code(&run_in(tmp.path(), ["scan", "-o", "b", "src/"])), 0);
    std::fs::remove_file(src.join("bin/alias")).unwrap();
    std::os::unix::fs::symlink("elsewhere", src.join("bin/alias")).unwrap();
    let out = run_in(tmp.path(), ["check", "--format", "json", "b"]);
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect();
    let change = lines
        .iter()
        .find(|v| v["path"] == "bin/alias")
        .expect("alias changed");
    assert_eq!(change["type"], "change");
    assert_eq!(change["change"], "modified");
    assert!(change["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "target"));
    assert_eq!(change["old"]["target"], "tool");
    assert_eq!(change["new"]["target"], "elsewhere");
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["changed"].as_u64(), Some(lines.len() as u64 - 1));
}

#[test]
fn show_and_import_round_trip_with_rsync_text() {
    let tmp = scratch();
    let src = tmp.path().join("src");
    tree(&src);
    write(
        &src.join(std::ffi::OsStr::from_bytes(b"odd/new\nline \\#123 \xff")),
        b"hostile",
    );
    let scan = run_in(tmp.path(), ["scan", "src"]);
    assert_eq!(code(&scan), 0);
    std::fs::write(tmp.path().join("log"), &scan.stdout).unwrap();
    assert_eq!(
        code(&run_in(
            tmp.path(),
            ["import", "--cc", "md5", "--full", "log", "-o", "imported"]
        )),
        0
    );
    let shown = run_in(tmp.path(), ["show", "imported"]);
    assert_eq!(
        shown.stdout, scan.stdout,
        "import then show gives the log back byte for byte"
    );
    assert_eq!(code(&run_in(tmp.path(), ["scan", "-o", "full", "src"])), 0);
    assert_eq!(run_in(tmp.path(), ["show", "full"]).stdout, scan.stdout);
    // A log and a baseline of the same tree agree.
    let out = run_in(tmp.path(), ["diff", "--cc", "md5", "--full", "log", "full"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn diff_of_two_baselines_and_a_log() {
    let tmp = scratch();
    let src = tmp.path().join("src");
    tree(&src);
    assert_eq!(code(&run_in(tmp.path(), ["scan", "-o", "old", "src/"])), 0);
    write(&src.join("etc/hosts"), b"10.0.0.1 evil\n");
    std::fs::remove_file(src.join("bin/tool")).unwrap();
    write(&src.join("bin/new"), b"n");
    assert_eq!(code(&run_in(tmp.path(), ["scan", "-o", "new", "src/"])), 0);
    let out = run_in(tmp.path(), ["diff", "old", "new"]);
    assert_eq!(code(&out), 1 | 2 | 4, "{}", stdout(&out));
    let log = run_in(tmp.path(), ["scan", "src/"]);
    std::fs::write(tmp.path().join("new.log"), &log.stdout).unwrap();
    let out = run_in(
        tmp.path(),
        ["diff", "--cc", "md5", "--full", "old", "new.log"],
    );
    assert_eq!(code(&out), 1 | 2 | 4, "{}", stdout(&out));
    assert!(stdout(&out).contains("only presence and checksums are compared"));
    // Different algorithms: checksums are not compared, and the output says so.
    assert_eq!(
        code(&run_in(
            tmp.path(),
            ["scan", "--cc", "sha1", "-o", "sha", "src/"]
        )),
        0
    );
    let out = run_in(tmp.path(), ["diff", "new", "sha"]);
    assert!(
        stdout(&out).contains("checksums not compared: md5 against sha1"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn usage_errors_exit_64_and_missing_input_66() {
    let tmp = scratch();
    for args in [
        vec!["bogus"],
        vec!["scan"],
        vec!["scan", "--cc", "md6", "."],
        vec!["check", "--quick-sample", "5"],
    ] {
        let out = run_in(tmp.path(), &args);
        assert_eq!(code(&out), 64, "{args:?}");
    }
    assert_eq!(code(&run_in(tmp.path(), ["check", "nope.fimsum"])), 66);
    assert_eq!(code(&run_in(tmp.path(), ["--help"])), 0);
    assert_eq!(code(&run_in(tmp.path(), ["--version"])), 0);
}

#[test]
fn missing_source_is_reported_and_the_scan_goes_on() {
    let tmp = scratch();
    tree(&tmp.path().join("src"));
    let out = run_in(tmp.path(), ["scan", "nope", "src"]);
    assert_eq!(code(&out), 8);
    assert!(stderr(&out).contains("nope"));
    assert!(stdout(&out).contains("src/etc/passwd "));
}

#[test]
fn broken_pipe_ends_quietly() {
    let tmp = scratch();
    for i in 0..3000 {
        write(&tmp.path().join(format!("d/f{i}")), b"x");
    }
    let mut child = fimsum()
        .current_dir(tmp.path())
        .args(["scan", "d/"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0);
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn the_baseline_inside_the_scanned_tree_is_never_a_change() {
    let tmp = scratch();
    tree(tmp.path());
    let out = run_in(tmp.path(), ["scan", "-o", "base.fimsum", "./"]);
    assert_eq!(code(&out), 0);
    let shown = stdout(&run_in(tmp.path(), ["show", "base.fimsum"]));
    assert!(!shown.contains("base.fimsum"), "{shown}");
    // Rewriting it in place keeps it out too.
    assert_eq!(
        code(&run_in(tmp.path(), ["scan", "-o", "base.fimsum", "./"])),
        0
    );
    let out = run_in(tmp.path(), ["check", "base.fimsum"]);
    let text = stdout(&out);
    assert!(!text.contains("base.fimsum"), "{text}");
}

#[test]
fn quick_check_trusts_only_unchanged_metadata_and_catches_a_restored_mtime() {
    let tmp = scratch();
    let src = tmp.path().join("src");
    tree(&src);
    assert_eq!(code(&run_in(tmp.path(), ["scan", "-o", "b", "src/"])), 0);
    let out = run_in(tmp.path(), ["check", "--quick", "b"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("--quick: 4 of 4 files trusted"),
        "{}",
        stdout(&out)
    );
    // Same size, new content, mtime put back: ctime changed, so the file is read.
    let passwd = src.join("etc/passwd");
    let mtime = std::fs::metadata(&passwd).unwrap().modified().unwrap();
    write(&passwd, b"root:x:0:0:r00t:/root:/bin/bash\n");
    std::fs::File::options()
        .write(true)
        .open(&passwd)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let out = run_in(tmp.path(), ["check", "--quick", "b"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("changed    etc/passwd: content "),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("--quick: 3 of 4 files trusted"),
        "{}",
        stdout(&out)
    );
    // A full sample rehashes everything.
    let out = run_in(
        tmp.path(),
        ["check", "--quick", "--quick-sample", "100", "b"],
    );
    assert!(
        stdout(&out).contains("--quick: 0 of 4 files trusted"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        code(&run_in(tmp.path(), ["check", "--quick-sample", "5", "b"])),
        64
    );
}

/// Two different 128-byte messages with the same MD5 (Wang et al., 2004): what an attacker
/// who can craft a file sees in an MD5-only baseline.
const MD5_COLLISION: [&str; 2] = [
    "d131dd02c5e6eec4693d9a0698aff95c2fcab58712467eab4004583eb8fb7f89\
     55ad340609f4b30283e488832571415a085125e8f7cdc99fd91dbdf280373c5b\
     d8823e3156348f5bae6dacd436c919c6dd53e2b487da03fd02396306d248cda0\
     e99f33420f577ee8ce54b67080a80d1ec69821bcb6a8839396f9652b6ff72a70",
    "d131dd02c5e6eec4693d9a0698aff95c2fcab50712467eab4004583eb8fb7f89\
     55ad340609f4b30283e4888325f1415a085125e8f7cdc99fd91dbd7280373c5b\
     d8823e3156348f5bae6dacd436c919c6dd53e23487da03fd02396306d248cda0\
     e99f33420f577ee8ce54b67080280d1ec69821bcb6a8839396f965ab6ff72a70",
];

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Write `data` over `path` and put its mtime back, as someone covering their tracks would.
fn rewrite_keeping_mtime(path: &Path, data: &[u8]) {
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    write(path, data);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
}

#[test]
fn extra_digests_are_stored_checked_and_reported() {
    use fimsum::hash::{Algorithm, HashKind};
    let tmp = scratch();
    let src = tmp.path().join("src");
    tree(&src);
    let out = run_in(
        tmp.path(),
        ["scan", "-o", "b", "--digest", "sha256", "src/"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    // The baseline carries the sha256 of every file, beside the md5.
    let base = fimsum::baseline::Baseline::open(&tmp.path().join("b")).unwrap();
    assert_eq!(base.header.extra_digests, vec![HashKind::Sha256]);
    let passwd_bytes = std::fs::read(src.join("etc/passwd")).unwrap();
    let passwd = base
        .records()
        .map(Result::unwrap)
        .find(|r| r.name == b"etc/passwd")
        .unwrap();
    assert_eq!(
        passwd.extra,
        vec![(HashKind::Sha256, HashKind::Sha256.digest(&passwd_bytes))]
    );
    // `show` prints the same `%n %C` lines as without extras.
    assert_eq!(
        code(&run_in(tmp.path(), ["scan", "-o", "plain", "src/"])),
        0
    );
    assert_eq!(
        run_in(tmp.path(), ["show", "b"]).stdout,
        run_in(tmp.path(), ["show", "plain"]).stdout
    );

    // An unchanged tree: nothing to report, read in full or trusted with --quick.
    let out = run_in(tmp.path(), ["check", "b"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let out = run_in(tmp.path(), ["check", "--quick", "b"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("4 of 4 files trusted"),
        "{}",
        stdout(&out)
    );

    // A changed file is reported, its digests in the JSON report.
    rewrite_keeping_mtime(
        &src.join("etc/passwd"),
        b"root:x:0:0:r00t:/root:/bin/bash
",
    );
    let out = run_in(tmp.path(), ["check", "--format", "json", "b"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    let change: serde_json::Value = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["path"] == "etc/passwd")
        .expect("passwd reported");
    // The content, and the ctime that a rewrite cannot keep.
    assert_eq!(change["fields"], serde_json::json!(["content", "ctime"]));
    assert_eq!(
        change["old"]["digests"]["sha256"],
        HashKind::Sha256.digest(&passwd_bytes).to_hex()
    );
    let now = std::fs::read(src.join("etc/passwd")).unwrap();
    assert_eq!(
        change["new"]["digests"]["sha256"],
        HashKind::Sha256.digest(&now).to_hex()
    );

    // An MD5 collision: the md5 stays, only the sha256 sees the new content.
    let [a, b] = MD5_COLLISION.map(unhex);
    assert_ne!(a, b);
    assert_eq!(Algorithm::Md5.digest(&a), Algorithm::Md5.digest(&b));
    write(&src.join("bin/tool"), &a);
    assert_eq!(
        code(&run_in(
            tmp.path(),
            ["scan", "-o", "b", "--digest", "sha256", "src/"]
        )),
        0
    );
    rewrite_keeping_mtime(&src.join("bin/tool"), &b);
    for quick in [false, true] {
        let args: &[&str] = if quick {
            &["check", "--quick", "b"]
        } else {
            &["check", "b"]
        };
        let out = run_in(tmp.path(), args);
        let text = stdout(&out);
        assert_eq!(code(&out), 4, "{text}");
        let line = text.lines().find(|l| l.contains("bin/tool")).expect("tool");
        assert!(
            line.starts_with(&format!(
                "medium   changed    bin/tool: content sha256 {} -> {}, checksum unchanged ({}): a checksum collision",
                HashKind::Sha256.digest(&a),
                HashKind::Sha256.digest(&b),
                Algorithm::Md5.digest(&a)
            )),
            "{line}"
        );
    }
    // rsync, comparing only md5, would miss it; the rsync format still lists it.
    let out = run_in(tmp.path(), ["check", "--format", "rsync", "b"]);
    assert!(stdout(&out).contains("bin/tool "), "{}", stdout(&out));
    // Without --digest the same collision goes unseen: what the extra digest is for.
    write(&src.join("bin/tool"), &a);
    assert_eq!(
        code(&run_in(tmp.path(), ["scan", "-o", "md5only", "src/"])),
        0
    );
    rewrite_keeping_mtime(&src.join("bin/tool"), &b);
    // (Only its ctime betrays the rewrite.)
    let out = run_in(tmp.path(), ["check", "md5only"]);
    let text = stdout(&out);
    let line = text.lines().find(|l| l.contains("bin/tool")).unwrap_or("");
    assert!(!line.contains("content"), "{text}");
}

#[test]
fn digest_lists_are_normalised_and_misuse_is_a_usage_error() {
    use fimsum::hash::HashKind;
    let tmp = scratch();
    tree(&tmp.path().join("src"));
    // Repeated or comma-separated, any order, any case; the checksum itself is not repeated.
    let out = run_in(
        tmp.path(),
        [
            "scan",
            "--cc",
            "sha1",
            "-o",
            "b",
            "--digest",
            "SHA256,sha1",
            "--digest",
            "md5",
            "--digest",
            "sha256",
            "src/",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let base = fimsum::baseline::Baseline::open(&tmp.path().join("b")).unwrap();
    assert_eq!(
        base.header.extra_digests,
        vec![HashKind::Md5, HashKind::Sha256]
    );
    assert_eq!(code(&run_in(tmp.path(), ["check", "b"])), 0);

    let usage = |args: &[&str], says: &str| {
        let out = run_in(tmp.path(), args);
        let err = stderr(&out);
        assert_eq!(code(&out), 64, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    };
    // sha256 is no rsync checksum: the error says where it can go.
    usage(&["scan", "--cc", "sha256", "src/"], "--digest sha256");
    usage(
        &["scan", "--checksum-choice", "SHA256", "-o", "c", "src/"],
        "--digest",
    );
    usage(&["diff", "--cc", "sha256", "b", "b"], "--digest");
    // The `%n %C` lines have no place for more digests.
    usage(&["scan", "--digest", "sha256", "src/"], "--digest needs -o");
    usage(
        &["scan", "-o", "c", "--digest", "sha512", "src/"],
        "unknown digest",
    );
    usage(
        &["scan", "-o", "c", "--digest", "xxh128", "src/"],
        "md5, sha1, sha256",
    );
    assert!(!tmp.path().join("c").exists());
}

/// The man pages and completions in dist/ are what the current binary generates
/// (scripts/gen-dist.sh regenerates them).
#[test]
fn man_pages_and_completions_in_dist_are_current() {
    let dist = crate::util::repo().join("dist");
    let mut pages = vec![(vec!["man".to_string()], "man/fimsum.1".to_string())];
    for c in command_names(&dist) {
        pages.push((vec!["man".into(), c.clone()], format!("man/fimsum-{c}.1")));
    }
    for s in ["bash", "zsh", "fish"] {
        pages.push((
            vec!["completions".into(), s.into()],
            format!("completions/fimsum.{s}"),
        ));
    }
    for (args, file) in pages {
        let out = run_in(&dist, &args);
        assert_eq!(code(&out), 0, "{args:?}");
        assert!(out.stdout.len() > 500, "{args:?}: too short to be real");
        let committed = std::fs::read(dist.join(&file)).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "dist/{file} is out of date: run scripts/gen-dist.sh"
        );
    }
    let page = String::from_utf8(run_in(&dist, ["man", "scan"]).stdout).unwrap();
    for option in [
        "checksum\\-choice",
        "exclude\\-from",
        "one\\-file\\-system",
        "threads",
        "kernel",
        "digest",
    ] {
        assert!(page.contains(option), "fimsum-scan(1) lacks --{option}");
    }
    assert_eq!(code(&run_in(&dist, ["man", "nope"])), 64);
}

/// Every command of `fimsum --help`, nested ones joined with `-` as their pages are named
/// (`key-generate`), in help order; clap's `help` is no command of ours.
fn command_names(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, path: &[String], names: &mut Vec<String>) {
        let mut args = path.to_vec();
        args.push("--help".into());
        let out = run_in(dir, &args);
        assert_eq!(code(&out), 0, "{args:?}");
        let help = String::from_utf8(out.stdout).expect("help is UTF-8");
        let commands = help
            .lines()
            .skip_while(|l| *l != "Commands:")
            .skip(1)
            .take_while(|l| !l.is_empty());
        for line in commands {
            let name = line.split_whitespace().next().expect("a command name");
            if name == "help" {
                continue;
            }
            let mut sub = path.to_vec();
            sub.push(name.to_string());
            names.push(sub.join("-"));
            walk(dir, &sub, names);
        }
    }
    let mut names = Vec::new();
    walk(dir, &[], &mut names);
    names
}

/// dist/man holds a page for each command and nothing else; every page carries the version
/// in its title line, and every page it names exists.
#[test]
fn every_command_has_a_man_page_with_the_version() {
    let dir = crate::util::repo().join("dist/man");
    let names = command_names(&dir);
    for required in [
        "scan",
        "init",
        "update",
        "config",
        "man",
        "completions",
        "key-generate",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "{required} not in {names:?}"
        );
    }
    let mut expected: Vec<String> = names.iter().map(|n| format!("fimsum-{n}.1")).collect();
    expected.push("fimsum.1".into());
    expected.sort();
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .expect("dist/man")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    assert_eq!(present, expected, "dist/man: run scripts/gen-dist.sh");
    let version = env!("CARGO_PKG_VERSION");
    for file in &present {
        let text = std::fs::read_to_string(dir.join(file)).expect("page is UTF-8");
        let title = file.trim_end_matches(".1");
        let th = format!(".TH {title} 1  \"{title} {version}\"");
        assert!(
            text.lines().any(|l| l.trim_end() == th),
            "{file}: no title line {th:?}"
        );
        // A SUBCOMMANDS entry or a reference in the text: `fimsum\-key\-generate(1)`.
        for (at, _) in text.match_indices("(1)") {
            let start = text[..at]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '\\'))
                .map_or(0, |i| i + 1);
            let page = text[start..at].replace("\\-", "-");
            if page.starts_with("fimsum") && page != "fimsum-COMMAND" {
                assert!(
                    dir.join(format!("{page}.1")).exists(),
                    "{file} names {page}(1)"
                );
            }
        }
    }
    for page in ["fimsum.1", "fimsum-scan.1"] {
        let text = std::fs::read_to_string(dir.join(page)).expect("page");
        assert!(
            text.contains("\n.SH \"EXIT STATUS\"\n"),
            "{page}: no EXIT STATUS"
        );
    }
    let top = std::fs::read_to_string(dir.join("fimsum.1")).expect("fimsum.1");
    assert!(top.contains("\n.SH EXAMPLES\n"), "fimsum(1): no EXAMPLES");
    for code in ["0", "8", "16", "64", "65", "66", "74", "75", "78"] {
        assert!(
            top.contains(&format!("\n.TP\n\\fB{code}\\fR")),
            "fimsum(1): no exit {code}"
        );
    }
}

/// The progress display is drawn on a terminal only, and `--quiet` and `--verbose` do what
/// they say. `script` gives fimsum a pseudo-terminal.
#[test]
fn progress_only_on_a_terminal() {
    let tmp = scratch();
    let src = tmp.path().join("src");
    tree(&src);
    assert_eq!(code(&run_in(tmp.path(), ["scan", "-o", "b", "src/"])), 0);
    // Not a terminal: nothing on stderr.
    let out = run_in(tmp.path(), ["check", "b"]);
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let out = run_in(tmp.path(), ["check", "--verbose", "b"]);
    assert!(
        stderr(&out).contains("fimsum: etc/passwd"),
        "{}",
        stderr(&out)
    );
    let Ok(status) = std::process::Command::new("script")
        .arg("--version")
        .output()
    else {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    };
    assert!(status.status.success());
    let bin = env!("CARGO_BIN_EXE_fimsum");
    let on_tty = |extra: &str| {
        let out = std::process::Command::new("script")
            .current_dir(tmp.path())
            .args(["-qec", &format!("{bin} check {extra} b"), "/dev/null"])
            .output()
            .expect("script runs");
        stdout(&out)
    };
    // The bar of a check (its total is the baseline's entry count) ends with an ETA.
    let text = on_tty("");
    assert!(text.contains("ETA"), "{text}");
    assert!(!on_tty("--quiet").contains("ETA"));
}

/// Under a low limit on open files (a hard limit of 256, which fimsum cannot raise) a scan
/// of a tree whose files wait for one slow reading thread gives the same output as without
/// it and reports nothing: the files the walk opens ahead of the reader stay well below the
/// limit, never leaving the reader without an fd ("Too many open files" would be reported
/// as unreadable files).
#[test]
fn a_low_open_file_limit_is_never_reached() {
    let tmp = scratch();
    let src = tmp.path().join("src");
    let body = vec![b'x'; 16 << 10];
    for i in 0..4000 {
        write(&src.join(format!("d{}/f{i:04}", i % 4)), &body);
    }
    let scan = |limit: &str| {
        let cmd = format!(
            "{limit} exec \"$0\" scan --threads 1 --quiet src/",
            limit = limit
        );
        std::process::Command::new("bash")
            .current_dir(tmp.path())
            .args(["-c", &cmd, env!("CARGO_BIN_EXE_fimsum")])
            .output()
            .expect("bash runs")
    };
    let free = scan("");
    let limited = scan("ulimit -n 256 &&");
    assert_eq!(code(&free), 0, "{}", stderr(&free));
    assert_eq!(stderr(&limited), "", "problems under the limit");
    assert_eq!(code(&limited), 0);
    assert_eq!(limited.stdout, free.stdout);
    assert_eq!(free.stdout.split(|&c| c == b'\n').count(), 4000 + 5 + 1);
}
