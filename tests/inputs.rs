//! Input files that are not what they should be: a FIFO, a directory or a device where a
//! file is named, lists and logs that are malformed, hostile or without end. Each must be
//! refused promptly with the exit code of its kind and a message naming the path.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::{code, fimsum, scratch, stderr, stdout, write};

/// Run `cmd` to its end, or kill it after `limit` and fail: a run that blocks is the defect.
fn run_within(mut cmd: Command, limit: Duration, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fimsum starts");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = fimsum();
    cmd.current_dir(dir).args(args);
    run_within(cmd, Duration::from_secs(10), &format!("{args:?}"))
}

fn mkfifo(path: &Path) {
    rustix::fs::mkfifoat(rustix::fs::CWD, path, rustix::fs::Mode::from(0o600)).expect("mkfifo");
}

/// A small tree `src/`, its baseline `base`, its log `log`, and a key pair `k.key`/`k.pub`.
fn setup(dir: &Path) {
    write(&dir.join("src/a"), b"a\n");
    write(&dir.join("src/d/b"), b"b\n");
    let out = run(dir, &["scan", "-o", "base", "src/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(dir, &["scan", "src/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::write(dir.join("log"), &out.stdout).unwrap();
    let out = run(dir, &["key", "generate", "k"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_fifo_given_as_any_input_file_is_refused_without_hanging() {
    let tmp = scratch();
    let dir = tmp.path();
    setup(dir);
    mkfifo(&dir.join("fifo"));
    // A dpkg database whose status file is a FIFO.
    std::fs::create_dir_all(dir.join("root/var/lib/dpkg/info")).unwrap();
    mkfifo(&dir.join("root/var/lib/dpkg/status"));
    // A config that names the FIFO as an IOC list.
    write(&dir.join("ioc.toml"), b"ioc = [\"fifo\"]\n");
    let cases: &[(&[&str], i32)] = &[
        (&["config", "--config", "fifo"], 78),
        (&["check", "--config", "fifo", "base"], 78),
        (&["scan", "--ioc", "fifo", "src/"], 66),
        (&["check", "--config", "ioc.toml", "base"], 66),
        (&["scan", "--exclude-from", "fifo", "src/"], 66),
        (&["scan", "-o", "signed", "--sign-key", "fifo", "src/"], 78),
        (
            &["import", "log", "-o", "imported", "--sign-key", "fifo"],
            78,
        ),
        (&["show", "--verify-key", "fifo", "base"], 78),
        (&["show", "fifo"], 66),
        (&["check", "fifo"], 66),
        (&["update", "fifo"], 66),
        (&["diff", "fifo", "base"], 66),
        (&["diff", "base", "fifo"], 66),
        (&["diff", "log", "fifo"], 66),
        (&["import", "fifo", "-o", "imported"], 66),
        (&["verify-packages", "--root", "root"], 66),
    ];
    for (args, want) in cases {
        let out = run(dir, args);
        assert_eq!(code(&out), *want, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("fifo: is a FIFO, not a regular file")
                || stderr(&out).contains("status: is a FIFO, not a regular file"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert!(!dir.join("signed").exists() && !dir.join("imported").exists());
}

#[test]
fn a_directory_given_as_a_baseline_or_log_is_said_to_be_a_directory() {
    let tmp = scratch();
    let dir = tmp.path();
    setup(dir);
    for args in [
        &["show", "src"][..],
        &["check", "src"],
        &["diff", "src", "base"],
        &["diff", "base", "src"],
        &["import", "src", "-o", "imported"],
    ] {
        let out = run(dir, args);
        assert_eq!(code(&out), 66, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("src: is a directory, not a regular file"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn ioc_list_errors_exit_66_when_missing_and_65_when_malformed() {
    let tmp = scratch();
    let dir = tmp.path();
    setup(dir);
    let out = run(dir, &["scan", "--ioc", "absent.txt", "src/"]);
    assert_eq!(code(&out), 66, "{}", stderr(&out));
    assert!(stderr(&out).contains("absent.txt: "), "{}", stderr(&out));
    write(
        &dir.join("bad.txt"),
        b"# a list\nd41d8cd98f00b204e9800998ecf8427e  empty\nnot a hash\n",
    );
    for args in [
        &["scan", "--ioc", "bad.txt", "src/"][..],
        &["check", "--ioc", "bad.txt", "base"],
    ] {
        let out = run(dir, args);
        assert_eq!(code(&out), 65, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("bad.txt: line 3: "),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

const MD5_A: &str = "60b725f10c9c85c70d97880dfe8191b3"; // md5 of "a\n"

#[test]
fn import_of_a_log_with_a_name_fimsum_refuses_fails_and_keeps_the_previous_baseline() {
    let tmp = scratch();
    let dir = tmp.path();
    setup(dir);
    let out = run(
        dir,
        &["import", "--cc", "md5", "--full", "log", "-o", "imported"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let before = std::fs::read(dir.join("imported")).unwrap();
    let blank = " ".repeat(32);
    let bad_lines = [
        format!("/etc/passwd {MD5_A}"),
        format!("sub/../../etc/shadow {MD5_A}"),
        format!("../x {MD5_A}"),
        format!("a//b {MD5_A}"),
        format!("a/./b {MD5_A}"),
        format!("a/ {MD5_A}"),
        format!("a// {blank}"),
        format!("/ {blank}"),
    ];
    for bad in &bad_lines {
        // The bad line third, after lines that are fine, so that writing has begun.
        let text = format!("./ {blank}\na {MD5_A}\n{bad}\n");
        std::fs::write(dir.join("bad.log"), text).unwrap();
        let out = run(
            dir,
            &[
                "import", "--cc", "md5", "--full", "bad.log", "-o", "imported",
            ],
        );
        assert_eq!(code(&out), 65, "{bad:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("bad.log: line 3: invalid entry name"),
            "{bad:?}: {}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read(dir.join("imported")).unwrap(),
            before,
            "{bad:?}: the previous baseline is untouched"
        );
        let out = run(dir, &["show", "imported"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        // diff reads logs with the same reader.
        let out = run(
            dir,
            &[
                "diff", "--cc", "md5", "--full", "--format", "rsync", "base", "bad.log",
            ],
        );
        assert_eq!(code(&out), 65, "{bad:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{bad:?}");
    }
}

/// A baseline of one file whose name is replaced by `name` (of 20 bytes) and whose digest
/// is made to match, as someone who can write the baseline would.
fn crafted_baseline(dir: &Path, name: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    let real = b"nnnnnnnnnnnnnnnnnnnn";
    assert_eq!(name.len(), real.len());
    write(&dir.join("tree").join("nnnnnnnnnnnnnnnnnnnn"), b"s\n");
    let out = run(dir, &["scan", "-o", "real", "tree/nnnnnnnnnnnnnnnnnnnn"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut bytes = std::fs::read(dir.join("real")).unwrap();
    // The header's sources hold the name too; the record comes last.
    let at = bytes
        .windows(real.len())
        .rposition(|w| w == real)
        .expect("the name is in the baseline");
    bytes[at..at + real.len()].copy_from_slice(name);
    // Unsigned: the file ends with the 8-byte end magic and the SHA-256 of all before it.
    let end = bytes.len() - 40;
    let digest = sha2::Sha256::digest(&bytes[..end]);
    let len = bytes.len();
    bytes[len - 32..].copy_from_slice(&digest);
    bytes
}

#[test]
fn a_baseline_with_a_dotdot_name_is_refused_not_reported_as_deleting_outside_the_tree() {
    let tmp = scratch();
    let dir = tmp.path();
    setup(dir);
    // The patching itself is sound: an equally long harmless name is read back.
    std::fs::write(
        dir.join("same"),
        crafted_baseline(dir, b"sub-etc-shadowxxxxxx"),
    )
    .unwrap();
    let out = run(dir, &["show", "same"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for name in [
        &b"sub/../../etc/shadow"[..],
        b"/etc/shadowxxxxxxxxx",
        b"sub//etc/shadowxxxxx",
        b"sub/./etc/shadowxxxx",
        b"sub/etc/shadowxxxxx/",
    ] {
        std::fs::write(dir.join("crafted"), crafted_baseline(dir, name)).unwrap();
        for args in [
            &["show", "crafted"][..],
            &["diff", "--format", "rsync", "crafted", "base"],
            &["check", "--format", "rsync", "crafted", "tree/"],
        ] {
            let out = run(dir, args);
            assert_eq!(code(&out), 65, "{name:?} {args:?}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("crafted: ") && stderr(&out).contains("invalid entry name"),
                "{name:?} {args:?}: {}",
                stderr(&out)
            );
            assert!(!stdout(&out).contains("etc/shadow"), "{name:?} {args:?}");
        }
    }
}

#[test]
fn scan_of_a_dotdot_source_lists_its_contents_as_rsync_does() {
    let tmp = scratch();
    let dir = tmp.path();
    write(&dir.join("s/x/f"), b"f\n");
    let mut rsync = Command::new("rsync");
    rsync.current_dir(dir.join("s/x")).args([
        "-a",
        "--checksum",
        "--checksum-choice=md5",
        "--out-format=%n %C",
        "..",
    ]);
    let dest = dir.join("dest/");
    let Ok(expected) = rsync.arg(&dest).output() else {
        eprintln!("skipped: rsync not installed");
        return;
    };
    assert!(expected.status.success());
    for src in ["..", "../x/.."] {
        let out = run(&dir.join("s/x"), &["scan", src]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(stdout(&out), stdout(&expected), "{src}");
        let out = run(&dir.join("s/x"), &["scan", "-o", "../../b", src]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let out = run(dir, &["show", "b"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
}

#[test]
fn a_huge_log_without_newlines_is_refused_in_bounded_memory() {
    let tmp = scratch();
    let dir = tmp.path();
    setup(dir);
    // Sparse: 3 GB of NULs that cost no disk.
    let big = std::fs::File::create(dir.join("big")).unwrap();
    big.set_len(3 << 30).unwrap();
    drop(big);
    for args in [
        "import big -o imported",
        "import --cc md5 big -o imported",
        "diff base big",
        "diff big base",
        "diff --cc md5 base big",
    ] {
        let mut cmd = Command::new("bash");
        cmd.current_dir(dir).env("LC_ALL", "C.UTF-8").args([
            "-c",
            &format!(
                "ulimit -v 1000000; exec {} {args}",
                env!("CARGO_BIN_EXE_fimsum")
            ),
        ]);
        let out = run_within(cmd, Duration::from_secs(10), args);
        assert_eq!(code(&out), 65, "{args}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("big: line 1: longer than 65536 bytes"),
            "{args}: {}",
            stderr(&out)
        );
    }
    assert!(!dir.join("imported").exists());
}

#[test]
fn absurd_counts_are_refused_before_any_work() {
    let tmp = scratch();
    let dir = tmp.path();
    setup(dir);
    for args in [
        &["scan", "--threads", "18446744073709551615", "src/"][..],
        &["scan", "--threads", "1025", "src/"],
        &["check", "--threads", "18446744073709551615", "base"],
        &["update", "--threads", "100000", "base"],
        &["verify-packages", "--threads", "18446744073709551615"],
    ] {
        let out = run(dir, args);
        assert_eq!(code(&out), 64, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("--threads") && stderr(&out).contains("1024"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = run(dir, &["scan", "--threads", "1024", "src/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let config = dir.join("keep.toml");
    std::fs::write(
        &config,
        "baseline = \"base\"\nkeep = 18446744073709551615\n",
    )
    .unwrap();
    for args in [
        &["config", "--config", "keep.toml"][..],
        &["update", "--config", "keep.toml"],
    ] {
        let out = run(dir, args);
        assert_eq!(code(&out), 78, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("keep.toml:2:"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// Two baselines of one file that moved to another filesystem under the same inode number.
#[test]
fn an_inode_change_across_filesystems_shows_the_filesystems_not_inode_2_to_2() {
    use fimsum::baseline::{BaselineWriter, Header, Origin};
    use fimsum::hash::Algorithm;
    use fimsum::record::{Content, Kind, Meta, Record, Timestamp};
    let tmp = scratch();
    let dir = tmp.path();
    let header = Header {
        algorithm: Algorithm::Md5,
        origin: Origin::Scan,
        sources: vec![b"/srv/".to_vec()],
        roots: vec![b"/srv/".to_vec()],
        one_file_system: fimsum::scan::walk::OneFileSystem::OFF,
        filters: Vec::new(),
        host: "h".into(),
        created: Timestamp::default(),
        generation: 1,
        fimsum_version: "0".into(),
        extra_digests: Vec::new(),
        skip_fs: None,
        listing: None,
    };
    let makedev = |major: u64, minor: u64| (major << 8) | minor;
    for (name, dev) in [("old", makedev(8, 1)), ("new", makedev(8, 2))] {
        let mut writer = BaselineWriter::create(&dir.join(name), &header).unwrap();
        writer
            .append(&Record {
                name: b"data".to_vec(),
                kind: Kind::Dir,
                meta: Some(Meta {
                    mode: 0o755,
                    ino: 2,
                    dev,
                    nlink: 3,
                    ..Meta::default()
                }),
                link_target: None,
                content: Content::NotAFile,
                extra: Vec::new(),
                attrs: None,
                snapshot: None,
            })
            .unwrap();
        writer.finish().unwrap();
    }
    let out = run(dir, &["diff", "old", "new"]);
    let text = stdout(&out);
    assert_eq!(code(&out), 4, "{text}{}", stderr(&out));
    assert!(
        text.contains("inode 2 (filesystem 8:1) -> 2 (filesystem 8:2)"),
        "{text}"
    );
    let out = run(dir, &["diff", "--format", "json", "old", "new"]);
    let text = stdout(&out);
    assert!(
        text.contains(r#""filesystem":"8:1""#) && text.contains(r#""filesystem":"8:2""#),
        "{text}"
    );
}
