//! The baseline codec's tests: round trips, old versions, hostile files, the writer's
//! temporaries, rotation and lock.

use std::io::Write;
use std::path::Path;

use bincode::Encode;
use sha2::{Digest as _, Sha256};

use super::sign::SecretKey;
use crate::error::Result;
use crate::hash::{Algorithm, HashKind};
use crate::record::{Content, Kind, Record, Timestamp};
use crate::scan::walk::OneFileSystem;

use super::reader::*;
use super::wire::*;
use super::writer::*;
use super::*;
use crate::test_records;

fn wire_header(algorithm: Algorithm) -> WireHeader {
    WireHeader {
        algorithm: algorithm.code(),
        origin: 0,
        sources: vec![b"src/".to_vec()],
        roots: vec![b"/src/".to_vec()],
        one_file_system: 0,
        filters: Vec::new(),
        host: "old".into(),
        created_sec: 1,
        created_nsec: 0,
        fimsum_version: "0.1.0".into(),
    }
}

fn encode(value: impl Encode) -> Vec<u8> {
    bincode::encode_to_vec(value, config()).unwrap()
}

/// A whole baseline of this version from its encoded header and records, with a right
/// digest: what an older fimsum wrote, or a crafted file that only the decoding checks
/// can refuse.
fn file_of(version: u32, header: &[u8], records: &[Vec<u8>]) -> Vec<u8> {
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(&version.to_le_bytes());
    file.extend_from_slice(&(header.len() as u32).to_le_bytes());
    file.extend_from_slice(header);
    file.extend_from_slice(&(records.len() as u64).to_le_bytes());
    for r in records {
        file.extend_from_slice(&(r.len() as u32).to_le_bytes());
        file.extend_from_slice(r);
    }
    let digest = Sha256::digest(&file);
    file.extend_from_slice(END_MAGIC);
    file.extend_from_slice(&digest);
    file
}

fn v3_header(algorithm: Algorithm, extra_codes: Vec<u8>) -> Vec<u8> {
    encode(WireHeaderV3 {
        v2: WireHeaderV2 {
            v1: wire_header(algorithm),
            generation: 3,
        },
        extra_digests: extra_codes,
    })
}

fn v3_record(record: &Record, extra: Vec<Vec<u8>>) -> Vec<u8> {
    encode(WireRecordV3 {
        v2: WireRecord::from_record(record),
        extra,
    })
}

fn entry(name: &str, kind: Kind, content: Content) -> Record {
    test_records::entry(name, kind).content(content)
}

fn hashed(name: &str, algorithm: Algorithm, kinds: &[HashKind]) -> Record {
    test_records::entry(name, Kind::File)
        .content(Content::Digest(algorithm.digest(name.as_bytes())))
        .extras(kinds, name.as_bytes())
}

/// A version-1 baseline (no generation, never signed) is still read, as generation 0,
/// and the baseline that replaces it is generation 1.
#[test]
fn version_1_baselines_are_read_as_generation_0() {
    let file = file_of(1, &encode(wire_header(Algorithm::Md5)), &[]);
    let verified = check_integrity(&file[..]).unwrap();
    assert_eq!(verified.header.host, "old");
    assert_eq!(verified.header.generation, 0);
    assert!(verified.signature.is_none());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b");
    std::fs::write(&path, &file).unwrap();
    let mut header = verified.header;
    header.generation = 7; // ignored by create_next
    let writer = BaselineWriter::create_next(&path, &header).unwrap();
    assert_eq!(writer.generation(), 1);
    writer.finish().unwrap();
    let again = BaselineWriter::create_next(&path, &header).unwrap();
    assert_eq!(again.generation(), 2);
    drop(again);
    // create writes the header as given.
    assert_eq!(
        BaselineWriter::create(&path, &header).unwrap().generation(),
        7
    );
    let fresh = dir.path().join("new");
    assert_eq!(
        BaselineWriter::create_next(&fresh, &header)
            .unwrap()
            .generation(),
        1
    );
}

/// A version-2 baseline (generation, no extra digests) is still read, records and all,
/// as a baseline without extra digests.
#[test]
fn version_2_baselines_are_read_without_extra_digests() {
    let records = [
        entry(".", Kind::Dir, Content::NotAFile),
        hashed("a", Algorithm::Sha1, &[]),
        entry("b", Kind::File, Content::Unreadable("EIO".into())),
    ];
    let head = encode(WireHeaderV2 {
        v1: wire_header(Algorithm::Sha1),
        generation: 4,
    });
    let frames: Vec<Vec<u8>> = records
        .iter()
        .map(|r| encode(WireRecord::from_record(r)))
        .collect();
    let file = file_of(2, &head, &frames);
    let verified = check_integrity(&file[..]).unwrap();
    assert_eq!(verified.version, 2);
    assert_eq!(verified.header.generation, 4);
    assert_eq!(verified.header.algorithm, Algorithm::Sha1);
    assert!(verified.header.extra_digests.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2");
    std::fs::write(&path, &file).unwrap();
    let base = Baseline::open(&path).unwrap();
    let again: Vec<Record> = base.records_again().unwrap().map(Result::unwrap).collect();
    let back: Vec<Record> = base.records().map(Result::unwrap).collect();
    assert_eq!(back, records);
    assert_eq!(again, records);
    // Version-3 records (with their list of extra digests) in a version-2 file are not
    // version-2 records.
    let frames: Vec<Vec<u8>> = records.iter().map(|r| v3_record(r, vec![])).collect();
    let err = check_integrity(&file_of(2, &head, &frames)[..])
        .err()
        .unwrap();
    assert!(err.contains("stray bytes"), "{err}");
}

/// Extra digests go in and come back out, in the header's order, on files with a
/// checksum only; the writer refuses what the reader would refuse. The header's filters
/// and listing options come back as they went in.
#[test]
fn extra_digests_and_listing_round_trip() {
    let kinds = vec![HashKind::Md5, HashKind::Sha256];
    let header = Header {
        algorithm: Algorithm::Xxh128,
        origin: Origin::Scan,
        sources: vec![b"src/".to_vec()],
        roots: vec![b"/src/".to_vec()],
        one_file_system: OneFileSystem::OFF,
        filters: vec![
            crate::scan::walk::FilterArg::IncludeFrom(b"*.c\n".to_vec()),
            crate::scan::walk::FilterArg::ExcludeFrom0(b"x\0y".to_vec()),
            crate::scan::walk::FilterArg::IncludeFrom0(b"z\0".to_vec()),
        ],
        host: "h".into(),
        created: Timestamp::default(),
        generation: 1,
        fimsum_version: "0.1.0".into(),
        extra_digests: kinds.clone(),
        skip_fs: Some(vec![0x6969]),
        listing: Some(crate::scan::walk::Listing {
            recursive: false,
            max_size: Some(1 << 20),
            files_from: Some(vec![b"a".to_vec(), b"b/\n".to_vec()]),
            ..crate::scan::walk::Listing::ARCHIVE
        }),
    };
    let mut link = entry("l", Kind::Symlink, Content::NotAFile);
    link.link_target = Some(b"a".to_vec());
    let records = [
        entry(".", Kind::Dir, Content::NotAFile),
        hashed("a", Algorithm::Xxh128, &kinds),
        entry("b", Kind::File, Content::ChangedDuringScan("grew".into())),
        link,
        entry("d", Kind::Dir, Content::NotAFile),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3");
    let mut writer = BaselineWriter::create(&path, &header).unwrap();
    for r in &records {
        writer.append(r).unwrap();
    }
    writer.finish().unwrap();
    let verified = check_integrity(&std::fs::read(&path).unwrap()[..]).unwrap();
    assert_eq!(verified.version, FORMAT_VERSION);
    let base = Baseline::open(&path).unwrap();
    assert_eq!(base.header, header);
    let back: Vec<Record> = base.records().map(Result::unwrap).collect();
    assert_eq!(back, records);
    assert_eq!(
        back[1].extra_digest(HashKind::Sha256),
        Some(&HashKind::Sha256.digest(b"a"))
    );

    // A hashed file without (all of) the header's digests, or a directory with one.
    let mut writer = BaselineWriter::create(&path, &header).unwrap();
    let partial = hashed("a", Algorithm::Xxh128, &[HashKind::Sha256]);
    assert!(writer.append(&partial).is_err());
    let mut dir_with = entry("d", Kind::Dir, Content::NotAFile);
    dir_with.extra = hashed("d", Algorithm::Xxh128, &kinds).extra;
    assert!(writer.append(&dir_with).is_err());
    // A name the reader would refuse (`record::check_name`) is refused here too.
    for name in ["sub/../../etc/shadow", "/etc/passwd", "a//b"] {
        assert!(writer
            .append(&entry(name, Kind::Dir, Content::NotAFile))
            .is_err());
    }
    drop(writer);
    // A list that is not canonical.
    for extra_digests in [
        vec![HashKind::Sha256, HashKind::Md5],
        vec![HashKind::Sha1, HashKind::Sha1],
    ] {
        let odd = Header {
            extra_digests,
            ..header.clone()
        };
        assert!(BaselineWriter::create(&path, &odd).is_err());
    }
    let same_as_checksum = Header {
        algorithm: Algorithm::Md5,
        extra_digests: vec![HashKind::Md5],
        ..header.clone()
    };
    assert!(BaselineWriter::create(&path, &same_as_checksum).is_err());
    // The good baseline is still there.
    assert_eq!(
        check_integrity(&std::fs::read(&path).unwrap()[..])
            .unwrap()
            .count,
        5
    );
}

/// A version-4 baseline's records carry no attributes: read as not recorded. Version 5
/// carries them whole, and refuses what no scan would have recorded.
#[test]
fn attributes_round_trip_in_version_5_and_version_4_records_have_none() {
    use crate::attrs::{Acl, AclEntry, Attrs, Caps, Extended, Flags, IMMUTABLE};
    let dir = tempfile::tempdir().unwrap();
    let v4_header = || WireHeaderV4 {
        v3: WireHeaderV3 {
            v2: WireHeaderV2 {
                v1: wire_header(Algorithm::Md5),
                generation: 3,
            },
            extra_digests: Vec::new(),
        },
        skip_fs: Some(Vec::new()),
    };
    let head = encode(v4_header());
    let plain = entry("a", Kind::File, Content::NotHashed);
    let v4 = dir.path().join("v4");
    std::fs::write(&v4, file_of(4, &head, &[v3_record(&plain, Vec::new())])).unwrap();
    let back: Vec<Record> = Baseline::open(&v4)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(back, std::slice::from_ref(&plain));
    assert_eq!(back[0].attrs, None);

    let extended = Extended {
        caps: Some(Caps {
            version: 3,
            effective: true,
            permitted: 1 << 7,
            inheritable: 0,
            rootid: Some(1000),
        }),
        acl: Some(Acl(vec![
            AclEntry {
                tag: 1,
                perm: 6,
                id: 0,
            },
            AclEntry {
                tag: 2,
                perm: 7,
                id: 65534,
            },
            AclEntry {
                tag: 4,
                perm: 4,
                id: 0,
            },
            AclEntry {
                tag: 0x10,
                perm: 7,
                id: 0,
            },
            AclEntry {
                tag: 0x20,
                perm: 4,
                id: 0,
            },
        ])),
        default_acl: None,
        selinux: Some(b"system_u:object_r:bin_t:s0".to_vec()),
        xattrs: Vec::new(),
    };
    let mut full = Attrs::new(Some(Flags(IMMUTABLE)), extended);
    full.add_xattr(b"user.blob", Ok(vec![0; 100]));
    full.add_xattr(b"user.note", Ok(b"hello".to_vec()));
    full.add_xattr(b"trusted.x", Err("Permission denied".into()));
    let mut with = plain.clone();
    with.attrs = Some(full.clone());
    let mut unread = entry("b", Kind::File, Content::NotHashed);
    unread.attrs = Some(Attrs::new(None, Extended::default()));
    let mut empty = entry("c", Kind::File, Content::NotHashed);
    empty.attrs = Some(Attrs::default());
    let records = [
        with,
        unread,
        empty,
        entry("d", Kind::File, Content::NotHashed),
    ];
    let header = Baseline::open(&v4).unwrap().header;
    let v5 = dir.path().join("v5");
    let mut writer = BaselineWriter::create(&v5, &header).unwrap();
    for r in &records {
        writer.append(r).unwrap();
    }
    writer.finish().unwrap();
    let back: Vec<Record> = Baseline::open(&v5)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(back, records);

    // Crafted records: each what no scan records, each refused with a reason.
    let crafted = |edit: &dyn Fn(&mut WireAttrs)| {
        let mut wire = WireAttrs::from_attrs(&full);
        edit(&mut wire);
        let record = encode(WireRecordV5 {
            v3: WireRecordV3 {
                v2: WireRecord::from_record(&plain),
                extra: Vec::new(),
            },
            attrs: Some(wire),
            snapshot: None,
        });
        let path = dir.path().join("crafted");
        let head = encode(WireHeaderV5 {
            v4: v4_header(),
            listing: None,
        });
        std::fs::write(&path, file_of(5, &head, &[record])).unwrap();
        // Opening verifies every record.
        Baseline::open(&path)?
            .records()
            .map(|r| r.map(|_| ()))
            .collect::<Result<Vec<()>>>()
    };
    assert!(crafted(&|_| {}).is_ok());
    type Edit<'a> = &'a dyn Fn(&mut WireAttrs);
    let refused: [(&str, Edit); 6] = [
        ("extents flag", &|w| w.flags = Some(0x80000)),
        ("capability version", &|w| {
            w.caps = Some((4, true, 1, 0, None))
        }),
        ("v3 without root id", &|w| {
            w.caps = Some((3, true, 1, 0, None))
        }),
        ("ACL tag", &|w| w.acl = Some(vec![(0x40, 7, 0)])),
        ("xattrs out of order", &|w| w.xattrs.reverse()),
        ("long text", &|w| {
            w.xattrs[0].1 = WireXattrValue::Text(vec![b'a'; 65]);
        }),
    ];
    for (what, edit) in refused {
        let err = crafted(edit).expect_err(what);
        assert!(err.to_string().contains("crafted"), "{what}: {err}");
    }
}

/// Crafted version-3 files with a right digest: every inconsistency between the
/// header's list and a record's extra digests is an error naming it, never a panic.
#[test]
fn corrupt_extra_digests_are_refused() {
    let sha = [HashKind::Sha256];
    let head = v3_header(Algorithm::Md5, vec![HashKind::Sha256.code()]);
    let good = hashed("a", Algorithm::Md5, &sha);
    let ok = v3_record(&good, vec![good.extra[0].1.as_bytes().to_vec()]);
    assert!(check_integrity(&file_of(3, &head, std::slice::from_ref(&ok))[..]).is_ok());
    let sha256 = |data: &[u8]| HashKind::Sha256.digest(data).as_bytes().to_vec();
    let bare = hashed("a", Algorithm::Md5, &[]);
    let dir = entry("d", Kind::Dir, Content::NotAFile);
    let unreadable = entry("u", Kind::File, Content::Unreadable("EIO".into()));
    let cases: [(&str, Vec<u8>, &str); 7] = [
        (
            "missing",
            v3_record(&bare, vec![]),
            "0 extra digests where 1 belong",
        ),
        (
            "one too many",
            v3_record(&bare, vec![sha256(b"a"), sha256(b"b")]),
            "2 extra digests where 1 belong",
        ),
        (
            "short",
            v3_record(&bare, vec![sha256(b"a")[..31].to_vec()]),
            "sha256 digest of 31 bytes",
        ),
        (
            "md5-sized",
            v3_record(&bare, vec![Algorithm::Md5.digest(b"a").as_bytes().to_vec()]),
            "sha256 digest of 16 bytes",
        ),
        (
            "on a directory",
            v3_record(&dir, vec![sha256(b"d")]),
            "1 extra digests where 0 belong",
        ),
        (
            "on an unreadable file",
            v3_record(&unreadable, vec![sha256(b"u")]),
            "1 extra digests where 0 belong",
        ),
        (
            "a version-2 record",
            encode(WireRecord::from_record(&bare)),
            "record 1 of 1",
        ),
    ];
    for (what, frame, want) in cases {
        let err = check_integrity(&file_of(3, &head, &[frame])[..]).err();
        let err = err.unwrap_or_else(|| panic!("{what}: verified"));
        assert!(err.contains(want), "{what}: {err}");
    }
    let headers: [(&str, Vec<u8>, &str); 5] = [
        ("unknown kind", vec![9], "unknown digest code 9"),
        ("repeated", vec![3, 3], "repeated, out of order"),
        ("out of order", vec![3, 1], "repeated, out of order"),
        ("the checksum itself", vec![1, 3], "the checksum itself"),
        (
            "no list",
            vec![],
            "record 1 of 1: 1 extra digests where 0 belong",
        ),
    ];
    for (what, codes, want) in headers {
        let file = file_of(
            3,
            &v3_header(Algorithm::Md5, codes),
            std::slice::from_ref(&ok),
        );
        let err = check_integrity(&file[..]).err();
        let err = err.unwrap_or_else(|| panic!("{what}: verified"));
        assert!(err.contains(want), "{what}: {err}");
    }
    // A version-2 header in a version-3 file.
    let v2_head = encode(WireHeaderV2 {
        v1: wire_header(Algorithm::Md5),
        generation: 1,
    });
    let err = check_integrity(&file_of(3, &v2_head, &[])[..])
        .err()
        .unwrap();
    assert!(err.contains("bad header"), "{err}");
}

fn signed_header() -> Header {
    Header {
        algorithm: Algorithm::Md5,
        origin: Origin::Scan,
        sources: vec![b"src/".to_vec()],
        roots: vec![b"/src/".to_vec()],
        one_file_system: OneFileSystem::OFF,
        filters: Vec::new(),
        host: "h".into(),
        created: Timestamp::default(),
        generation: 4,
        fimsum_version: "0.1.0".into(),
        extra_digests: Vec::new(),
        skip_fs: None,
        listing: None,
    }
}

fn write_signed(path: &Path, key: SecretKey, records: &[Record]) {
    let mut writer = BaselineWriter::create_signed(path, &signed_header(), key).unwrap();
    for r in records {
        writer.append(r).unwrap();
    }
    writer.finish().unwrap();
}

/// The records handed out (to the diff, and to `check --quick`'s second reader) are
/// decoded from the very bytes whose signature was verified: a file rewritten in place
/// after the verifying pass, here with other records of the same length, changes
/// nothing that is read.
#[test]
fn signed_records_are_not_read_again_after_verification() {
    let dir = tempfile::tempdir().unwrap();
    let keys = sign::generate(&dir.path().join("k")).unwrap();
    let key = || SecretKey::load(&keys.secret).unwrap();
    let good = [
        entry(".", Kind::Dir, Content::NotAFile),
        hashed("bin", Algorithm::Md5, &[]),
    ];
    let mut backdoor = good.clone();
    backdoor[1].content = Content::Digest(Algorithm::Md5.digest(b"backdoor"));
    let path = dir.path().join("b");
    let other = dir.path().join("other");
    write_signed(&path, key(), &good);
    write_signed(&other, key(), &backdoor);
    let forged = std::fs::read(&other).unwrap();
    assert_eq!(
        forged.len(),
        std::fs::metadata(&path).unwrap().len() as usize
    );

    let policy = Policy {
        key: sign::PublicKey::load(&keys.public).unwrap(),
        expect_host: None,
        min_generation: None,
    };
    let base = Baseline::open_with(&path, Some(&policy)).unwrap();
    assert!(matches!(base.signature, SignatureStatus::Verified(_)));
    // Rewritten in place between the verification and the reading of the records.
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all(&forged).unwrap();
    drop(file);
    let again: Vec<Record> = base.records_again().unwrap().map(Result::unwrap).collect();
    let read: Vec<Record> = base.records().map(Result::unwrap).collect();
    assert_eq!(read, good);
    assert_eq!(again, good);
}

/// Only the exact names of a writer's temporary files are taken for them.
#[test]
fn temporary_names_are_recognised_exactly() {
    let name = b"b.fimsum";
    for (entry, pid) in [
        (&b".b.fimsum.tmp.123"[..], Some(123)),
        (b".b.fimsum.2.tmp.77", Some(77)),
        (b"b.fimsum.tmp.9", Some(9)),
        (b".b.fimsum.tmp.", None),
        (b".b.fimsum.tmp.12x", None),
        (b".b.fimsum.x.tmp.12", None),
        (b".b.fimsum.lock", None),
        (b"b.fimsum", None),
        (b"b.fimsum.1", None),
        (b".c.fimsum.tmp.1", None),
        (b".b.fimsumx.tmp.1", None),
        (b".b.fimsum.tmp.99999999999", None),
    ] {
        assert_eq!(
            temporary_pid(name, entry),
            pid,
            "{}",
            String::from_utf8_lossy(entry)
        );
    }
}

/// What a killed run left (its temporary file of a dead process) is removed by the next
/// writer; a live process's, another user's, a symlink and other names are left alone.
#[test]
fn stale_temporaries_of_dead_runs_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A PID that is not running: a child that has been reaped.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    let dead = child.id();
    let stale = [
        format!(".b.tmp.{dead}"),
        format!(".b.1.tmp.{dead}"),
        format!("b.tmp.{dead}"),
    ];
    for name in &stale {
        std::fs::write(d.join(name), b"left over").unwrap();
    }
    let live = format!(".b.tmp.{}", std::os::unix::process::parent_id());
    std::fs::write(d.join(&live), b"in use").unwrap();
    let theirs = format!(".b.2.tmp.{dead}");
    std::fs::write(d.join(&theirs), b"not ours").unwrap();
    std::os::unix::fs::chown(d.join(&theirs), Some(65534), Some(65534)).unwrap();
    let link = format!(".b.3.tmp.{dead}");
    std::os::unix::fs::symlink("victim", d.join(&link)).unwrap();
    std::fs::write(d.join("victim"), b"keep").unwrap();
    std::fs::write(d.join("b.other"), b"keep").unwrap();

    let writer = BaselineWriter::create_next(&d.join("b"), &signed_header()).unwrap();
    writer.finish().unwrap();
    for name in &stale {
        assert!(!d.join(name).exists(), "{name} left");
    }
    for name in [&live, &theirs, "victim", "b.other"] {
        assert!(d.join(name).exists(), "{name} removed");
    }
    assert!(d.join(&link).symlink_metadata().is_ok());
}

/// Where neither `linkat` of the anonymous file works (no /proc in a chroot, no
/// CAP_DAC_READ_SEARCH), the finished baseline is copied into a named temporary file and
/// moved into place all the same, leaving nothing else behind.
#[test]
fn a_chroot_without_proc_still_gets_its_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b");
    let records = [
        entry(".", Kind::Dir, Content::NotAFile),
        hashed("a", Algorithm::Md5, &[]),
    ];
    NO_LINKAT.with(|c| c.set(true));
    let mut writer = BaselineWriter::create_next(&path, &signed_header()).unwrap();
    for r in &records {
        writer.append(r).unwrap();
    }
    let finished = writer.finish();
    NO_LINKAT.with(|c| c.set(false));
    assert_eq!(finished.unwrap(), 2);
    let back: Vec<Record> = Baseline::open(&path)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(back, records);
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".b.lock", "b"]);
}

/// Rotating keeps every numbered baseline in place and shifts them by one.
#[test]
fn rotation_shifts_every_kept_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b");
    for generation in 1..=4 {
        let mut writer = BaselineWriter::create_next(&path, &signed_header()).unwrap();
        assert_eq!(writer.generation(), generation);
        writer.keep_previous(2);
        writer.finish().unwrap();
    }
    let generation = |name: &str| {
        Baseline::open(&dir.path().join(name))
            .unwrap()
            .header
            .generation
    };
    assert_eq!(
        (generation("b"), generation("b.1"), generation("b.2")),
        (4, 3, 2)
    );
    assert!(!dir.path().join("b.3").exists());
}

/// A crafted file with a right digest whose records are out of order, or whose second
/// record does not decode: opened in full, it is refused; opened to stream (as `check`
/// does), the records before the bad one are handed out, then an error naming the file
/// and the record, then nothing.
#[test]
fn streamed_records_are_checked_as_they_are_read() {
    let head = encode(WireHeaderV2 {
        v1: wire_header(Algorithm::Md5),
        generation: 1,
    });
    let frame = |name: &str| encode(WireRecord::from_record(&hashed(name, Algorithm::Md5, &[])));
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("out of order", vec![frame("b"), frame("a"), frame("c")]),
        ("repeated", vec![frame("a"), frame("a"), frame("c")]),
        ("undecodable", vec![frame("a"), vec![0xff; 3], frame("c")]),
    ];
    for (what, frames) in cases {
        let path = dir.path().join(what);
        std::fs::write(&path, file_of(2, &head, &frames)).unwrap();
        let err = Baseline::open(&path).err().expect(what).to_string();
        assert!(err.contains("record 2 of 3"), "{what}: {err}");
        let base = Baseline::open_streaming(&path, None).expect(what);
        let mut records = base.records();
        assert!(records.next().expect(what).is_ok(), "{what}");
        let err = records.next().expect(what).expect_err(what).to_string();
        assert!(err.contains("record 2 of 3"), "{what}: {err}");
        assert!(err.contains(&*path.to_string_lossy()), "{what}: {err}");
        assert!(records.next().is_none(), "{what}: a record after the error");
    }
    // What is wrong with the frames, the digest or the end is refused at once either way.
    let mut file = file_of(2, &head, &[frame("a")]);
    let last = file.len() - 1;
    file[last] ^= 1;
    let path = dir.path().join("digest");
    std::fs::write(&path, &file).unwrap();
    let err = Baseline::open_streaming(&path, None).err().unwrap();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
}

/// The listing options that came after version 5 ride after its listing as (code, value)
/// pairs (1: the symlink options, 2: `-R`, 3: `-H`): a baseline written without them has
/// the bytes it always had and reads back without them, one written with any of them reads
/// back with them, the lone byte the first fimsum to know -L wrote still reads, and what no
/// fimsum writes (an empty list, an unknown code or value, codes out of order or twice,
/// options without a listing) is refused.
#[test]
fn listing_options_ride_after_the_listing() {
    use crate::scan::walk::{Follow, Listing};
    let dir = tempfile::tempdir().unwrap();
    let with = |follow: Follow, relative: bool, hard_links: bool| Header {
        listing: Some(Listing {
            follow,
            relative,
            hard_links,
            ..Listing::ARCHIVE
        }),
        ..signed_header()
    };
    let plain = signed_prefix(&with(Follow::NONE, false, false), 0).unwrap();
    for code in 0..8u8 {
        for (relative, hard_links) in [(false, false), (true, false), (false, true), (true, true)] {
            let follow = Follow::from_code(code).unwrap();
            let header = with(follow, relative, hard_links);
            let prefix = signed_prefix(&header, 0).unwrap();
            if code == 0 && !relative && !hard_links {
                assert_eq!(prefix, plain);
            } else {
                assert!(prefix.len() > plain.len(), "{:?}", header.listing);
            }
            let path = dir.path().join(format!("f{code}{relative}{hard_links}"));
            BaselineWriter::create(&path, &header)
                .unwrap()
                .finish()
                .unwrap();
            let base = Baseline::open(&path).unwrap();
            assert_eq!(base.header, header);
        }
    }
    let v4 = || WireHeaderV4 {
        v3: WireHeaderV3 {
            v2: WireHeaderV2 {
                v1: wire_header(Algorithm::Md5),
                generation: 3,
            },
            extra_digests: Vec::new(),
        },
        skip_fs: None,
    };
    let listed = encode(WireHeaderV5 {
        v4: v4(),
        listing: Some(WireListing::from_listing(&Listing::ARCHIVE)),
    });
    let bare = encode(WireHeaderV5 {
        v4: v4(),
        listing: None,
    });
    let open = |head: &[u8]| {
        let path = dir.path().join("crafted");
        std::fs::write(&path, file_of(5, head, &[])).unwrap();
        Baseline::open(&path).map(|b| b.header.listing)
    };
    let options = |list: Vec<(u8, Vec<u8>)>| [&listed[..], &encode(list)].concat();
    let back = open(&options(vec![(1, vec![5])])).unwrap().unwrap();
    assert!(back.follow.copy_links && !back.follow.copy_unsafe_links && back.follow.safe_links);
    let legacy = open(&[&listed[..], &[5]].concat()).unwrap().unwrap();
    assert_eq!(legacy.follow, back.follow);
    let all = open(&options(vec![(1, vec![1]), (2, vec![1]), (3, Vec::new())]))
        .unwrap()
        .unwrap();
    assert!(all.follow.copy_links && all.relative && all.hard_links);
    let none = open(&listed).unwrap().unwrap();
    assert!(none.follow == Follow::NONE && !none.relative && !none.hard_links);
    for (bad, what) in [
        (options(Vec::new()), "an empty list"),
        (
            [&listed[..], &[8]].concat(),
            "an unknown bit in the lone byte",
        ),
        (options(vec![(1, vec![8])]), "an unknown bit"),
        (
            options(vec![(1, vec![1, 1])]),
            "two bytes of symlink options",
        ),
        (options(vec![(1, vec![1]), (1, vec![1])]), "a code twice"),
        (options(vec![(2, vec![0])]), "-R off, which is not written"),
        (options(vec![(2, vec![2])]), "another value for -R"),
        (options(vec![(2, Vec::new())]), "no value for -R"),
        (options(vec![(3, vec![1])]), "a value for -H"),
        (
            options(vec![(3, Vec::new()), (1, vec![1])]),
            "codes out of order",
        ),
        (options(vec![(200, vec![1])]), "an unknown code"),
        ([&bare[..], &[1]].concat(), "no listing"),
    ] {
        assert!(open(&bad).is_err(), "{what} must be refused");
    }
}

/// `-C`'s names from the environment (filter kind 8) and the dir-merge rules come back as
/// they went in, so that `check` rescans with the same CVS ignore list and the same
/// per-directory rules.
#[test]
fn cvs_environment_and_dir_merge_rules_round_trip() {
    use crate::scan::walk::FilterArg;
    let filters = vec![
        FilterArg::CvsEnvironment(b"*.local\n! extra".to_vec()),
        FilterArg::Rule(b": /.rsync-filter".to_vec()),
        FilterArg::Rule(b":C".to_vec()),
        FilterArg::Rule(b"-C".to_vec()),
    ];
    let header = Header {
        filters: filters.clone(),
        listing: Some(crate::scan::walk::Listing::ARCHIVE),
        ..signed_header()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cvs");
    let mut writer = BaselineWriter::create(&path, &header).unwrap();
    writer
        .append(&entry(".", Kind::Dir, Content::NotAFile))
        .unwrap();
    writer.finish().unwrap();
    let base = Baseline::open(&path).unwrap();
    assert_eq!(base.header.filters, filters);
    assert_eq!(
        FilterArg::from_code(8, b"x".to_vec()),
        Some(FilterArg::CvsEnvironment(b"x".to_vec()))
    );
    assert_eq!(FilterArg::from_code(9, Vec::new()), None);
}
