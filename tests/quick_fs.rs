//! `check --quick` trusts a file's ctime only on a file system that keeps a real one: on
//! vfat, exfat or FUSE a file patched in place with its mtime set back must be read again.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use fimsum::hash::Algorithm;
use fimsum::record::Record;
use fimsum::scan::walk::WalkOptions;
use fimsum::scan::{HookRef, Hooks};
use fimsum::scan::{QuickCheck, Reuse};

use crate::util::{contents_of, scan_options, scan_source, scratch, write};

/// Every file system is taken to be of this statfs type.
struct FsType(i64);

impl Hooks for FsType {
    fn fs_type(&self, _name: &[u8]) -> Option<i64> {
        Some(self.0)
    }
}

fn quick_scan(root: &Path, baseline: &[Record], f_type: i64) -> (Vec<Record>, u64) {
    let mut walk = WalkOptions::new(0, Vec::new()).unwrap();
    walk.hooks = HookRef::new(Arc::new(FsType(f_type)));
    let options = scan_options(Algorithm::Md5, 1, walk);
    let trusted = Arc::new(AtomicU64::new(0));
    let old: Vec<_> = baseline.iter().cloned().map(Ok).collect();
    let reuse: Box<dyn Reuse> = Box::new(QuickCheck::new(
        old.into_iter(),
        &[],
        0.0,
        1,
        Arc::clone(&trusted),
    ));
    let (records, _) = scan_source(&contents_of(root), &options, Some(reuse));
    let n = trusted.load(Ordering::Relaxed);
    (records, n)
}

/// A file patched in place, same size, mtime set back, on a file system whose ctime does
/// not betray it (the baseline's ctime is what the file shows now, as on vfat after a
/// remount): on vfat or FUSE it is read and its new content found; on ext4 it is trusted,
/// as the ctime there would have changed.
#[test]
fn quick_rehashes_files_on_a_file_system_without_a_real_ctime() {
    let tmp = scratch();
    let root = tmp.path().join("t");
    let f = root.join("f");
    write(&f, b"original");
    let (mut baseline, _) = quick_scan(&root, &[], 0xef53);
    let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
    std::fs::write(&f, b"patched!").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    // What a file system without a change time shows: the ctime it showed before.
    let now = std::fs::symlink_metadata(&f).unwrap();
    for r in &mut baseline {
        if r.name == b"f" {
            let m = r.meta.as_mut().unwrap();
            use std::os::unix::fs::MetadataExt;
            m.ctime.sec = now.ctime();
            m.ctime.nsec = now.ctime_nsec() as u32;
        }
    }
    let patched = Algorithm::Md5.digest(b"patched!");
    let digest_of_f = |records: &[Record]| {
        records
            .iter()
            .find(|r| r.name == b"f")
            .and_then(|r| r.content.digest().copied())
    };
    for (name, magic) in [
        ("vfat", 0x4d44),
        ("exfat", 0x2011_bab0),
        ("fuse", 0x6573_5546),
    ] {
        let (records, trusted) = quick_scan(&root, &baseline, magic);
        assert_eq!(trusted, 0, "{name}: nothing is trusted");
        assert_eq!(digest_of_f(&records), Some(patched), "{name}");
    }
    // ext4 keeps a real ctime: the same (impossible there) state is trusted.
    let (records, trusted) = quick_scan(&root, &baseline, 0xef53);
    assert_eq!(trusted, 1);
    assert_ne!(digest_of_f(&records), Some(patched));
}
