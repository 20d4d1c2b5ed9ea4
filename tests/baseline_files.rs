//! Baselines as hostile input: every damaged file is refused with exit 65, never read as a
//! shorter or different baseline; writing never leaves a partial file behind.

use std::path::Path;

use crate::util::{code, run_in, scratch, stderr, write};

/// A baseline with extra digests (format version 3), so that damage to them is covered too.
fn make_baseline(dir: &Path) -> Vec<u8> {
    for i in 0..20 {
        write(
            &dir.join(format!("src/d{}/f{i}", i % 3)),
            format!("content {i}").as_bytes(),
        );
    }
    let out = run_in(dir, ["scan", "-o", "base", "--digest", "sha256", "src/"]);
    assert_eq!(code(&out), 0);
    std::fs::read(dir.join("base")).unwrap()
}

fn show_code(dir: &Path, bytes: &[u8]) -> (i32, String) {
    std::fs::write(dir.join("bad"), bytes).unwrap();
    let out = run_in(dir, ["show", "bad"]);
    (code(&out), stderr(&out))
}

#[test]
fn truncation_at_every_offset_is_refused() {
    let tmp = scratch();
    let good = make_baseline(tmp.path());
    assert_eq!(show_code(tmp.path(), &good).0, 0);
    for len in 0..good.len() {
        let (c, err) = show_code(tmp.path(), &good[..len]);
        assert_eq!(c, 65, "truncated to {len} bytes: {err}");
        assert!(err.contains("bad"), "the error names the file: {err}");
    }
}

#[test]
fn every_flipped_bit_in_a_sample_is_refused() {
    let tmp = scratch();
    let good = make_baseline(tmp.path());
    // Every byte, one bit each (rotating which bit), keeps the run short.
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 1 << (i % 8);
        let (c, err) = show_code(tmp.path(), &bad);
        assert_eq!(c, 65, "bit flipped at byte {i}: {err}");
    }
}

#[test]
fn trailing_bytes_and_other_versions_are_refused() {
    let tmp = scratch();
    let good = make_baseline(tmp.path());
    let mut longer = good.clone();
    longer.push(0);
    let (c, err) = show_code(tmp.path(), &longer);
    assert_eq!(c, 65);
    assert!(err.contains("trailing"), "{err}");
    let mut newer = good.clone();
    let next = fimsum::baseline::FORMAT_VERSION + 1;
    newer[8..12].copy_from_slice(&next.to_le_bytes());
    let (c, err) = show_code(tmp.path(), &newer);
    assert_eq!(c, 65);
    assert!(err.contains(&format!("version {next}")), "{err}");
    let (c, err) = show_code(tmp.path(), b"not a baseline at all");
    assert_eq!(c, 65);
    assert!(err.contains("not a fimsum baseline"), "{err}");
}

#[test]
fn hostile_length_prefixes_fail_without_allocating() {
    let tmp = scratch();
    let good = make_baseline(tmp.path());
    // A header frame that claims 4 GiB, and a record count of 2^63.
    let mut huge_frame = good[..12].to_vec();
    huge_frame.extend_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(show_code(tmp.path(), &huge_frame).0, 65);
    let header_len = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    let count_at = 16 + header_len;
    let mut many = good.clone();
    many[count_at..count_at + 8].copy_from_slice(&(1u64 << 63).to_le_bytes());
    assert_eq!(show_code(tmp.path(), &many).0, 65);
}

#[test]
fn a_failed_write_leaves_the_old_baseline_and_no_temp_file() {
    let tmp = scratch();
    let good = make_baseline(tmp.path());
    // A filter rule fimsum refuses (rsync would drop it with a warning) stops the run
    // before anything is written, and the old baseline stays as it was.
    let long = "x".repeat(5000);
    let out = run_in(
        tmp.path(),
        ["scan", "-o", "base", "--exclude", &long, "src/"],
    );
    assert_eq!(code(&out), 64, "{}", stderr(&out));
    assert_eq!(std::fs::read(tmp.path().join("base")).unwrap(), good);
    // The same for a write that fails: an output directory that does not exist.
    let out = run_in(tmp.path(), ["scan", "-o", "missing/base", "src/"]);
    assert_eq!(code(&out), 74, "{}", stderr(&out));
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_second_writer_is_refused_while_the_first_holds_the_lock() {
    let tmp = scratch();
    let good = make_baseline(tmp.path());
    let lock =
        std::fs::File::open(tmp.path().join(".base.lock")).expect("lock file beside the baseline");
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let out = run_in(tmp.path(), ["scan", "-o", "base", "src/"]);
    assert_eq!(code(&out), 75);
    assert!(stderr(&out).contains("another fimsum run is writing"));
    assert_eq!(std::fs::read(tmp.path().join("base")).unwrap(), good);
    drop(lock);
    assert_eq!(code(&run_in(tmp.path(), ["scan", "-o", "base", "src/"])), 0);
}

#[test]
fn killed_mid_write_leaves_the_old_baseline_and_nothing_else() {
    let tmp = scratch();
    let good = make_baseline(tmp.path());
    // A tree big enough that the scan is still running when it is killed.
    for i in 0..3000 {
        write(&tmp.path().join(format!("src/many/f{i}")), &[b'x'; 4096]);
    }
    for signal in ["-INT", "-KILL"] {
        let mut child = crate::util::fimsum()
            .current_dir(tmp.path())
            .args(["scan", "--threads", "1", "-o", "base", "src/"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let _ = std::process::Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status();
        let status = child.wait().unwrap();
        let now = std::fs::read(tmp.path().join("base")).unwrap();
        if status.success() {
            // The scan won the race; the new baseline is then complete and valid.
            assert_eq!(code(&run_in(tmp.path(), ["show", "base"])), 0);
        } else {
            assert_eq!(now, good, "{signal}: the old baseline must be untouched");
        }
        let names: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| ["base", ".base.lock", "src"].contains(&n.as_str())),
            "{signal}: {names:?}"
        );
    }
}

/// The bincode 2.0.1 bomb (a 13-byte length prefix that asks for terabytes) must be an error,
/// not an abort, even when the address space is capped (`ulimit -v`).
#[test]
fn hostile_prefixes_fail_cleanly_under_an_address_space_limit() {
    let tmp = scratch();
    let good = make_baseline(tmp.path());
    let header_len = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    let first_record = 16 + header_len + 8;
    let mut bombs: Vec<Vec<u8>> = Vec::new();
    // A record frame that claims 4 GiB.
    let mut b = good[..first_record].to_vec();
    b.extend_from_slice(&u32::MAX.to_le_bytes());
    bombs.push(b);
    // A record whose name claims 2^40 bytes inside a small frame.
    let mut b = good[..first_record].to_vec();
    let inner = [0xfd, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&(inner.len() as u32).to_le_bytes());
    b.extend_from_slice(&inner);
    bombs.push(b);
    for (i, bomb) in bombs.iter().enumerate() {
        let path = tmp.path().join(format!("bomb{i}"));
        std::fs::write(&path, bomb).unwrap();
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg("ulimit -v 1048576 && exec \"$0\" show \"$1\"")
            .arg(env!("CARGO_BIN_EXE_fimsum"))
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(code(&out), 65, "bomb {i}: {}", stderr(&out));
    }
}

/// The frames of a baseline's records, as (start, end) offsets of each frame with its
/// length prefix, and where the end marker starts.
fn record_frames(file: &[u8]) -> (Vec<(usize, usize)>, usize) {
    let u32_at = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap()) as usize;
    let mut pos = 16 + u32_at(12);
    let count = u64::from_le_bytes(file[pos..pos + 8].try_into().unwrap());
    pos += 8;
    let mut frames = Vec::new();
    for _ in 0..count {
        let end = pos + 4 + u32_at(pos);
        frames.push((pos, end));
        pos = end;
    }
    (frames, pos)
}

/// A baseline rewritten with two records swapped and its digest made right again (what
/// anyone who can write an unsigned baseline can do): `show` refuses it before printing
/// anything, and `check`, which reads the records as its scan goes, refuses it with the
/// same exit code, reports nothing, and `update` leaves it as it was.
#[test]
fn records_out_of_order_under_a_right_digest_are_refused_by_check_too() {
    use sha2::{Digest as _, Sha256};
    let tmp = scratch();
    let good = make_baseline(tmp.path());
    let (frames, end) = record_frames(&good);
    let (a, b) = (frames[3], frames[4]);
    let mut bad = good[..a.0].to_vec();
    bad.extend_from_slice(&good[b.0..b.1]);
    bad.extend_from_slice(&good[a.0..a.1]);
    bad.extend_from_slice(&good[b.1..end + 8]);
    let digest = Sha256::digest(&bad[..end]);
    bad.extend_from_slice(&digest);
    let (c, err) = show_code(tmp.path(), &bad);
    assert_eq!(c, 65, "{err}");
    assert!(err.contains("out of order"), "{err}");
    for args in [
        &["check", "bad"][..],
        &["check", "--quick", "bad"],
        &["update", "bad"],
    ] {
        let out = run_in(tmp.path(), args);
        assert_eq!(code(&out), 65, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("bad"), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("out of order"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} reported: {}",
            crate::util::stdout(&out)
        );
        assert_eq!(
            std::fs::read(tmp.path().join("bad")).unwrap(),
            bad,
            "{args:?}"
        );
    }
}
