//! Signed baselines (docs/signing.md): key files, signing on every write, and a
//! verify key that turns any missing, altered or foreign signature into exit 65 before a
//! single record is decoded.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use sha2::{Digest, Sha256};

use crate::util::{code, run_in, scratch, stderr, stdout, verified_generation, write};

/// The end marker and digest, then the signature block: "FIMSUMSG", key id, signature.
const END_LEN: usize = 8 + 32;
const BLOCK_LEN: usize = 8 + 32 + 64;

fn key(dir: &Path, name: &str) {
    let out = run_in(dir, ["key", "generate", name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// A small tree, keys `a` and `b`, and `base` signed with `a`; returns its bytes.
fn signed_setup(dir: &Path) -> Vec<u8> {
    for i in 0..12 {
        write(
            &dir.join(format!("src/d{}/f{i}", i % 3)),
            format!("content {i}").as_bytes(),
        );
    }
    key(dir, "a");
    key(dir, "b");
    let out = run_in(dir, ["scan", "-o", "base", "--sign-key", "a.key", "src/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::read(dir.join("base")).unwrap()
}

/// `show --verify-key a.pub` of these bytes.
fn show_verified(dir: &Path, bytes: &[u8]) -> Output {
    std::fs::write(dir.join("bad"), bytes).unwrap();
    run_in(dir, ["show", "--verify-key", "a.pub", "bad"])
}

fn assert_refused(out: &Output, what: &str, message: &str) {
    assert_eq!(code(out), 65, "{what}: {}", stderr(out));
    assert!(
        stderr(out).contains(message),
        "{what}: expected {message:?} in {}",
        stderr(out)
    );
    assert!(stdout(out).is_empty(), "{what}: nothing may be printed");
}

/// Where the record count ends (the first record starts).
fn records_offset(bytes: &[u8]) -> usize {
    16 + u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize + 8
}

/// Recompute the end marker's digest after an edit, as an attacker with root would.
fn fix_digest(bytes: &mut [u8]) {
    let payload_end = bytes.len() - BLOCK_LEN - END_LEN;
    let digest = Sha256::digest(&bytes[..payload_end]);
    bytes[payload_end + 8..payload_end + END_LEN].copy_from_slice(&digest);
}

#[test]
fn key_generate_writes_a_private_secret_key_and_a_public_key() {
    let tmp = scratch();
    let out = run_in(tmp.path(), ["key", "generate", "web1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("public key, id "), "{}", stdout(&out));
    let mode = |name: &str| {
        std::fs::metadata(tmp.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("web1.key"), 0o600);
    assert_eq!(mode("web1.pub"), 0o644);
    let secret = std::fs::read_to_string(tmp.path().join("web1.key")).unwrap();
    let public = std::fs::read_to_string(tmp.path().join("web1.pub")).unwrap();
    assert!(secret.starts_with("fimsum-ed25519-secret-key-v1\n"));
    assert!(public.starts_with("fimsum-ed25519-public-key-v1\n"));
    assert_eq!(secret.lines().count(), 3);
    assert_eq!(public.lines().count(), 2);
    // The public key is the secret file's last line.
    assert_eq!(secret.lines().nth(2), public.lines().nth(1));
}

#[test]
fn key_generate_never_overwrites_a_key() {
    let tmp = scratch();
    key(tmp.path(), "k");
    let before = std::fs::read(tmp.path().join("k.key")).unwrap();
    let out = run_in(tmp.path(), ["key", "generate", "k"]);
    assert_eq!(code(&out), 74);
    assert!(
        stderr(&out).contains("never overwrites"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(tmp.path().join("k.key")).unwrap(), before);
    // Only the .pub exists: it is kept, and no lone .key is left behind.
    write(&tmp.path().join("p.pub"), b"mine");
    let out = run_in(tmp.path(), ["key", "generate", "p"]);
    assert_eq!(code(&out), 74);
    assert!(!tmp.path().join("p.key").exists());
    assert_eq!(std::fs::read(tmp.path().join("p.pub")).unwrap(), b"mine");
}

#[test]
fn a_signed_baseline_verifies_in_show_check_and_diff() {
    let tmp = scratch();
    signed_setup(tmp.path());
    let dir = tmp.path();
    let plain = run_in(dir, ["show", "base"]);
    let verified = run_in(dir, ["show", "--verify-key", "a.pub", "base"]);
    assert_eq!(code(&verified), 0, "{}", stderr(&verified));
    assert_eq!(verified.stdout, plain.stdout, "the lines are the same");
    assert!(stderr(&verified).contains("signature verified: key "));
    // Without a verify key it still reads, and says the signature was not checked.
    assert_eq!(code(&plain), 0);
    assert!(stderr(&plain).contains("not checked"), "{}", stderr(&plain));

    let out = run_in(dir, ["check", "--verify-key", "a.pub", "base"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("note: base: signature verified: key "));
    let out = run_in(dir, ["check", "base"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("not checked (give --verify-key)"));

    write(&dir.join("src/d0/f0"), b"changed");
    let out = run_in(dir, ["check", "--verify-key", "a.pub", "base"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));

    let out = run_in(dir, ["diff", "--verify-key", "a.pub", "base", "base"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).matches("signature verified").count(), 2);
}

#[test]
fn a_flipped_bit_in_header_payload_or_signature_fails_verification() {
    let tmp = scratch();
    let good = signed_setup(tmp.path());
    let len = good.len();
    let cases = [
        ("header", 20, "digest mismatch"),
        ("record count", records_offset(&good) - 1, "digest mismatch"),
        ("payload", records_offset(&good) + 10, "digest mismatch"),
        ("payload digest", len - BLOCK_LEN - 1, "digest mismatch"),
        ("signature block magic", len - BLOCK_LEN, "not signed"),
        ("key id", len - 64 - 1, "signed by key"),
        ("signature", len - 1, "bad signature"),
        ("signature R", len - 64, "bad signature"),
    ];
    for (what, at, message) in cases {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        assert_refused(&show_verified(tmp.path(), &bad), what, message);
    }
    // And every other byte: each is refused.
    for i in 0..len {
        let mut bad = good.clone();
        bad[i] ^= 1 << (i % 8);
        assert_eq!(code(&show_verified(tmp.path(), &bad)), 65, "byte {i}");
    }
}

#[test]
fn an_edit_with_its_digest_recomputed_is_caught_by_the_signature() {
    let tmp = scratch();
    let good = signed_setup(tmp.path());
    // A changed header byte, and a changed record count.
    for (what, at) in [("header", 20), ("record count", records_offset(&good) - 8)] {
        let mut bad = good.clone();
        bad[at] ^= 1;
        fix_digest(&mut bad);
        assert_refused(&show_verified(tmp.path(), &bad), what, "bad signature");
    }
    // A record frame claiming 4 GiB: read without a key, the decoder refuses the frame; with
    // one, the signature fails first, so no record was ever decoded.
    let mut bad = good.clone();
    let first = records_offset(&good);
    bad[first..first + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    fix_digest(&mut bad);
    std::fs::write(tmp.path().join("bad"), &bad).unwrap();
    let unkeyed = run_in(tmp.path(), ["show", "bad"]);
    assert_refused(&unkeyed, "frame, no key", "exceeds the limit");
    let keyed = show_verified(tmp.path(), &bad);
    assert_refused(&keyed, "frame, with key", "bad signature");
    assert!(!stderr(&keyed).contains("frame"), "{}", stderr(&keyed));
}

#[test]
fn a_stripped_signature_fails_only_with_a_verify_key() {
    let tmp = scratch();
    let good = signed_setup(tmp.path());
    let stripped = &good[..good.len() - BLOCK_LEN];
    std::fs::write(tmp.path().join("stripped"), stripped).unwrap();
    let out = run_in(tmp.path(), ["show", "stripped"]);
    assert_eq!(
        code(&out),
        0,
        "unsigned baselines stay readable: {}",
        stderr(&out)
    );
    assert_refused(
        &show_verified(tmp.path(), stripped),
        "stripped",
        "not signed",
    );
    for command in ["check", "show"] {
        let out = run_in(
            tmp.path(),
            [command, "--verify-key", "a.pub", "--", "stripped"],
        );
        assert_refused(&out, command, "not signed");
    }
    // Half a signature block is neither signed nor unsigned.
    for len in stripped.len() + 1..good.len() {
        std::fs::write(tmp.path().join("bad"), &good[..len]).unwrap();
        let out = run_in(tmp.path(), ["show", "bad"]);
        assert_eq!(code(&out), 65, "cut at {len}");
        assert!(stderr(&out).contains("trailing bytes"), "{}", stderr(&out));
        assert_eq!(code(&show_verified(tmp.path(), &good[..len])), 65);
    }
    // Two signature blocks are not one.
    let mut twice = good.clone();
    twice.extend_from_slice(&good[good.len() - BLOCK_LEN..]);
    assert_eq!(code(&show_verified(tmp.path(), &twice)), 65);
    std::fs::write(tmp.path().join("bad"), &twice).unwrap();
    assert_eq!(code(&run_in(tmp.path(), ["show", "bad"])), 65);
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let tmp = scratch();
    signed_setup(tmp.path());
    for command in ["show", "check"] {
        let out = run_in(tmp.path(), [command, "--verify-key", "b.pub", "base"]);
        assert_refused(&out, command, "not by the verify key");
    }
    let out = run_in(
        tmp.path(),
        ["diff", "--verify-key", "b.pub", "base", "base"],
    );
    assert_refused(&out, "diff", "not by the verify key");
}

#[test]
fn expect_host_must_match_the_signed_header() {
    let tmp = scratch();
    signed_setup(tmp.path());
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let out = run_in(
        tmp.path(),
        [
            "check",
            "--verify-key",
            "a.pub",
            "--expect-host",
            &host,
            "base",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let other = format!("not-{host}");
    for command in ["check", "show"] {
        let out = run_in(
            tmp.path(),
            [
                command,
                "--verify-key",
                "a.pub",
                "--expect-host",
                &other,
                "base",
            ],
        );
        assert_refused(&out, command, "not on the expected host");
    }
}

#[test]
fn generations_count_up_and_min_generation_refuses_an_older_baseline() {
    let tmp = scratch();
    signed_setup(tmp.path());
    let dir = tmp.path();
    assert_eq!(verified_generation(dir, "base"), 1);
    std::fs::copy(dir.join("base"), dir.join("old")).unwrap();
    for expected in [2, 3] {
        let out = run_in(dir, ["scan", "-o", "base", "--sign-key", "a.key", "src/"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(verified_generation(dir, "base"), expected);
    }
    let min3 = |name: &str| {
        run_in(
            dir,
            [
                "check",
                "--verify-key",
                "a.pub",
                "--min-generation",
                "3",
                name,
            ],
        )
    };
    assert_eq!(code(&min3("base")), 0);
    // The old baseline is validly signed, but older than the verifier accepts.
    assert_refused(&min3("old"), "replayed", "below --min-generation 3");
    // A baseline written anew (no previous one at its path) starts at 1; an unsigned scan
    // numbers generations too, but a signed one continues only what its key signed.
    let out = run_in(dir, ["scan", "-o", "fresh", "--sign-key", "a.key", "src/"]);
    assert_eq!(code(&out), 0);
    assert_eq!(verified_generation(dir, "fresh"), 1);
    assert_eq!(code(&run_in(dir, ["scan", "-o", "base", "src/"])), 0);
    let out = run_in(dir, ["scan", "-o", "base", "--sign-key", "a.key", "src/"]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    let out = run_in(
        dir,
        [
            "scan",
            "-o",
            "base",
            "--sign-key",
            "a.key",
            "--generation",
            "5",
            "src/",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(verified_generation(dir, "base"), 5);
    // A FIFO at the output path is neither read for its generation (that would block) nor
    // replaced.
    let status = std::process::Command::new("mkfifo")
        .arg(dir.join("pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    let out = run_in(dir, ["scan", "-o", "pipe", "--sign-key", "a.key", "src/"]);
    assert_eq!(code(&out), 64, "{}", stderr(&out));
}

#[test]
fn key_files_with_unsafe_permissions_are_refused() {
    let tmp = scratch();
    signed_setup(tmp.path());
    let dir = tmp.path();
    let chmod = |name: &str, mode: u32| {
        std::fs::set_permissions(dir.join(name), PermissionsExt::from_mode(mode)).unwrap()
    };
    for mode in [0o644, 0o640, 0o604] {
        chmod("a.key", mode);
        let out = run_in(dir, ["scan", "-o", "new", "--sign-key", "a.key", "src/"]);
        assert_eq!(code(&out), 78, "{mode:o}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("a.key") && err.contains(&format!("mode {mode:04o}")),
            "{err}"
        );
        assert!(
            !dir.join("new").exists(),
            "refused before anything is written"
        );
    }
    chmod("a.key", 0o400);
    let out = run_in(dir, ["scan", "-o", "new", "--sign-key", "a.key", "src/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // A verify key may be world-readable, but not writable by others.
    chmod("a.pub", 0o444);
    assert_eq!(
        code(&run_in(dir, ["show", "--verify-key", "a.pub", "new"])),
        0
    );
    chmod("a.pub", 0o666);
    let out = run_in(dir, ["show", "--verify-key", "a.pub", "new"]);
    assert_eq!(code(&out), 78);
    assert!(stderr(&out).contains("mode 0666"), "{}", stderr(&out));
    // A missing key is missing input; a malformed one is a key error, not bad baseline data.
    let out = run_in(dir, ["show", "--verify-key", "none.pub", "new"]);
    assert_eq!(code(&out), 66);
    let out = run_in(dir, ["show", "--verify-key", "a.key", "new"]);
    assert_eq!(code(&out), 78, "a secret key is not a verify key");
    assert!(
        stderr(&out).contains("not a fimsum key file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn import_signs_and_show_gives_the_log_back_verified() {
    let tmp = scratch();
    signed_setup(tmp.path());
    let dir = tmp.path();
    let log = run_in(dir, ["scan", "src/"]).stdout;
    std::fs::write(dir.join("log"), &log).unwrap();
    let out = run_in(
        dir,
        [
            "import",
            "--cc",
            "md5",
            "--full",
            "log",
            "-o",
            "imported",
            "--sign-key",
            "a.key",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run_in(dir, ["show", "--verify-key", "a.pub", "imported"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(out.stdout, log);
    // A log cannot carry a signature: diffing one under a verify key is refused.
    let out = run_in(dir, ["diff", "--verify-key", "a.pub", "imported", "log"]);
    assert_refused(&out, "log side", "cannot be signed");
}

#[test]
fn verify_options_need_a_verify_key_and_sign_key_needs_output() {
    let tmp = scratch();
    signed_setup(tmp.path());
    for args in [
        &["show", "--expect-host", "x", "base"][..],
        &["check", "--min-generation", "2", "base"],
        &["scan", "--sign-key", "a.key", "src/"],
    ] {
        let out = run_in(tmp.path(), args);
        assert_eq!(code(&out), 64, "{args:?}: {}", stderr(&out));
    }
}

/// `import --base` applies a night only to a base that verifies with `--verify-key`.
#[test]
fn import_onto_a_base_verifies_it_first() {
    let tmp = scratch();
    let dir = tmp.path();
    signed_setup(dir);
    write(&dir.join("night.log"), b"deleting d0/f0\n");
    let import = |key: &str| {
        run_in(
            dir,
            [
                "import",
                "--cc",
                "md5",
                "--verify-key",
                key,
                "--base",
                "base",
                "night.log",
                "-o",
                "next",
            ],
        )
    };
    let out = import("b.pub");
    assert_refused(&out, "import --base", "not by the verify key");
    assert!(!dir.join("next").exists());
    let out = import("a.pub");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run_in(
        dir,
        [
            "import",
            "--cc",
            "md5",
            "--verify-key",
            "a.pub",
            "night.log",
            "-o",
            "x",
        ],
    );
    assert_eq!(code(&out), 64, "{}", stderr(&out));
}
