//! A file that changes all the time (a busy log) while `update` reads it: it was seen, so the
//! scan is not incomplete and the update is written, with the file's last verified record.

use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::util::{code, run_in, scratch, stderr, write};

#[test]
fn update_is_not_refused_for_a_file_that_changed_while_it_was_read() {
    let tmp = scratch();
    let dir = tmp.path();
    write(&dir.join("t/quiet"), b"quiet\n");
    let busy = dir.join("t/busy.log");
    write(&busy, &vec![b'A'; 1 << 20]);
    let first = run_in(dir, ["scan", "-o", "b.fimsum", "t/"]);
    assert_eq!(
        code(&first),
        0,
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = run_in(dir, ["show", "b.fimsum"]).stdout;
    let busy_line = |listing: &[u8]| -> Vec<u8> {
        listing
            .split(|&b| b == b'\n')
            .find(|l| l.starts_with(b"busy.log "))
            .expect("busy.log listed")
            .to_vec()
    };

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&busy)
            .expect("open busy.log");
        std::thread::spawn(move || {
            let (a, b) = (vec![b'A'; 1 << 20], vec![b'B'; 1 << 20]);
            while !stop.load(Ordering::Relaxed) {
                for data in [&a, &b] {
                    file.write_at(data, 0).expect("rewrite");
                }
            }
        })
    };
    let mut saw_unsettled = false;
    for generation in 2..=4 {
        let out = run_in(dir, ["update", "b.fimsum", "t/"]);
        let err = stderr(&out);
        assert!(!err.contains("not updated"), "{err}");
        assert!(
            err.contains(&format!("updated to generation {generation}")),
            "{err}"
        );
        if err.contains("changed while they were read") {
            saw_unsettled = true;
            // The last verified record stands: what the first scan read.
            let now = run_in(dir, ["show", "b.fimsum"]).stdout;
            assert_eq!(busy_line(&now), busy_line(&before));
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer thread");
    assert!(
        saw_unsettled,
        "the writer never overlapped a read: the case was not exercised"
    );
}
