//! rsync's -R beyond the recorded cases: a check of a baseline made with it, absolute
//! sources (whose names hold the path of the test's directory, so no recording fits
//! them), and a symlink planted among the directories above a source, before or during
//! the scan.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use fimsum::hash::Algorithm;
use fimsum::scan::walk::WalkOptions;
use fimsum::scan::{HookRef, Hooks};

use crate::util::{
    code, rsync_available, run_in, scan_options, scan_source, scratch, stderr, stdout, write,
};

/// The `%n` names of scan lines.
fn names(text: &str) -> Vec<&str> {
    text.lines()
        .map(|l| l.split(' ').next().unwrap_or(l))
        .collect()
}

/// What rsync prints for these arguments, run in `dir` into a new destination.
fn rsync_lines(dir: &Path, args: &[&str]) -> String {
    let dest = scratch();
    let out = Command::new("rsync")
        .current_dir(dir)
        .env("LC_ALL", "C.UTF-8")
        .args(["--checksum", "--checksum-choice=md5", "--out-format=%n %C"])
        .args(args)
        .arg(format!("{}/", dest.path().display()))
        .output()
        .expect("rsync runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A baseline made with -R is checked with -R: an unchanged tree reports nothing, a
/// changed file is reported under its -R name, and what is beside the sources is not
/// listed at all.
#[test]
fn check_after_relative_scan_rescans_with_relative_names() {
    let tmp = scratch();
    let d = tmp.path();
    write(&d.join("src/d/sub/f"), b"one\n");
    write(&d.join("src/d/other"), b"beside\n");
    write(&d.join("src/top.txt"), b"top\n");
    let abs = format!("{}/src/top.txt", d.display());
    let out = run_in(d, ["scan", "-rR", "src/d/sub", &abs]);
    assert_eq!(code(&out), 64, "/ beside . is refused: {}", stderr(&out));
    // Two bases: `src/d/sub` from `.`, `top.txt` from `src`.
    let args = [
        "scan",
        "-o",
        "b.fimsum",
        "-rR",
        "src/d/sub",
        "src/./top.txt",
    ];
    let out = run_in(d, args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run_in(d, ["check", "b.fimsum", "--format", "rsync"]);
    assert_eq!(code(&out), 0, "unchanged: {}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out), "");
    write(&d.join("src/top.txt"), b"top, changed\n");
    let out = run_in(d, ["check", "b.fimsum", "--format", "rsync"]);
    let text = stdout(&out);
    assert!(text.lines().any(|l| l.starts_with("top.txt ")), "{text}");
    write(&d.join("src/d/sub/f"), b"two\n");
    write(&d.join("src/d/other"), b"changed beside\n");
    let out = run_in(d, ["check", "b.fimsum", "--format", "rsync"]);
    let text = stdout(&out);
    assert_eq!(code(&out) & 7, 4, "{text}{}", stderr(&out));
    let md5 = Algorithm::Md5.digest(b"two\n").to_hex();
    assert!(text.contains(&format!("src/d/sub/f {md5}")), "{text}");
    assert!(!text.contains("other"), "{text}");
    // A new file inside the listed directory is new; one beside it is not listed.
    write(&d.join("src/d/sub/new"), b"new\n");
    write(&d.join("src/d/new2"), b"new\n");
    let out = run_in(d, ["check", "b.fimsum", "--format", "rsync"]);
    let text = stdout(&out);
    assert!(names(&text).contains(&"src/d/sub/new"), "{text}");
    assert!(!text.contains("new2"), "{text}");
}

/// `-R /abs/path`: rsync names every entry by its full path, each directory above it
/// listed (found by running it: no recording can hold the test directory's path).
#[test]
fn an_absolute_source_is_named_from_the_root() {
    let tmp = scratch();
    let d = tmp.path().canonicalize().unwrap();
    write(&d.join("a/b/f"), b"f\n");
    write(&d.join("a/g"), b"g\n");
    let src = format!("{}/a/b", d.display());
    let out = run_in(&d, ["scan", "-rR", "--no-attrs", &src]);
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    let mut want: Vec<String> = Vec::new();
    let mut above = String::new();
    for part in d.join("a/b").iter().skip(1) {
        above.push('/');
        above.push_str(&part.to_string_lossy());
        want.push(format!("{above}/"));
    }
    want.push(format!("{src}/f"));
    assert_eq!(names(&text), want, "{text}");
    // A baseline's names are relative: it takes the source anchored, not as it is.
    let out = run_in(&d, ["scan", "-o", "b.fimsum", "-rR", &src]);
    assert_eq!(code(&out), 64, "{}", stderr(&out));
    assert!(stderr(&out).contains("anchor"), "{}", stderr(&out));
    if rsync_available("comparing -R /abs/path with rsync") {
        let lines = |args: &[&str]| (rsync_lines(&d, args), stdout(&run_in(&d, args_for(args))));
        fn args_for<'a>(args: &'a [&'a str]) -> Vec<&'a str> {
            std::iter::once("scan")
                .chain(args.iter().copied())
                .collect()
        }
        for args in [
            vec!["-rR", src.as_str()],
            vec!["-rR", "--no-implied-dirs", src.as_str()],
            vec!["-tR", src.as_str()],
        ] {
            let (want, got) = lines(&args);
            assert_eq!(got, want, "{args:?}");
        }
    }
}

/// A symlink among the directories above a -R source: rsync follows it (its implied
/// directories are sent with copy_links set); fimsum does not, lists what is above it,
/// names the source and exits with bit 8.
#[test]
fn a_symlink_above_a_source_is_not_followed() {
    let tmp = scratch();
    let d = tmp.path();
    write(&d.join("outside/secret"), b"secret\n");
    std::fs::create_dir_all(d.join("src")).unwrap();
    std::os::unix::fs::symlink("../outside", d.join("src/link")).unwrap();
    let out = run_in(d, ["scan", "-rR", "src/link/secret"]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(code(&out), 8, "{text}{err}");
    assert_eq!(names(&text), ["src/"], "{text}");
    assert!(err.contains("src/link/secret"), "{err}");
    assert!(!text.contains("secret"), "{text}");
    if rsync_available("comparing a symlink above a -R source with rsync") {
        let theirs = rsync_lines(d, &["-rR", "src/link/secret"]);
        assert!(
            theirs.contains("src/link/secret "),
            "rsync follows it: {theirs}"
        );
    }
}

/// Swaps a directory for a symlink to elsewhere the first time the walk is about to
/// enter `target`.
struct Swap {
    target: &'static [u8],
    done: AtomicBool,
    from: std::path::PathBuf,
    to: std::path::PathBuf,
}

impl Hooks for Swap {
    fn before_descend(&self, name: &[u8]) {
        if name == self.target && !self.done.swap(true, Ordering::SeqCst) {
            std::fs::rename(&self.from, self.from.with_extension("moved")).unwrap();
            std::os::unix::fs::symlink(&self.to, &self.from).unwrap();
        }
    }
}

/// An implied directory of an anchored source swapped for a symlink while the walk goes
/// down to the source: it is opened relative to its parent with O_NOFOLLOW, so nothing
/// of where the symlink leads is listed, and the problem names the directory.
#[test]
fn an_implied_directory_swapped_for_a_symlink_leads_nowhere() {
    let tmp = scratch();
    let p = tmp.path();
    write(&p.join("base/a/b/c/f"), b"f\n");
    write(&p.join("outside/c/shadow"), b"root-only secret\n");
    let swap = Swap {
        target: b"a/b",
        done: AtomicBool::new(false),
        from: p.join("base/a/b"),
        to: p.join("outside"),
    };
    let mut walk = WalkOptions::new(0, Vec::new()).unwrap();
    walk.listing.relative = true;
    walk.hooks = HookRef::new(Arc::new(swap));
    let options = scan_options(Algorithm::Md5, 2, walk);
    let mut source = p.join("base").as_os_str().as_bytes().to_vec();
    source.extend_from_slice(b"/./a/b/c");
    let (records, problems) = scan_source(&source, &options, None);
    let listed: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.name).into_owned())
        .collect();
    assert!(!listed.iter().any(|n| n.contains("shadow")), "{listed:?}");
    assert!(listed.contains(&"a".to_string()), "{listed:?}");
    assert!(!listed.contains(&"a/b/c/f".to_string()), "{listed:?}");
    assert!(
        problems.iter().any(|p| p.starts_with("a/b: ")),
        "{problems:?}"
    );
}

/// A config's `relative = true` (rsync's -R over its roots; anchored here, as the
/// directories above the test's are shared and change) and `files_from` (the names of a
/// list below the one root): `init`, then `check` finds
/// nothing, then a changed file is reported under the name the listing gave it, and a
/// file outside the listing is not looked at.
#[test]
fn config_relative_and_files_from_init_and_check() {
    let tmp = scratch();
    let d = tmp.path().canonicalize().unwrap();
    write(&d.join("src/etc/passwd"), b"root:x:0:0::/root:/bin/sh\n");
    write(&d.join("src/bin/ls"), b"ls\n");
    write(&d.join("src/data/other"), b"other\n");
    write(&d.join("names.txt"), b"etc/passwd\nbin\n");
    let root = d.join("src");
    for (name, keys) in [
        (
            "relative",
            format!(
                "roots = [\"{0}/./src/etc\", \"{0}/./src/bin\"]\nrelative = true\n",
                d.display()
            ),
        ),
        (
            "files-from",
            format!(
                "roots = [\"{}\"]\nfiles_from = \"names.txt\"\n",
                root.display()
            ),
        ),
    ] {
        write(&d.join("src/etc/passwd"), b"root:x:0:0::/root:/bin/sh\n");
        let cfg = d.join(format!("{name}.toml"));
        let text = format!(
            "{keys}baseline = \"{}\"\nexclude = []\n",
            d.join(format!("state/{name}.fimsum")).display()
        );
        write(&cfg, text.as_bytes());
        let cfg = cfg.to_str().unwrap();
        let out = run_in(&d, ["init", "--config", cfg]);
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        let out = run_in(&d, ["check", "--config", cfg, "--format", "rsync"]);
        assert_eq!(code(&out), 0, "{name}: {}{}", stdout(&out), stderr(&out));
        write(&d.join("src/data/other"), b"changed, not listed\n");
        let out = run_in(&d, ["check", "--config", cfg, "--format", "rsync"]);
        assert_eq!(code(&out), 0, "{name}: {}{}", stdout(&out), stderr(&out));
        write(&d.join("src/etc/passwd"), b"root:x:0:0::/root:/bin/bash\n");
        let out = run_in(&d, ["check", "--config", cfg, "--format", "rsync"]);
        let text = stdout(&out);
        assert_eq!(code(&out) & 7, 4, "{name}: {text}{}", stderr(&out));
        let want = match name {
            "relative" => "src/etc/passwd ".to_string(),
            _ => "etc/passwd ".to_string(),
        };
        assert!(text.lines().any(|l| l.starts_with(&want)), "{name}: {text}");
    }
}
