//! What a scan records is the content of the file it read, as that file stood: a growing
//! log's "only grew" is decided on the bytes the scan read under the root it scanned, and a
//! file rewritten while it is read gets no checksum of mixed content.

use std::path::Path;

use fimsum::diff::{self, DiffOptions};
use fimsum::fim::assess::{self, Inputs};
use fimsum::fim::policy::Policy;
use fimsum::hash::Algorithm;
use fimsum::record::Record;
use fimsum::scan::walk::WalkOptions;
use fimsum::scan::{scan, Item, Prefixes, ScanOptions};

use crate::util::{
    code, contents_of, run_in, scan_options, scan_source, scratch, stderr, stdout, write,
};

/// A config for `dir/src/` with its baseline at `dir/state/b.fimsum`, and `*.log` under it
/// growing.
fn growing_config(dir: &Path) -> std::path::PathBuf {
    let text = format!(
        "roots = [\"{src}/\"]\nbaseline = \"{base}\"\nexclude = []\nkeep = 2\n\
         [[rule]]\npattern = \"{src}/**.log\"\nseverity = \"high\"\ngrowing = true\n",
        src = dir.join("src").display(),
        base = dir.join("state/b.fimsum").display()
    );
    let path = dir.join("fimsum.toml");
    write(&path, text.as_bytes());
    path
}

fn append(path: &Path, data: &[u8]) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(data))
        .unwrap();
}

/// `check BASE /mnt/image/`: the tree was baselined where it stood, then its file system was
/// mounted elsewhere (here: the directory moved, so inodes stay the same) and a file of the
/// same name now stands at the recorded path on the checking host. The log scanned is the
/// image's: its rewrite is reported though the host's copy only grew, and its growth passes
/// though the host's copy was rewritten.
#[test]
fn offline_check_of_a_rewritten_growing_log_is_not_vouched_for_by_the_host_copy() {
    let tmp = scratch();
    let dir = tmp.path();
    write(&dir.join("src/app.log"), b"line 1\nline 2\n");
    let cfg = growing_config(dir);
    let cfg = cfg.to_str().unwrap();
    let out = run_in(dir, ["init", "--config", cfg]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::rename(dir.join("src"), dir.join("image")).unwrap();
    let image = format!("{}/", dir.join("image").display());
    let base = dir.join("state/b.fimsum");
    let base = base.to_str().unwrap();

    // The image's log only grew; the host's was rewritten: passes.
    append(&dir.join("image/app.log"), b"line 3\n");
    write(&dir.join("src/app.log"), b"LINE 1\nline 2\nline 3\n");
    let out = run_in(dir, ["check", "--config", cfg, base, &image]);
    assert!(
        stdout(&out).contains("1 growing files that only grew"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("app.log"), "{}", stdout(&out));

    // The image's log rewritten in place (same inode), the host's only grew: reported.
    std::fs::write(dir.join("image/app.log"), b"LINE 1\nline 2\nline 3\n").unwrap();
    write(&dir.join("src/app.log"), b"line 1\nline 2\nline 3\n");
    let out = run_in(dir, ["check", "--config", cfg, base, &image]);
    assert_eq!(code(&out) & 4, 4, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("high     changed    app.log"),
        "{}",
        stdout(&out)
    );
}

/// Scan `root` for `check` against `old` (the baseline's records) under `policy`, and
/// assess the changes as `check` does, with prefix checksums taken by the scan. `between`
/// runs after the scan and before the assessment: the moment an attacker would swap a decoy
/// in for a re-opened path.
fn check_growing(
    root: &Path,
    old: &[Record],
    policy: &Policy,
    between: impl FnOnce(),
) -> assess::Assessment {
    let source = contents_of(root);
    let roots = vec![source.clone()];
    let sizes =
        assess::growing_files(old.iter().cloned().map(Ok::<_, ()>), &roots, policy).unwrap();
    assert_eq!(sizes.len(), 1, "the log is growing");
    let growing = std::sync::Arc::new(Prefixes::new(sizes));
    let walk = WalkOptions::new(0, Vec::new()).unwrap();
    let options = ScanOptions {
        growing: Some(std::sync::Arc::clone(&growing)),
        ..scan_options(Algorithm::Xxh128, 1, walk)
    };
    let (new, _) = scan_source(&source, &options, None);
    between();
    let diff = diff::diff(
        old.iter().cloned().map(Ok),
        new.into_iter().map(Ok),
        DiffOptions {
            compare_content: true,
            identity: true,
        },
    )
    .unwrap();
    assess::assess(
        &diff,
        &Inputs {
            policy,
            roots: &roots,
            ioc_hits: &Default::default(),
            prefix_digest: &|name, len| growing.digest(name, len),
            packages: None,
        },
    )
}

fn scan_records(root: &Path) -> Vec<Record> {
    let walk = WalkOptions::new(0, Vec::new()).unwrap();
    let options = scan_options(Algorithm::Xxh128, 1, walk);
    scan_source(&contents_of(root), &options, None).0
}

/// The log was rewritten (its old lines changed) and grew; right after the scan read it, a
/// decoy whose old part is intact is swapped in under its name. The prefix is the one of the
/// file the scan read: the rewrite is reported.
#[test]
fn a_decoy_swapped_in_after_the_scan_does_not_make_a_rewritten_log_pass() {
    let tmp = scratch();
    let root = tmp.path().join("src");
    write(&root.join("app.log"), b"line 1\nline 2\n");
    let old = scan_records(&root);
    let config = fimsum::fim::config::Config::parse(
        &format!(
            "[[rule]]\npattern = \"{}/*.log\"\nseverity = \"high\"\ngrowing = true\n",
            root.display()
        ),
        Path::new("test.toml"),
    )
    .unwrap();
    let policy = Policy::new(&config).unwrap();

    // Only grew: passes (the prefix taken in the scan matches).
    append(&root.join("app.log"), b"line 3\n");
    let a = check_growing(&root, &old, &policy, || {});
    assert_eq!((a.grew, a.findings.len()), (1, 0), "{:?}", a.findings);

    // Rewritten and grown, with a clean decoy swapped in between the scan and the verdict.
    write(&root.join("app.log"), b"LINE 1\nline 2\nline 3\n");
    let decoy = tmp.path().join("decoy");
    write(&decoy, b"line 1\nline 2\nline 3\n");
    let a = check_growing(&root, &old, &policy, || {
        std::fs::rename(&decoy, root.join("app.log")).unwrap();
    });
    assert_eq!(a.grew, 0);
    assert_eq!(a.findings.len(), 1, "{:?}", a.findings);
    assert_eq!(a.findings[0].name, b"app.log");
}

/// A 4 MiB file rewritten in a loop, all 'A' then all 'B' (one `pwrite` each), by another
/// thread while it is scanned again and again: every checksum recorded is that of all-A or
/// of all-B, never of a mix; otherwise the file is reported changed during the scan. The
/// `fstat` before and after each read cannot see these writes (the kernel stamps a write
/// when it begins, at the granularity of its clock): only a second read can.
#[test]
fn a_file_rewritten_while_read_never_gets_a_checksum_of_mixed_content() {
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    const SIZE: usize = 4 << 20;
    let tmp = scratch();
    let root = tmp.path().join("src");
    let a = vec![b'A'; SIZE];
    let b = vec![b'B'; SIZE];
    write(&root.join("f"), &a);
    let stop = AtomicBool::new(false);
    let (mut scans, mut mixed, mut changed) = (0, Vec::new(), 0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(root.join("f"))
                .unwrap();
            while !stop.load(Ordering::Relaxed) {
                file.write_at(&a, 0).unwrap();
                file.write_at(&b, 0).unwrap();
            }
        });
        let start = std::time::Instant::now();
        let sources = [contents_of(&root)];
        // MD4, whose crate the test build optimizes (Cargo.toml): reads about as fast as a
        // release build's, which is what lets a whole read fall within one write.
        let algorithm = Algorithm::Md4;
        let versions = [algorithm.digest(&a), algorithm.digest(&b)];
        while scans < 400 && start.elapsed() < std::time::Duration::from_secs(7) {
            let options = scan_options(algorithm, 1, WalkOptions::new(0, Vec::new()).unwrap());
            scan(&sources, &options, |item| -> Result<(), ()> {
                if let Item::Record(r) = item {
                    if r.name != b"f" {
                        return Ok(());
                    }
                    match &r.content {
                        fimsum::record::Content::Digest(d) => {
                            if !versions.contains(d) {
                                mixed.push(format!("{algorithm} {d:?}"));
                            }
                        }
                        fimsum::record::Content::ChangedDuringScan(_) => changed += 1,
                        other => panic!("unexpected {other:?}"),
                    }
                }
                Ok(())
            })
            .unwrap();
            scans += 1;
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(
        mixed.is_empty(),
        "{} of {scans} scans recorded a checksum of mixed content ({changed} reported changed): {:?}",
        mixed.len(),
        &mixed[..mixed.len().min(3)]
    );
    eprintln!("{scans} scans, {changed} reported changed during the scan");
    assert!(scans >= 3, "only {scans} scans");
}
