//! `check --format rsync` against what real rsync printed for an incremental
//! `rsync -a --delete --checksum --out-format="%n %C" NEW/ BACKUP/`, recorded in
//! baselines/rsync-incremental by scripts/record-rsync-incremental.sh. The recordings put
//! rsync's `deleting` lines first (their place among the other lines varies between runs of
//! rsync itself), which is the order fimsum prints.

use std::process::Command;

use crate::util::{code, repo, run_in, scratch};

#[test]
fn check_format_rsync_prints_what_rsync_delete_printed() {
    let dir = repo().join("baselines/rsync-incremental");
    let root = rustix::process::geteuid().is_root();
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("recordings")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ops"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} recorded cases", cases.len());
    let mut failures = Vec::new();
    for ops in &cases {
        let name = ops.file_stem().unwrap().to_string_lossy().into_owned();
        let script = std::fs::read_to_string(ops).unwrap();
        if !root && (script.contains("chown") || script.contains("chgrp")) {
            eprintln!("skipped {name}: needs root");
            continue;
        }
        let tmp = scratch();
        let new = tmp.path().join("NEW");
        std::fs::create_dir(&new).unwrap();
        let sh = |file: &std::path::Path| {
            let status = Command::new("bash")
                .args(["-euo", "pipefail", "-c", "umask 022; . \"$0\""])
                .arg(file)
                .current_dir(&new)
                .status()
                .expect("bash runs");
            assert!(status.success(), "{} failed", file.display());
        };
        sh(&dir.join("init.sh"));
        assert_eq!(code(&run_in(tmp.path(), ["scan", "-o", "base", "NEW/"])), 0);
        sh(ops);
        let out = run_in(tmp.path(), ["check", "--format", "rsync", "base"]);
        let expected = std::fs::read(dir.join(format!("{name}.out"))).unwrap();
        if out.stdout != expected {
            failures.push(format!(
                "{name}:\n--- rsync\n{}--- fimsum\n{}",
                String::from_utf8_lossy(&expected),
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        let want_changes = !expected.is_empty();
        assert!(
            code(&out) != 0 || !want_changes,
            "{name}: exit {}",
            code(&out)
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
