//! `verify-packages` end to end: a fake dpkg database under `--root`, then the real host.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Output;

use fimsum::hash::Algorithm;
use serde_json::Value;

use crate::util::{code, is_root, repo, run_in, scratch, stderr, stdout, write, TestCommand};

fn md5_hex(data: &[u8]) -> String {
    Algorithm::Md5.digest(data).to_hex()
}

/// What each package file should hold, and what the fake `tools` package says it holds.
const TOOLS: [(&str, &[u8]); 7] = [
    ("usr/bin/good", b"good"),
    ("usr/bin/modified", b"original"),
    ("usr/bin/missing", b"missing"),
    ("usr/bin/symlinked", b"symlinked"),
    ("usr/bin/writable", b"writable"),
    ("usr/bin/tool", b"tools' tool"),
    ("usr/share/doc/tools/README", b"readme"),
];

/// A Debian-like root with two installed packages: `tools` (the files above and the
/// conffile /etc/tools.conf) and `diverter`, which diverts tools' /usr/bin/tool to
/// /usr/bin/tool.distrib and ships its own. dpkg was told not to install docs. Every file
/// starts out as shipped.
fn fake_root(root: &Path) {
    let status = format!(
        "Package: tools\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\
         Conffiles:\n /etc/tools.conf {}\nDescription: test tools\n\n\
         Package: diverter\nStatus: install ok installed\nArchitecture: all\nVersion: 1.0\n\n\
         Package: removed\nStatus: deinstall ok config-files\nArchitecture: all\n",
        md5_hex(b"conf\n")
    );
    write(&root.join("var/lib/dpkg/status"), status.as_bytes());
    let sums: String = TOOLS
        .iter()
        .map(|(path, data)| format!("{}  {path}\n", md5_hex(data)))
        .collect();
    write(
        &root.join("var/lib/dpkg/info/tools.md5sums"),
        sums.as_bytes(),
    );
    write(
        &root.join("var/lib/dpkg/info/diverter.md5sums"),
        format!("{}  usr/bin/tool\n", md5_hex(b"diverter's tool")).as_bytes(),
    );
    write(
        &root.join("var/lib/dpkg/diversions"),
        b"/usr/bin/tool\n/usr/bin/tool.distrib\ndiverter\n",
    );
    write(
        &root.join("etc/dpkg/dpkg.cfg.d/nodoc"),
        b"path-exclude=/usr/share/doc/*\n",
    );
    for (path, data) in TOOLS {
        if !path.starts_with("usr/share/doc/") {
            write(&root.join(path), data);
        }
    }
    std::fs::rename(root.join("usr/bin/tool"), root.join("usr/bin/tool.distrib")).unwrap();
    write(&root.join("usr/bin/tool"), b"diverter's tool");
    write(&root.join("etc/tools.conf"), b"conf\n");
}

/// Run `verify-packages --root ROOT` with more arguments.
fn verify(root: &Path, args: &[&str]) -> Output {
    let mut all = vec!["verify-packages", "--root", root.to_str().unwrap()];
    all.extend_from_slice(args);
    run_in(root, all)
}

/// The finding lines. Not being root, the tests' files are not root's: that owner finding
/// is then left out (it is checked as root below).
fn findings(out: &Output) -> Vec<String> {
    let root = is_root();
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .filter(|l| root || !l.starts_with("owner "))
        .map(str::to_string)
        .collect()
}

/// The exit code expected: when not root, every file has the owner finding (bit 4).
fn bits(expected: i32) -> i32 {
    if is_root() {
        expected
    } else {
        expected | 4
    }
}

#[test]
fn verify_packages_reports_each_problem_with_its_exit_bit() {
    let tmp = scratch();
    let root = tmp.path().join("image");
    fake_root(&root);
    let out = verify(&root, &[]);
    assert_eq!(code(&out), bits(0), "{:?} {}", findings(&out), stderr(&out));
    assert_eq!(findings(&out), Vec::<String>::new());
    assert!(
        stderr(&out).contains("checked 9 files of 2 packages: 0 changed, 0 missing,"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("; 1 not installed by dpkg's path-exclude"));

    write(&root.join("usr/bin/modified"), b"trojan");
    std::fs::remove_file(root.join("usr/bin/missing")).unwrap();
    // debsums follows this link and passes the file: its target has the right content.
    write(&root.join("opt/copy"), b"symlinked");
    std::fs::remove_file(root.join("usr/bin/symlinked")).unwrap();
    symlink("../../opt/copy", root.join("usr/bin/symlinked")).unwrap();
    std::fs::set_permissions(
        root.join("usr/bin/writable"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    write(&root.join("etc/tools.conf"), b"edited\n");
    let out = verify(&root, &[]);
    assert_eq!(
        findings(&out),
        [
            format!(
                "changed    /etc/tools.conf  (tools, conffile: md5 expected {}, found {})",
                md5_hex(b"conf\n"),
                md5_hex(b"edited\n")
            ),
            "missing    /usr/bin/missing  (tools)".to_string(),
            format!(
                "changed    /usr/bin/modified  (tools: md5 expected {}, found {})",
                md5_hex(b"original"),
                md5_hex(b"trojan")
            ),
            "type       /usr/bin/symlinked  (tools: a symlink instead of a regular file)"
                .to_string(),
            "mode       /usr/bin/writable  (tools: world-writable, mode 0666)".to_string(),
        ]
    );
    assert_eq!(code(&out), bits(4 | 2));
    let summary = if is_root() {
        "checked 9 files of 2 packages: 2 changed, 1 missing, 1 of the wrong type, \
         1 with a wrong mode or owner, 0 unreadable; 0 set-id files to review"
    } else {
        "checked 9 files of 2 packages: 2 changed, 1 missing, 1 of the wrong type, "
    };
    assert!(stderr(&out).contains(summary), "{}", stderr(&out));

    // JSON: one object per finding, then the summary.
    let out = verify(&root, &["--format", "json", "--threads", "3"]);
    assert_eq!(code(&out), bits(4 | 2));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .filter(|v: &Value| v["problem"] != "owner" || is_root())
        .collect();
    let modified = &lines[2];
    assert_eq!(modified["type"], "finding");
    assert_eq!(modified["path"], "/usr/bin/modified");
    assert_eq!(modified["problem"], "changed");
    assert_eq!(modified["package"], "tools");
    assert_eq!(modified["conffile"], false);
    assert_eq!(modified["expected_md5"], md5_hex(b"original"));
    assert_eq!(modified["found_md5"], md5_hex(b"trojan"));
    assert_eq!(lines[0]["conffile"], true);
    assert_eq!(lines[1]["problem"], "missing");
    assert_eq!(lines[3]["kind"], "symlink");
    assert_eq!(lines[4]["mode"], "0666");
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["schema"], fimsum::report::JSON_SCHEMA_VERSION);
    assert_eq!(summary["checked"], 9);
    assert_eq!(summary["packages"], 2);
    let counts = serde_json::json!({"changed": 2, "missing": 1, "type": 1, "mode": 1,
        "owner": summary["findings"]["owner"], "override": 0, "setid": 0, "unreadable": 0});
    assert_eq!(summary["findings"], counts);
    assert_eq!(summary["excluded"], 1);
    assert_eq!(summary["warnings"], serde_json::json!([]));
    assert_eq!(lines.len(), 6);

    // Put everything back but the diverted file, which is checked where it was moved to.
    fake_root(&root);
    std::fs::remove_file(root.join("usr/bin/symlinked")).unwrap();
    write(&root.join("usr/bin/symlinked"), b"symlinked");
    std::fs::set_permissions(
        root.join("usr/bin/writable"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    write(&root.join("usr/bin/tool.distrib"), b"patched");
    let out = verify(&root, &["--format", "json"]);
    assert_eq!(code(&out), bits(4), "{}", stdout(&out));
    let first: Value = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .find(|v: &Value| v["problem"] == "changed")
        .unwrap();
    assert_eq!(first["path"], "/usr/bin/tool.distrib");
    assert_eq!(first["listed_as"], "/usr/bin/tool");
    assert_eq!(first["expected_md5"], md5_hex(b"tools' tool"));
    write(&root.join("usr/bin/tool.distrib"), b"tools' tool");

    // Set-id files are listed for review and set no exit bit.
    std::fs::set_permissions(
        root.join("usr/bin/good"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    let out = verify(&root, &[]);
    assert_eq!(
        findings(&out),
        ["setid      /usr/bin/good  (tools: set-id, mode 4755)"]
    );
    assert_eq!(code(&out), bits(0));

    // A directory on the way that cannot be resolved: incomplete.
    std::fs::rename(root.join("usr/bin"), root.join("usr/bin.real")).unwrap();
    symlink("bin", root.join("usr/bin")).unwrap();
    let out = verify(&root, &[]);
    assert_eq!(code(&out), bits(8), "{:?}", findings(&out));
    assert_eq!(findings(&out).len(), 7, "{:?}", findings(&out));
    assert!(findings(&out)[0].starts_with(
        "unreadable /usr/bin/good  (tools: its directory: Too many levels of symbolic links"
    ));
}

#[test]
fn verify_packages_stays_inside_the_root() {
    let tmp = scratch();
    let root = tmp.path().join("image");
    fake_root(&root);
    // An absolute symlink in an image means the image's /opt, never the host's.
    std::fs::rename(root.join("usr/bin"), root.join("opt")).unwrap();
    symlink("/opt", root.join("usr/bin")).unwrap();
    let out = verify(&root, &[]);
    assert_eq!(code(&out), bits(0), "{:?}", findings(&out));
}

#[test]
fn verify_packages_checks_owners_as_root() {
    if !is_root() {
        eprintln!("not root: skipped");
        return;
    }
    let tmp = scratch();
    let root = tmp.path().join("image");
    fake_root(&root);
    std::os::unix::fs::chown(root.join("usr/bin/good"), Some(4242), None).unwrap();
    let out = verify(&root, &[]);
    assert_eq!(
        findings(&out),
        ["owner      /usr/bin/good  (tools: owned by uid 4242, not root)"]
    );
    assert_eq!(code(&out), bits(4));
}

#[test]
fn verify_packages_without_a_dpkg_database_exits_66_naming_the_path() {
    let tmp = scratch();
    let out = verify(tmp.path(), &[]);
    assert_eq!(code(&out), 66);
    let status = tmp.path().join("var/lib/dpkg/status");
    assert!(
        stderr(&out).starts_with(&format!("fimsum: {}: no dpkg database", status.display())),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

/// On a Debian-like host: the findings for a few well-known files agree with `md5sum` and
/// the digests dpkg lists for them.
#[test]
fn verify_packages_on_this_host_agrees_with_md5sum() {
    let info = Path::new("/var/lib/dpkg/info");
    if !Path::new("/var/lib/dpkg/status").exists() || !info.is_dir() {
        eprintln!("no dpkg database: skipped");
        return;
    }
    let out = TestCommand::new(repo())
        .args(["verify-packages", "--format", "json"])
        .run();
    assert!((0..16).contains(&code(&out)), "{}", stderr(&out));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert!(summary["checked"].as_u64().unwrap() > 100, "{summary}");

    // What dpkg lists for each file (merged /usr: `bin/ls` means `/usr/bin/ls`).
    let wanted = ["usr/bin/ls", "usr/bin/cat", "usr/bin/bash", "usr/bin/dpkg"];
    let mut listed = std::collections::HashMap::new();
    for entry in std::fs::read_dir(info).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md5sums") {
            for line in std::fs::read_to_string(&path).unwrap_or_default().lines() {
                let Some((sum, file)) = line.split_once("  ") else {
                    continue;
                };
                let file = file.strip_prefix("usr/").unwrap_or(file);
                if let Some(w) = wanted.iter().find(|w| w[4..] == *file) {
                    listed.insert(*w, sum.to_string());
                }
            }
        }
    }
    let mut compared = 0;
    for file in wanted {
        let (Some(sum), true) = (listed.get(file), Path::new("/").join(file).is_file()) else {
            continue;
        };
        let md5sum = std::process::Command::new("md5sum")
            .arg(Path::new("/").join(file))
            .output()
            .expect("md5sum runs");
        let actual = String::from_utf8(md5sum.stdout).unwrap();
        let actual = actual.split_whitespace().next().unwrap().to_string();
        let path = format!("/{file}");
        let finding = lines
            .iter()
            .find(|v| v["path"] == path.as_str() && v["problem"] == "changed");
        match finding {
            None => assert_eq!(&actual, sum, "{path}: no finding, but md5sum differs"),
            Some(f) => {
                assert_eq!(f["found_md5"], actual.as_str(), "{path}");
                assert_eq!(f["expected_md5"], sum.as_str(), "{path}");
            }
        }
        compared += 1;
    }
    assert!(compared > 0, "none of {wanted:?} is a package file here");
}
