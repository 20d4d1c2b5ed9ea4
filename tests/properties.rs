//! Property tests (proptest) for the codecs that take hostile input: rsync's escaping, the
//! `%n %C` lines, the baseline file format and the rsync order they all rely on. The fuzz
//! targets in fuzz/ look for panics on arbitrary bytes; these check the round trips on
//! well-formed values. The whole file runs in a few seconds.

use std::cmp::Ordering;

use std::io::Cursor;
use std::sync::OnceLock;

use fimsum::baseline::sign::{self, PublicKey, SecretKey};
use fimsum::baseline::{
    check_integrity, check_signature, Baseline, BaselineWriter, Header, Origin, Policy,
    SignatureStatus,
};
use fimsum::hash::{extra_kinds, Algorithm, Digest, HashKind};
use fimsum::record::{Content, Kind, Meta, Record, Timestamp};
use fimsum::rsync::escape::{escape_line, unescape, Charset};
use fimsum::rsync::log::{format_line, LogReader};
use fimsum::rsync::order::cmp_entries;
use fimsum::scan::walk::FilterArg;
use proptest::prelude::*;

use crate::util::Rng;

const CHARSETS: [Charset; 3] = [Charset::Utf8, Charset::Ascii, Charset::EightBit];

/// A piece of a name, biased towards what the escaper and the parsers treat specially:
/// `\#ddd` and its near misses, spaces and hex digits (the `%C` column), control bytes,
/// valid UTF-8 characters and stray UTF-8 lead and continuation bytes.
fn name_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => any::<u8>().prop_map(|b| vec![b]),
        2 => prop::sample::select(&b"\\#01234567 89abcdef.-/"[..]).prop_map(|b| vec![b]),
        2 => "\\\\#[0-9]{0,4}".prop_map(String::into_bytes),
        1 => prop::sample::select(&b"\n\r\t\x1b\x7f"[..]).prop_map(|b| vec![b]),
        1 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
        1 => (0x80u8..=0xff).prop_map(|b| vec![b]),
    ]
}

/// Any byte string, with the interesting bytes over-represented.
fn any_name_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(name_piece(), 0..24).prop_map(|pieces| pieces.concat())
}

/// One path component: no NUL, no `/`, not empty, not `.` or `..` (no directory entry is
/// named so; `record::check_name` refuses them).
fn component() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(name_piece(), 1..6)
        .prop_map(|pieces| pieces.concat())
        .prop_filter("no NUL or /, not . or ..", |c| {
            !c.is_empty() && !c.contains(&0) && !c.contains(&b'/') && c != b"." && c != b".."
        })
}

/// A relative name as rsync's `%n` gives it (without a directory's trailing slash).
fn entry_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(b".".to_vec()),
        12 => prop::collection::vec(component(), 1..4).prop_map(|parts| parts.join(&b'/')),
    ]
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop::sample::select(&Algorithm::ALL[..])
}

fn digest(algorithm: Algorithm) -> impl Strategy<Value = Digest> {
    digest_of_len(algorithm.digest_len())
}

fn digest_of_len(len: usize) -> impl Strategy<Value = Digest> {
    prop::collection::vec(any::<u8>(), len)
        .prop_map(|bytes| Digest::from_bytes(&bytes).expect("digest length"))
}

/// Extra digests a scan with `algorithm` may be asked for, in the form baselines store.
fn extras(algorithm: Algorithm) -> impl Strategy<Value = Vec<HashKind>> {
    prop::collection::vec(prop::sample::select(&HashKind::ALL[..]), 0..4)
        .prop_map(move |asked| extra_kinds(algorithm, asked))
}

/// One digest of each of these kinds.
fn extra_digests(kinds: Vec<HashKind>) -> impl Strategy<Value = Vec<(HashKind, Digest)>> {
    kinds
        .into_iter()
        .map(|k| digest_of_len(k.digest_len()).prop_map(move |d| (k, d)))
        .collect::<Vec<_>>()
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (any::<i64>(), any::<u32>()).prop_map(|(sec, nsec)| Timestamp { sec, nsec })
}

fn meta() -> impl Strategy<Value = Meta> {
    (
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<u64>()),
        (timestamp(), timestamp()),
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
    )
        .prop_map(
            |((mode, uid, gid, size), (mtime, ctime), (ino, dev, nlink, rdev))| Meta {
                mode,
                uid,
                gid,
                size,
                mtime,
                ctime,
                ino,
                dev,
                nlink,
                rdev,
            },
        )
}

/// A record as a scan (or an imported log) could produce it, for `algorithm` and these
/// extra digests.
fn record(algorithm: Algorithm, extras: Vec<HashKind>) -> impl Strategy<Value = Record> {
    (
        entry_name(),
        prop::sample::select(&Kind::ALL[..]),
        prop::option::of(meta()),
        prop::option::of(any_name_bytes()),
        0..4u8,
        (digest(algorithm), extra_digests(extras)),
        ".{0,12}",
    )
        .prop_map(|(name, kind, meta, link_target, which, digests, reason)| {
            let (digest, extra) = digests;
            let (content, extra) = match which {
                0 if kind == Kind::File => (Content::Digest(digest), extra),
                0 | 1 if kind == Kind::File => (Content::NotHashed, Vec::new()),
                0 | 1 => (Content::NotAFile, Vec::new()),
                2 => (Content::Unreadable(reason), Vec::new()),
                _ => (Content::ChangedDuringScan(reason), Vec::new()),
            };
            Record {
                name,
                kind,
                meta,
                link_target,
                content,
                extra,
                attrs: None,
                snapshot: None,
            }
        })
}

/// Sort into rsync order and drop entries that compare equal: what the writer accepts.
fn rsync_sorted(mut records: Vec<Record>) -> Vec<Record> {
    records.sort_by(|a, b| cmp_entries(&a.name, a.is_dir(), &b.name, b.is_dir()));
    records.dedup_by(|b, a| cmp_entries(&a.name, a.is_dir(), &b.name, b.is_dir()).is_eq());
    records
}

fn filter_arg() -> impl Strategy<Value = FilterArg> {
    prop_oneof![
        any_name_bytes().prop_map(FilterArg::Exclude),
        any_name_bytes().prop_map(FilterArg::Include),
        any_name_bytes().prop_map(FilterArg::ExcludeFrom),
    ]
}

fn header(algorithm: Algorithm, extra_digests: Vec<HashKind>) -> impl Strategy<Value = Header> {
    (
        prop::bool::ANY,
        prop::collection::vec(any_name_bytes(), 0..3),
        prop::collection::vec(any_name_bytes(), 0..3),
        any::<u8>(),
        prop::collection::vec(filter_arg(), 0..3),
        (".{0,16}", timestamp(), any::<u64>(), ".{0,8}"),
    )
        .prop_map(
            move |(log, sources, roots, one_file_system, filters, rest)| {
                let (host, created, generation, fimsum_version) = rest;
                Header {
                    algorithm,
                    origin: if log { Origin::RsyncLog } else { Origin::Scan },
                    sources,
                    roots,
                    one_file_system: one_file_system.into(),
                    filters,
                    host,
                    created,
                    generation,
                    fimsum_version,
                    extra_digests: extra_digests.clone(),
                    skip_fs: if log { None } else { Some(vec![0x6969]) },
                    listing: None,
                }
            },
        )
}

/// A header and up to 40 records in rsync order, for one algorithm and its extra digests.
fn baseline_contents() -> impl Strategy<Value = (Header, Vec<Record>)> {
    (algorithm().prop_flat_map(|a| (Just(a), extras(a)))).prop_flat_map(|(algorithm, extras)| {
        (
            header(algorithm, extras.clone()),
            prop::collection::vec(record(algorithm, extras), 0..40).prop_map(rsync_sorted),
        )
    })
}

/// Write a baseline with the public writer and return its bytes and the directory it is in.
fn write_baseline(header: &Header, records: &[Record]) -> (tempfile::TempDir, Vec<u8>) {
    write_baseline_signed(header, records, None)
}

fn write_baseline_signed(
    header: &Header,
    records: &[Record],
    key: Option<SecretKey>,
) -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("b.fimsum");
    let mut writer = match key {
        Some(key) => BaselineWriter::create_signed(&path, header, key),
        None => BaselineWriter::create(&path, header),
    }
    .expect("create");
    for r in records {
        writer.append(r).expect("append");
    }
    assert_eq!(writer.finish().expect("finish"), records.len() as u64);
    let bytes = std::fs::read(&path).expect("read back");
    (dir, bytes)
}

fn escaped(name: &[u8], charset: Charset) -> Vec<u8> {
    let mut out = Vec::new();
    escape_line(name, charset, &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn unescape_inverts_escape_line(name in any_name_bytes()) {
        for charset in CHARSETS {
            let out = escaped(&name, charset);
            prop_assert_eq!(unescape(&out), name.clone(), "{:?}: {:?}", charset, out);
            // A name can never break the line it is printed on.
            prop_assert!(!out.contains(&b'\n'));
        }
    }

    #[test]
    fn unescape_inverts_escape_line_on_uniform_bytes(
        name in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        for charset in CHARSETS {
            prop_assert_eq!(unescape(&escaped(&name, charset)), name.clone(), "{:?}", charset);
        }
    }

    #[test]
    fn cmp_entries_is_consistent_with_equality(
        a in small_name(), a_dir in prop::bool::ANY,
        b in small_name(), b_dir in prop::bool::ANY,
    ) {
        let ab = cmp_entries(&a, a_dir, &b, b_dir);
        prop_assert_eq!(ab, cmp_entries(&b, b_dir, &a, a_dir).reverse(), "antisymmetry");
        prop_assert_eq!(ab == Ordering::Equal, a == b && a_dir == b_dir, "equality");
        prop_assert_eq!(cmp_entries(&a, a_dir, &a, a_dir), Ordering::Equal, "reflexivity");
    }

    #[test]
    fn cmp_entries_is_transitive(
        mut v in prop::collection::vec((small_name(), prop::bool::ANY), 3),
    ) {
        let cmp = |x: &(Vec<u8>, bool), y: &(Vec<u8>, bool)| cmp_entries(&x.0, x.1, &y.0, y.1);
        v.sort_by(cmp);
        let (a, b, c) = (&v[0], &v[1], &v[2]);
        // After sorting by the comparator, a <= b <= c must imply a <= c, and a = c only
        // if all three are equal.
        prop_assert_ne!(cmp(a, b), Ordering::Greater);
        prop_assert_ne!(cmp(b, c), Ordering::Greater);
        prop_assert_ne!(cmp(a, c), Ordering::Greater, "{:?}", v);
        if cmp(a, c) == Ordering::Equal {
            prop_assert_eq!(cmp(a, b), Ordering::Equal);
            prop_assert_eq!(cmp(b, c), Ordering::Equal);
        }
    }

    #[test]
    fn cmp_entries_sorts_every_order_the_same(
        v in prop::collection::vec((small_name(), prop::bool::ANY), 1..12),
        seed in any::<u64>(),
    ) {
        // A total order sorts every permutation of a list into the same sequence.
        let cmp = |x: &(Vec<u8>, bool), y: &(Vec<u8>, bool)| cmp_entries(&x.0, x.1, &y.0, y.1);
        let mut sorted = v.clone();
        sorted.sort_by(cmp);
        let mut shuffled = v;
        let mut rng = Rng::new(seed);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i + 1));
        }
        shuffled.sort_by(cmp);
        prop_assert_eq!(shuffled, sorted);
    }
}

/// Names from a tiny alphabet, so that equal names, shared prefixes and `x` against
/// `x.d`/`x/y` come up often.
fn small_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(b".".to_vec()),
        8 => prop::collection::vec(
            prop::collection::vec(prop::sample::select(&b"a.-\xff"[..]), 1..3),
            1..4,
        )
        .prop_map(|parts| parts.join(&b'/')),
    ]
}

/// A record of the kinds a `%n %C` log can tell: file (with an md5), directory, other.
fn log_record() -> impl Strategy<Value = Record> {
    (
        entry_name(),
        prop::sample::select(&[Kind::File, Kind::Dir, Kind::Special][..]),
        digest(Algorithm::Md5),
    )
        .prop_map(|(name, kind, digest)| Record {
            name,
            kind,
            meta: None,
            link_target: None,
            content: if kind == Kind::File {
                Content::Digest(digest)
            } else {
                Content::NotAFile
            },
            extra: Vec::new(),
            attrs: None,
            snapshot: None,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn log_lines_read_back_as_written(
        records in prop::collection::vec(log_record(), 0..24),
        charset in prop::sample::select(&CHARSETS[..]),
    ) {
        let mut text = Vec::new();
        for r in &records {
            prop_assert!(format_line(r, Algorithm::Md5, charset, &mut text));
        }
        let back: Vec<Record> = LogReader::new(std::io::Cursor::new(&text[..]), Some(Algorithm::Md5))
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(back, records);
    }

    #[test]
    fn log_width_is_found_from_a_listing(
        records in prop::collection::vec(log_record(), 0..24),
        charset in prop::sample::select(&CHARSETS[..]),
    ) {
        // A full listing of a `src/` source starts with its `./` line, which shows the
        // width; the reader must then find md5's 32 columns without being told.
        let mut records = records;
        records.insert(0, Record {
            name: b".".to_vec(),
            kind: Kind::Dir,
            meta: None,
            link_target: None,
            content: Content::NotAFile,
            extra: Vec::new(),
            attrs: None,
            snapshot: None,
        });
        let mut text = Vec::new();
        for r in &records {
            prop_assert!(format_line(r, Algorithm::Md5, charset, &mut text));
        }
        let mut reader = LogReader::new(std::io::Cursor::new(&text[..]), None);
        prop_assert_eq!(reader.width().ok(), Some(Some(32)));
        let back: Vec<Record> = reader
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(back, records);
    }
}

proptest! {
    // Each case writes a real baseline (O_TMPFILE, fsync, rename): keep the count modest.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn baselines_read_back_as_written((header, records) in baseline_contents()) {
        let (dir, bytes) = write_baseline(&header, &records);
        let verified = check_integrity(&bytes[..]).map_err(TestCaseError::fail)?;
        prop_assert_eq!(verified.count, records.len() as u64);
        let baseline = Baseline::open(&dir.path().join("b.fimsum"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&baseline.header, &header);
        prop_assert_eq!(baseline.count, records.len() as u64);
        let back: Vec<Record> = baseline
            .records()
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, records);
    }

    #[test]
    fn damaged_baselines_never_verify(
        (header, records) in baseline_contents(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        bit in 0..8u8,
    ) {
        let (_dir, bytes) = write_baseline(&header, &records);
        prop_assert!(check_integrity(&bytes[..]).is_ok());
        // Truncated anywhere, including to nothing and to all but the last byte.
        let at = cut.index(bytes.len());
        prop_assert!(check_integrity(&bytes[..at]).is_err(), "verified when cut at {} of {}", at, bytes.len());
        // One bit flipped anywhere.
        let mut damaged = bytes.clone();
        damaged[flip.index(bytes.len())] ^= 1 << bit;
        prop_assert!(check_integrity(&damaged[..]).is_err());
        // A byte appended.
        let mut longer = bytes;
        longer.push(0);
        prop_assert!(check_integrity(&longer[..]).is_err());
    }
}

/// One key pair for the whole run: its directory, the secret key file, a policy that
/// demands its signature (and nothing else).
fn test_key() -> &'static (tempfile::TempDir, std::path::PathBuf, Policy) {
    static KEY: OnceLock<(tempfile::TempDir, std::path::PathBuf, Policy)> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let generated = sign::generate(&dir.path().join("k")).expect("generate a key pair");
        let policy = Policy {
            key: PublicKey::load(&generated.public).expect("load the public key"),
            expect_host: None,
            min_generation: None,
        };
        (dir, generated.secret, policy)
    })
}

proptest! {
    // Signing and verifying Ed25519 is slow in a debug build: a few cases only.
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn signed_baselines_verify_and_damage_never_does(
        (header, records) in baseline_contents(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        bit in 0..8u8,
    ) {
        let (_, secret, policy) = test_key();
        let key = SecretKey::load(secret).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (dir, bytes) = write_baseline_signed(&header, &records, Some(key));
        let signed = check_signature(Cursor::new(&bytes), policy).map_err(TestCaseError::fail)?;
        prop_assert_eq!(&signed.header, &header);
        let baseline = Baseline::open_with(&dir.path().join("b.fimsum"), Some(policy))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(baseline.signature, SignatureStatus::Verified(policy.key.id()));
        let back: Vec<Record> = baseline
            .records()
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, records);
        // Cut anywhere (including just before the signature block) or one bit flipped
        // anywhere (including in the block): never a valid signature.
        let at = cut.index(bytes.len());
        prop_assert!(check_signature(Cursor::new(&bytes[..at]), policy).is_err(), "cut at {}", at);
        let mut damaged = bytes.clone();
        damaged[flip.index(bytes.len())] ^= 1 << bit;
        prop_assert!(check_signature(Cursor::new(&damaged), policy).is_err());
    }
}
