//! Writing and reading baselines where another user, or a closed pipe, could make fimsum
//! (running as root) do what it should not: planted lock files and output paths, foreign
//! key files, signed baselines downgraded or renumbered, results lost to a closed stdout,
//! and temporary files left by a killed run.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Output, Stdio};

use crate::util::{code, fimsum, run_in, scratch, stderr, stdout, verified_generation, write};

fn tree(dir: &Path) {
    for i in 0..6 {
        write(
            &dir.join(format!("src/d{}/f{i}", i % 2)),
            format!("content {i}").as_bytes(),
        );
    }
}

fn ok(out: &Output) {
    assert_eq!(code(out), 0, "{}", stderr(out));
}

fn keys(dir: &Path) {
    for name in ["a", "b"] {
        ok(&run_in(dir, ["key", "generate", name]));
    }
}

#[test]
fn a_planted_lock_file_symlink_is_not_followed() {
    let tmp = scratch();
    let d = tmp.path();
    tree(d);
    std::os::unix::fs::symlink(d.join("victim"), d.join(".base.lock")).unwrap();
    let out = run_in(d, ["scan", "-o", "base", "src/"]);
    assert_eq!(code(&out), 74, "{}", stderr(&out));
    assert!(stderr(&out).contains(".base.lock"), "{}", stderr(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert!(
        !d.join("victim").exists(),
        "the symlink's target was created"
    );
    assert!(!d.join("base").exists());

    // A lock file of another user's, or with a second name, or a FIFO, is refused too.
    std::fs::remove_file(d.join(".base.lock")).unwrap();
    write(&d.join(".base.lock"), b"");
    std::os::unix::fs::chown(d.join(".base.lock"), Some(65534), Some(65534)).unwrap();
    let out = run_in(d, ["scan", "-o", "base", "src/"]);
    assert_eq!(code(&out), 74, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("owned by uid 65534"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(d.join(".base.lock")).unwrap();
    write(&d.join("secret"), b"");
    std::fs::hard_link(d.join("secret"), d.join(".base.lock")).unwrap();
    let out = run_in(d, ["scan", "-o", "base", "src/"]);
    assert_eq!(code(&out), 74, "{}", stderr(&out));
    assert!(stderr(&out).contains("2 hard links"), "{}", stderr(&out));
    std::fs::remove_file(d.join(".base.lock")).unwrap();
    rustix::fs::mkfifoat(rustix::fs::CWD, d.join(".base.lock"), 0o600.into()).unwrap();
    let out = run_in(d, ["scan", "-o", "base", "src/"]);
    assert_eq!(code(&out), 74, "{}", stderr(&out));
    assert!(stderr(&out).contains("FIFO"), "{}", stderr(&out));
    // Its own lock file is used again, run after run.
    std::fs::remove_file(d.join(".base.lock")).unwrap();
    ok(&run_in(d, ["scan", "-o", "base", "src/"]));
    ok(&run_in(d, ["scan", "-o", "base", "src/"]));
}

#[test]
fn an_output_path_that_is_a_device_or_fifo_is_not_replaced() {
    let tmp = scratch();
    let d = tmp.path();
    tree(d);
    let out = run_in(d, ["scan", "-o", "/dev/null", "src/"]);
    assert_eq!(code(&out), 64, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/dev/null: is a character device"),
        "{}",
        stderr(&out)
    );
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());

    rustix::fs::mkfifoat(rustix::fs::CWD, d.join("fifo"), 0o600.into()).unwrap();
    std::fs::create_dir(d.join("dir")).unwrap();
    for name in ["fifo", "dir"] {
        let out = run_in(d, ["scan", "-o", name, "src/"]);
        assert_eq!(code(&out), 64, "{name}: {}", stderr(&out));
        assert!(
            !d.join(format!(".{name}.lock")).exists(),
            "{name}: a lock file was created beside it"
        );
    }
    assert!(std::fs::metadata(d.join("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());

    // A symlink at the output path is replaced itself; what it points to is untouched.
    write(&d.join("victim"), b"precious");
    std::os::unix::fs::symlink(d.join("victim"), d.join("link")).unwrap();
    ok(&run_in(d, ["scan", "-o", "link", "src/"]));
    assert!(d.join("link").symlink_metadata().unwrap().is_file());
    assert_eq!(std::fs::read(d.join("victim")).unwrap(), b"precious");
}

#[test]
fn a_key_file_owned_by_another_user_is_refused() {
    let tmp = scratch();
    let d = tmp.path();
    tree(d);
    keys(d);
    ok(&run_in(
        d,
        ["scan", "-o", "base", "--sign-key", "a.key", "src/"],
    ));
    ok(&run_in(d, ["show", "--verify-key", "a.pub", "base"]));
    std::os::unix::fs::chown(d.join("a.pub"), Some(65534), Some(65534)).unwrap();
    let out = run_in(d, ["show", "--verify-key", "a.pub", "base"]);
    assert_eq!(code(&out), 78, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("a.pub: owned by uid 65534"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
    std::os::unix::fs::chown(d.join("a.key"), Some(65534), Some(65534)).unwrap();
    let out = run_in(d, ["scan", "-o", "base2", "--sign-key", "a.key", "src/"]);
    assert_eq!(code(&out), 78, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("a.key: owned by uid 65534"),
        "{}",
        stderr(&out)
    );
    // A FIFO in place of a key is refused at once, not waited on: a key error, like any
    // other key file that is not what it must be.
    rustix::fs::mkfifoat(rustix::fs::CWD, d.join("fifo.pub"), 0o644.into()).unwrap();
    let out = run_in(d, ["show", "--verify-key", "fifo.pub", "base"]);
    assert_eq!(code(&out), 78, "{}", stderr(&out));
    assert!(stderr(&out).contains("is a FIFO"), "{}", stderr(&out));
}

#[test]
fn update_of_a_signed_baseline_is_never_an_unsigned_one() {
    let tmp = scratch();
    let d = tmp.path();
    tree(d);
    keys(d);
    ok(&run_in(
        d,
        ["scan", "-o", "base", "--sign-key", "a.key", "src/"],
    ));
    let before = std::fs::read(d.join("base")).unwrap();
    write(&d.join("src/new"), b"new");
    let out = run_in(d, ["update", "base", "--format", "rsync"]);
    assert_eq!(code(&out), 64, "{}", stderr(&out));
    assert!(stderr(&out).contains("--sign-key"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(d.join("base")).unwrap(),
        before,
        "changed anyway"
    );

    let out = run_in(
        d,
        ["update", "base", "--sign-key", "a.key", "--format", "rsync"],
    );
    assert!(matches!(code(&out), 1 | 5), "{}", stderr(&out));
    assert_eq!(verified_generation(d, "base"), 2);
    assert_eq!(verified_generation(d, "base.1"), 1);
    ok(&run_in(d, ["check", "base", "--verify-key", "a.pub"]));
}

#[test]
fn the_config_names_the_sign_and_verify_keys() {
    let tmp = scratch();
    let d = tmp.path();
    tree(d);
    keys(d);
    let config = format!(
        "roots = [\"{}/src/\"]\nbaseline = \"state/base\"\nsign_key = \"a.key\"\n\
         verify_key = \"a.pub\"\nskip_fs = []\nexclude = []\n",
        d.display()
    );
    write(&d.join("fimsum.toml"), config.as_bytes());
    std::fs::set_permissions(d.join("fimsum.toml"), PermissionsExt::from_mode(0o644)).unwrap();
    ok(&run_in(d, ["init", "--config", "fimsum.toml"]));
    assert_eq!(verified_generation(d, "state/base"), 1);
    let out = run_in(d, ["check", "--config", "fimsum.toml"]);
    ok(&out);
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains("signature verified"), "{said}");
    write(&d.join("src/new"), b"new");
    let out = run_in(d, ["update", "--config", "fimsum.toml"]);
    assert!(matches!(code(&out), 1 | 5), "{}", stderr(&out));
    assert_eq!(verified_generation(d, "state/base"), 2);
    // The verify key of the config is required: a baseline signed by another key fails.
    ok(&run_in(
        d,
        [
            "scan",
            "-o",
            "state/base",
            "--sign-key",
            "b.key",
            "--generation",
            "3",
            "src/",
        ],
    ));
    let out = run_in(d, ["check", "--config", "fimsum.toml"]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
}

#[test]
fn an_unsigned_generation_does_not_carry_over_to_a_signed_baseline() {
    let tmp = scratch();
    let d = tmp.path();
    tree(d);
    keys(d);
    // An unsigned baseline claiming the last generation there is, put at the output path.
    let max = u64::MAX.to_string();
    ok(&run_in(
        d,
        ["scan", "-o", "base", "--generation", &max, "src/"],
    ));
    let out = run_in(d, ["scan", "-o", "base", "--sign-key", "a.key", "src/"]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("base: not a baseline this key signed"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--generation N"), "{}", stderr(&out));
    let out = run_in(d, ["update", "base", "--sign-key", "a.key"]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));

    // Told where to start, it signs; then it continues its own key's generations.
    ok(&run_in(
        d,
        [
            "scan",
            "-o",
            "base",
            "--sign-key",
            "a.key",
            "--generation",
            "7",
            "src/",
        ],
    ));
    assert_eq!(verified_generation(d, "base"), 7);
    ok(&run_in(
        d,
        ["scan", "-o", "base", "--sign-key", "a.key", "src/"],
    ));
    assert_eq!(verified_generation(d, "base"), 8);
    // Another key's baseline is not continued either.
    let out = run_in(d, ["scan", "-o", "base", "--sign-key", "b.key", "src/"]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    // The last generation is not followed by itself again.
    ok(&run_in(
        d,
        [
            "scan",
            "-o",
            "base",
            "--sign-key",
            "a.key",
            "--generation",
            &max,
            "src/",
        ],
    ));
    let out = run_in(d, ["scan", "-o", "base", "--sign-key", "a.key", "src/"]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the last there is"),
        "{}",
        stderr(&out)
    );
}

/// Run fimsum with stdout a pipe whose reader has gone before anything was written.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut child = fimsum()
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (code(&out), stderr(&out))
}

#[test]
fn a_closed_stdout_does_not_hide_what_check_and_update_found() {
    let tmp = scratch();
    let d = tmp.path();
    tree(d);
    ok(&run_in(d, ["scan", "-o", "base", "src/"]));
    for i in 0..3000 {
        write(&d.join(format!("src/many/{i}")), b"x");
    }
    for format in ["human", "rsync"] {
        let (c, err) = with_closed_stdout(d, &["check", "base", "--format", format]);
        assert!(matches!(c, 1 | 5), "{format}: {c}: {err}");
    }
    let (c, err) = with_closed_stdout(d, &["diff", "base", "base"]);
    assert_eq!(c, 0, "{err}");
    let (c, err) = with_closed_stdout(d, &["update", "base", "--format", "rsync"]);
    assert!(matches!(c, 1 | 5), "{c}: {err}");
    assert!(err.contains("updated to generation 2"), "{err}");
    // The baseline was written: nothing has changed since.
    ok(&run_in(d, ["check", "base"]));
}

fn strace() -> bool {
    let found = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: strace is not installed (apt-get install strace)");
    }
    found
}

/// Names in `dir` other than the baselines and their lock.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp."))
        .collect();
    names.sort();
    names
}

/// A run killed at each rename of `update` (with two baselines kept) leaves the baseline
/// and every kept one in place, and whatever temporary file it leaves is removed by the
/// next run.
#[test]
fn a_run_killed_at_a_rename_leaves_no_temporary_file_for_good() {
    if !strace() {
        return;
    }
    let tmp = scratch();
    let d = tmp.path();
    tree(d);
    let state = d.join("state");
    std::fs::create_dir(&state).unwrap();
    let config = format!(
        "roots = [\"{}/src/\"]\nbaseline = \"state/base\"\nkeep = 2\nskip_fs = []\nexclude = []\n",
        d.display()
    );
    write(&d.join("fimsum.toml"), config.as_bytes());
    ok(&run_in(d, ["init", "--config", "fimsum.toml"]));
    for _ in 0..2 {
        ok(&run_in(d, ["update", "--config", "fimsum.toml"]));
    }
    // Renames in an update keeping two: base.1 -> base.2, base -> base.1, new -> base.
    for when in 1..=3 {
        let out = std::process::Command::new("strace")
            .args(["-f", "-o", "/dev/null", "-e"])
            .arg(format!(
                "inject=rename,renameat,renameat2:signal=KILL:when={when}"
            ))
            .arg(env!("CARGO_BIN_EXE_fimsum"))
            .args(["update", "--config", "fimsum.toml"])
            .current_dir(d)
            .output()
            .unwrap();
        assert!(out.status.code() != Some(0), "not killed at rename {when}");
        for name in ["base", "base.1", "base.2"] {
            let out = run_in(d, ["show", &format!("state/{name}")]);
            assert_eq!(
                code(&out),
                0,
                "killed at rename {when}: {name}: {}",
                stderr(&out)
            );
        }
        if when == 3 {
            assert_eq!(leftovers(&state).len(), 1, "{:?}", leftovers(&state));
        }
        ok(&run_in(d, ["update", "--config", "fimsum.toml"]));
        assert!(
            leftovers(&state).is_empty(),
            "killed at rename {when}: {:?}",
            leftovers(&state)
        );
    }
    // A scan killed at its one rename, and the next scan.
    let out = std::process::Command::new("strace")
        .args([
            "-f",
            "-o",
            "/dev/null",
            "-e",
            "inject=rename,renameat,renameat2:signal=KILL",
        ])
        .arg(env!("CARGO_BIN_EXE_fimsum"))
        .args(["scan", "-o", "state/scan", "src/"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(out.status.code() != Some(0));
    assert_eq!(leftovers(&state).len(), 1, "{:?}", leftovers(&state));
    let left = state.join(&leftovers(&state)[0]);
    assert_eq!(std::fs::metadata(&left).unwrap().mode() & 0o777, 0o600);
    ok(&run_in(d, ["scan", "-o", "state/scan", "src/"]));
    assert!(leftovers(&state).is_empty(), "{:?}", leftovers(&state));
}
