//! `fimsum scan` against real rsync output recorded in baselines/rsync by
//! scripts/record-rsync.sh (CI re-records it with live rsync and fails on drift).

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::util::{code, fixtures, is_root, repo, stdout, TestCommand};

struct Case {
    name: String,
    cwd: String,
    args: Vec<String>,
    algos: Vec<String>,
    locales: Vec<String>,
}

fn cases(manifest: &str) -> Vec<Case> {
    let text =
        std::fs::read_to_string(repo().join("baselines/rsync").join(manifest)).expect("manifest");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "bad manifest line {l:?}");
            Case {
                name: f[0].into(),
                cwd: f[1].into(),
                args: f[2].split(' ').map(String::from).collect(),
                algos: f[3].split(',').map(String::from).collect(),
                locales: f[4].split(',').map(String::from).collect(),
            }
        })
        .collect()
}

/// The listing manifests, cases-listing.tsv and one cases-listing-TOPIC.tsv a topic, in
/// the order record-rsync.sh runs them.
fn listing_manifests() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("baselines/rsync"))
        .expect("baselines/rsync")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cases-listing") && n.ends_with(".tsv"))
        .collect();
    names.sort();
    names
}

fn locale_tag(locale: &str) -> &'static str {
    if locale == "C" {
        "c"
    } else {
        "utf8"
    }
}

/// How to run fimsum for a case.
#[derive(Clone, Copy)]
struct Run<'a> {
    threads: Option<&'a str>,
    /// `--kernel` to force.
    kernel: Option<&'a str>,
    /// Run as uid/gid 65534 (through setpriv), as the recorder ran rsync.
    as_nobody: bool,
}

const PLAIN: Run = Run {
    threads: None,
    kernel: None,
    as_nobody: false,
};

/// Run one case; return a description of the mismatch, if any.
fn check_case(root: &Path, case: &Case, algo: &str, locale: &str, run: Run) -> Option<String> {
    let base = format!("{}.{algo}.{}", case.name, locale_tag(locale));
    let dir = repo().join("baselines/rsync");
    let expected = std::fs::read(dir.join(format!("{base}.out"))).expect("recorded output");
    let rsync_rc: i32 = std::fs::read_to_string(dir.join(format!("{base}.rc")))
        .map(|s| s.trim().parse().expect("rc file holds a number"))
        .unwrap_or(0);
    let root_str = root.to_str().expect("fixture path is UTF-8");
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| a.replace("@ROOT@", root_str))
        .collect();
    let cwd = root.join(&case.cwd);
    let mut cmd = if run.as_nobody {
        TestCommand::as_nobody(&cwd)
    } else {
        TestCommand::new(&cwd)
    };
    // rsync was recorded under `env -i`: no $HOME/.cvsignore, no $CVSIGNORE for -C.
    cmd = cmd
        .env("LC_ALL", locale)
        .env("HOME", "/nonexistent")
        .env("CVSIGNORE", "")
        .args(["scan", "--cc", algo]);
    if let Some(k) = run.kernel {
        cmd = cmd.args(["--kernel", k]);
    }
    if let Some(t) = run.threads {
        cmd = cmd.args(["--threads", t]);
    }
    let out = cmd.args(&args).run();
    let mut problems = Vec::new();
    // The listing cases keep rsync's skipping lines apart (see record-rsync.sh): compare
    // them, in order, apart from the other lines, in order.
    let stdout_rest = match std::fs::read(dir.join(format!("{base}.skip"))) {
        Ok(want_skipped) => {
            let (skipped, rest) = split_skipping(&out.stdout);
            if skipped != want_skipped {
                problems.push(format!(
                    "skipping lines differ:\n--- rsync\n{}\n--- fimsum\n{}",
                    String::from_utf8_lossy(&want_skipped),
                    String::from_utf8_lossy(&skipped)
                ));
            }
            rest
        }
        Err(_) => out.stdout.clone(),
    };
    if stdout_rest != expected {
        problems.push(format!(
            "stdout differs:\n--- rsync\n{}\n--- fimsum\n{}",
            String::from_utf8_lossy(&expected),
            stdout(&out)
        ));
    }
    // rsync exits 23 for a partial transfer; fimsum says "incomplete" with bit 8.
    let want = match rsync_rc {
        0 => 0,
        1 => 64, // rsync: syntax or usage error
        _ => 8,
    };
    if code(&out) != want {
        problems.push(format!(
            "exit code {} (rsync {rsync_rc}, want {want})",
            code(&out)
        ));
    }
    (!problems.is_empty()).then(|| format!("{base} {args:?}: {}", problems.join("; ")))
}

/// rsync's `skipping non-regular file "NAME"` and `skipping directory NAME` lines of an
/// output, and its other lines, each in their order.
fn split_skipping(stdout: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut skipped, mut rest) = (Vec::new(), Vec::new());
    for line in stdout.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"skipping non-regular file \"")
            || line.starts_with(b"skipping directory ")
        {
            skipped.extend_from_slice(line);
        } else {
            rest.extend_from_slice(line);
        }
    }
    (skipped, rest)
}

/// Every listing option recorded in the cases-listing*.tsv manifests (rsync run without
/// -a, each case spelling its options: -rlt, --no-l, --max-size, --files-from...) prints
/// what rsync printed, at one and at eight hashing threads.
#[test]
fn listing_options_print_what_rsync_printed() {
    let root = fixtures();
    let mut failures = Vec::new();
    let mut checked = 0;
    for threads in ["1", "8"] {
        let run = Run {
            threads: Some(threads),
            kernel: None,
            as_nobody: false,
        };
        for case in listing_manifests().iter().flat_map(|m| cases(m)) {
            for algo in &case.algos {
                for locale in &case.locales {
                    checked += 1;
                    failures.extend(check_case(root, &case, algo, locale, run));
                }
            }
        }
    }
    assert!(checked > 80, "only {checked} listing cases recorded");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Where rsync prints a skipping line among the others depends on its processes' timing;
/// fimsum prints each where the walk meets the entry, so that the output is the same on
/// every run.
#[test]
fn skipping_lines_come_where_the_walk_meets_the_entry() {
    let out = TestCommand::new(fixtures())
        .env("LC_ALL", "C.UTF-8")
        .args(["scan", "-rt", "tree/links/to-file", "specials/"])
        .run();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let name = |i: usize| lines.get(i).map(|l| l.split(' ').next().unwrap_or(l));
    assert_eq!(code(&out), 0, "{text}");
    assert_eq!(name(0), Some("./"), "{text}");
    let skip = |n: &str| format!("skipping non-regular file \"{n}\"");
    assert_eq!(lines[1], skip("\\#134#123"), "{text}");
    assert_eq!(lines[2], skip("fifo\\#012nl"), "{text}");
    assert_eq!(lines[3], skip("fifo-\\#377"), "{text}");
    assert_eq!(lines[4], skip("link caf\u{e9}"), "{text}");
    assert_eq!(name(5), Some("regular"), "{text}");
    assert_eq!(lines[6], skip("to-file"), "{text}");
    assert_eq!(name(7), Some("sub/"), "{text}");
    assert_eq!(lines[8], skip("sub/fifo"), "{text}");
    assert_eq!(lines[9], skip("sub/link"), "{text}");
    assert_eq!(lines.len(), 10, "{text}");
}

/// A directory source without -r is rsync's `skipping directory NAME` line, printed while
/// the list is built, before any other line.
#[test]
fn directory_sources_without_r_are_skipping_lines_first() {
    let out = crate::util::run_in(
        fixtures(),
        ["scan", "-lt", "tree/order/", "tree/top.txt", "tree/sizes"],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(code(&out), 0, "{text}");
    assert_eq!(
        lines[..2],
        ["skipping directory .", "skipping directory sizes"],
        "{text}"
    );
    assert!(lines[2].starts_with("top.txt "), "{text}");
    assert_eq!(lines.len(), 3, "{text}");
}

#[test]
fn scan_prints_what_rsync_printed_for_every_recorded_case() {
    let root = fixtures();
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in cases("cases.tsv") {
        for algo in &case.algos {
            for locale in &case.locales {
                checked += 1;
                failures.extend(check_case(root, &case, algo, locale, PLAIN));
            }
        }
    }
    assert!(checked > 40, "only {checked} cases recorded");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn output_is_identical_at_one_and_eight_threads() {
    let root = fixtures();
    let case = cases("cases.tsv")
        .into_iter()
        .find(|c| c.name == "tree-slash")
        .expect("tree-slash case");
    for threads in ["1", "8"] {
        for algo in ["md5", "xxh128"] {
            let run = Run {
                threads: Some(threads),
                kernel: None,
                as_nobody: false,
            };
            let failure = check_case(root, &case, algo, "C.UTF-8", run);
            assert!(
                failure.is_none(),
                "--threads {threads}: {}",
                failure.unwrap_or_default()
            );
        }
    }
}

/// As an unprivileged user: an unreadable file gets no line, an unreadable directory its own
/// line and nothing below it, and the run is incomplete. Needs root to switch user; skipped
/// (with a notice) otherwise.
#[test]
fn unreadable_entries_as_rsync_shows_them_to_an_unprivileged_user() {
    if !is_root() {
        eprintln!("skipped: needs root to run as uid 65534");
        return;
    }
    let root = fixtures();
    let run = Run {
        threads: None,
        kernel: None,
        as_nobody: true,
    };
    let mut failures = Vec::new();
    for case in cases("cases-nobody.tsv") {
        for algo in &case.algos {
            for locale in &case.locales {
                failures.extend(check_case(root, &case, algo, locale, run));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `-x` lists a mount point without entering it, `-xx` leaves it out, as rsync does. Needs
/// root to mount a tmpfs (skipped with a notice otherwise); compared with live rsync when it
/// is installed, and with the behaviour recorded in docs/rsync-behaviour.md in any case.
#[test]
fn one_file_system_stops_at_mount_points() {
    if !is_root() {
        eprintln!("skipped: needs root to mount a tmpfs");
        return;
    }
    let tmp = crate::util::scratch();
    let src = tmp.path().join("src");
    let mnt = src.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::write(src.join("g"), b"y\n").unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    }
    std::fs::write(mnt.join("inside"), b"x\n").unwrap();
    let run = |x: &str| crate::util::run_in(tmp.path(), ["scan", x, "src/"]).stdout;
    let (one, two, none) = (run("-x"), run("-xx"), run("--threads=1"));
    let rsync = |x: &str| {
        let dest = tmp.path().join(format!("dest{x}"));
        std::process::Command::new("rsync")
            .args([
                "-a",
                x,
                "--checksum",
                "--checksum-choice=md5",
                "--out-format=%n %C",
                "src/",
            ])
            .arg(&dest)
            .current_dir(tmp.path())
            .env("LC_ALL", "C.UTF-8")
            .output()
            .ok()
            .map(|o| o.stdout)
    };
    let live = (rsync("-x"), rsync("-xx"));
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(
        text(&one).contains("mnt/ ") && !text(&one).contains("mnt/inside"),
        "{}",
        text(&one)
    );
    assert!(!text(&two).contains("mnt/"), "{}", text(&two));
    assert!(text(&none).contains("mnt/inside"), "{}", text(&none));
    if let (Some(x), Some(xx)) = live {
        assert_eq!(text(&one), text(&x), "-x differs from live rsync");
        assert_eq!(text(&two), text(&xx), "-xx differs from live rsync");
    }
}

/// Every MD5 kernel this CPU has (`--kernel scalar|avx2|avx512`) prints rsync's bytes; a
/// kernel the CPU lacks is a usage error.
#[test]
fn every_md5_kernel_prints_what_rsync_printed() {
    use fimsum::hash::Kernel;
    let root = fixtures();
    let case = cases("cases.tsv")
        .into_iter()
        .find(|c| c.name == "tree-slash")
        .expect("tree-slash case");
    for kernel in Kernel::ALL {
        let run = Run {
            threads: None,
            kernel: Some(kernel.name()),
            as_nobody: false,
        };
        if kernel.is_supported() {
            let failure = check_case(root, &case, "md5", "C.UTF-8", run);
            assert!(
                failure.is_none(),
                "--kernel {kernel}: {}",
                failure.unwrap_or_default()
            );
        } else {
            let out = crate::util::run_in(root, ["scan", "--kernel", kernel.name(), "tree/"]);
            assert_eq!(code(&out), 64, "--kernel {kernel} on a CPU without it");
        }
    }
}

/// A baseline records the listing options, and `check` rescans with them: what the options
/// leave out (a symlink without -l, a FIFO without --specials, a file over --max-size, what
/// --files-from does not list) is neither reported removed nor, when new, added.
#[test]
fn check_rescans_with_the_recorded_listing() {
    let tmp = crate::util::scratch();
    let d = tmp.path();
    let src = d.join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    crate::util::write(&src.join("small"), b"x\n");
    crate::util::write(&src.join("big"), &[b'b'; 100]);
    crate::util::write(&src.join("sub/in"), b"in\n");
    std::os::unix::fs::symlink("small", src.join("link")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(src.join("fifo"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    crate::util::write(&d.join("list"), b"small\nsub/in\nlink\nbig\n");
    for (base, options) in [
        ("rt", &["-rt", "--max-size=10"][..]),
        ("files", &["-rt", "--files-from=list"][..]),
    ] {
        let mut args = vec!["scan", "-o", base];
        args.extend_from_slice(options);
        args.push("src/");
        let out = crate::util::run_in(d, &args);
        assert_eq!(code(&out), 0, "{base}: {}", crate::util::stderr(&out));
        let out = crate::util::run_in(d, ["check", base]);
        assert_eq!(code(&out), 0, "{base} unchanged: {}", stdout(&out));
    }
    // Left out by both listings: new symlinks and big files are not seen (the directory
    // they are in has a new mtime, which -t's listing shows).
    std::os::unix::fs::symlink("big", src.join("link2")).unwrap();
    crate::util::write(&src.join("big2"), &[b'c'; 100]);
    for base in ["rt", "files"] {
        let out = crate::util::run_in(d, ["check", base, "--format", "rsync"]);
        let text = stdout(&out);
        assert_eq!(code(&out) & 3, 0, "{base}, left out: {text}");
        assert!(!text.contains("link2") && !text.contains("big2"), "{text}");
    }
    // A small new file is in the -rt listing, not in the --files-from one.
    crate::util::write(&src.join("sub/new"), b"new\n");
    let out = crate::util::run_in(d, ["check", "rt", "--format", "rsync"]);
    assert_eq!(code(&out) & 3, 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("sub/new "), "{}", stdout(&out));
    let out = crate::util::run_in(d, ["check", "files", "--format", "rsync"]);
    assert_eq!(code(&out) & 3, 0, "{}", stdout(&out));
    assert!(!stdout(&out).contains("sub/new"), "{}", stdout(&out));
    // A listed file that changes is a change in both.
    crate::util::write(&src.join("sub/in"), b"changed\n");
    for base in ["rt", "files"] {
        let out = crate::util::run_in(d, ["check", base]);
        assert_eq!(code(&out) & 4, 4, "{base}: {}", stdout(&out));
    }
}

/// rsync listing options fimsum does not emulate are refused, naming the option (exit 64),
/// rather than listing something else than rsync would.
#[test]
fn options_not_emulated_are_refused_by_name() {
    for (option, named) in [
        ("-k", "-k/--copy-dirlinks"),
        ("--copy-dirlinks", "-k/--copy-dirlinks"),
        ("-m", "-m/--prune-empty-dirs"),
        ("--prune-empty-dirs", "-m/--prune-empty-dirs"),
    ] {
        let out = crate::util::run_in(fixtures(), ["scan", option, "tree/"]);
        let err = crate::util::stderr(&out);
        assert_eq!(code(&out), 64, "{option}: {err}");
        assert!(err.contains(named), "{option}: {err}");
        assert!(out.stdout.is_empty(), "{option}: {}", stdout(&out));
    }
}

/// `--copy-unsafe-links` through `--files-from` names or `-R` sources is not emulated:
/// refused by name.
#[test]
fn following_links_with_files_from_is_refused() {
    for (source, said) in [
        (
            "--files-from=filters/files.txt",
            "--files-from is not implemented",
        ),
        ("-R", "-R is not implemented"),
    ] {
        let args = ["scan", "-a", "--copy-unsafe-links", source, "tree/"];
        let out = crate::util::run_in(fixtures(), args);
        let err = crate::util::stderr(&out);
        assert_eq!(code(&out), 64, "{source}: {err}");
        assert!(err.contains(said), "{source}: {err}");
        assert!(out.stdout.is_empty(), "{source}: {}", stdout(&out));
    }
}

/// The old-rsync recipe of docs/listing.md: a night's `%i %n` log of an rsync that prints no
/// checksum, its names unescaped, NUL-separated, without the root and the deletions, fed
/// to `scan -a --no-implied-dirs --from0 --files-from=-`, gives the lines a new rsync
/// printed with `%n %C` that night (its `./` line aside). Compared with live rsync
/// (protocol 29, as an old host speaks it); skipped with a notice without it.
#[test]
fn old_rsync_names_give_new_rsync_lines() {
    use std::io::Write;
    if !crate::util::rsync_available("the old-rsync recipe test") {
        return;
    }
    let tmp = crate::util::scratch();
    let d = tmp.path();
    let rsync = |args: &[&str]| {
        let out = std::process::Command::new("rsync")
            .args(args)
            .current_dir(d)
            .env("LC_ALL", "C.UTF-8")
            .output()
            .expect("rsync runs");
        assert!(out.status.success(), "{}", crate::util::stderr(&out));
        out.stdout
    };
    std::fs::create_dir_all(d.join("src/names")).unwrap();
    std::fs::create_dir_all(d.join("src/sub/deep")).unwrap();
    crate::util::write(&d.join("src/gone"), b"gone\n");
    crate::util::write(&d.join("src/sub/deep/same"), b"same\n");
    crate::util::write(&d.join("src/sub/deep/grows"), b"1\n");
    rsync(&["-a", "src/", "old/"]);
    rsync(&["-a", "src/", "new/"]);
    // The night: a removal, new hostile names, a change deep down.
    std::fs::remove_file(d.join("src/gone")).unwrap();
    crate::util::write(&d.join("src/names/new\nline"), b"a\n");
    crate::util::write(&d.join("src/names/caf\u{e9} \\#123"), b"b\n");
    crate::util::write(
        &d.join(std::ffi::OsStr::from_bytes(b"src/names/ff-\xff")),
        b"c\n",
    );
    crate::util::write(&d.join("src/sub/deep/grows"), b"12\n");
    let names = rsync(&[
        "-a",
        "--delete",
        "--protocol=29",
        "--out-format=%i %n",
        "src/",
        "old/",
    ]);
    let want = rsync(&[
        "-a",
        "--delete",
        "--checksum",
        "--checksum-choice=md5",
        "--out-format=%n %C",
        "src/",
        "new/",
    ]);
    let mut list = Vec::new();
    for line in names.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let text = line.get(12..).unwrap_or_default();
        if line.starts_with(b"*deleting") || text == b"./" {
            continue;
        }
        let name = fimsum::rsync::escape::unescape(text);
        list.extend_from_slice(name.strip_suffix(b"/").unwrap_or(&name));
        list.push(0);
    }
    let mut child = crate::util::fimsum()
        .args([
            "scan",
            "-a",
            "--no-implied-dirs",
            "--from0",
            "--files-from=-",
            "src/",
        ])
        .current_dir(d)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("fimsum runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&list)
        .expect("list written");
    let out = child.wait_with_output().expect("fimsum ends");
    let want: Vec<u8> = want
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| !l.starts_with(b"./ ") && !l.starts_with(b"deleting "))
        .flatten()
        .copied()
        .collect();
    assert_eq!(code(&out), 0, "{}", crate::util::stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&want)
    );
    assert_eq!(out.stdout, want);
}
