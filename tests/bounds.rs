//! Input files far larger than any real one (a disk image, a sparse file named by mistake)
//! are refused from their size, before memory is set aside for them, with the path named.

use std::process::Command;

use crate::util::{code, run_in, scratch, stderr, write};

#[test]
fn input_files_far_too_large_are_refused_before_they_are_read() {
    let tmp = scratch();
    let dir = tmp.path();
    write(&dir.join("t/f"), b"hi\n");
    let scanned = run_in(dir, ["scan", "-o", "base.fimsum", "t/"]);
    assert_eq!(code(&scanned), 0, "{}", stderr(&scanned));
    // 3 GiB of holes: nothing on disk, and more than the address space allowed below.
    std::fs::File::create(dir.join("big"))
        .and_then(|f| f.set_len(3 << 30))
        .expect("sparse file");
    for (args, exit, says) in [
        (
            "check --config big base.fimsum t/",
            78,
            "big: is 3221225472 bytes, more than the",
        ),
        (
            "scan --exclude-from big t/",
            66,
            "big: is 3221225472 bytes, more than the",
        ),
        ("show big", 65, "big: not a fimsum baseline (wrong magic)"),
        (
            "check big t/",
            65,
            "big: not a fimsum baseline (wrong magic)",
        ),
    ] {
        let out = Command::new("bash")
            .current_dir(dir)
            .env("LC_ALL", "C.UTF-8")
            .args([
                "-c",
                &format!(
                    "ulimit -v 1000000; exec {} {args}",
                    env!("CARGO_BIN_EXE_fimsum")
                ),
            ])
            .output()
            .expect("bash runs");
        let err = stderr(&out);
        assert_eq!(code(&out), exit, "{args}: {err}");
        assert!(err.contains(says), "{args}: {err}");
    }
}
