//! Criterion benches: each hash by input size, read() vs mmap for feeding a hash, escaping,
//! the baseline codec and the diff merge. Run with `cargo bench`; see docs/performance.md.

use std::ffi::CString;
use std::hint::black_box;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fimsum::baseline::{Baseline, BaselineWriter, Header, Origin};
use fimsum::diff::{diff, DiffOptions};
use fimsum::hash::Algorithm;
use fimsum::record::{Content, Kind, Meta, Record, Timestamp};
use fimsum::rsync::escape::{escape_line, Charset};
use fimsum::scan::read::{checksum, FileRef};
use fimsum::scan::HookRef;

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 7) as u8).collect()
}

fn hashes(c: &mut Criterion) {
    let mut group = c.benchmark_group("hash");
    for size in [64usize, 4 << 10, 64 << 10, 1 << 20] {
        let input = data(size);
        group.throughput(Throughput::Bytes(size as u64));
        for algo in Algorithm::ALL {
            group.bench_with_input(BenchmarkId::new(algo.name(), size), &input, |b, input| {
                b.iter(|| algo.digest(black_box(input)))
            });
        }
    }
    group.finish();
}

/// Feeding MD5 and XXH128 from the page cache: fimsum's read() path against an mmap of the
/// same file, to back the choice of read() for small files (docs/performance.md).
fn read_vs_mmap(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("read_vs_mmap");
    group.sample_size(20);
    for size in [64usize << 10, 1 << 20, 64 << 20] {
        let path = dir.path().join(format!("f{size}"));
        std::fs::write(&path, data(size)).expect("write");
        let st = std::fs::symlink_metadata(&path).expect("stat");
        let meta = {
            use std::os::unix::fs::MetadataExt;
            Meta {
                size: st.size(),
                ino: st.ino(),
                dev: st.dev(),
                ..Meta::default()
            }
        };
        let dirfd: OwnedFd = std::fs::File::open(dir.path()).expect("open dir").into();
        let file = FileRef {
            dir: Arc::new(dirfd),
            leaf: CString::new(format!("f{size}")).expect("name"),
        };
        group.throughput(Throughput::Bytes(size as u64));
        for algo in [Algorithm::Md5, Algorithm::Xxh128] {
            group.bench_function(BenchmarkId::new(format!("read/{algo}"), size), |b| {
                b.iter(|| checksum(&file, b"f", &meta, algo, &[], &HookRef::default()))
            });
            group.bench_function(BenchmarkId::new(format!("mmap/{algo}"), size), |b| {
                b.iter(|| {
                    let f = std::fs::File::open(&path).expect("open");
                    // SAFETY: a benchmark over a private temporary file nobody truncates.
                    let map = unsafe { memmap2::Mmap::map(&f) }.expect("map");
                    algo.digest(&map)
                })
            });
        }
    }
    group.finish();
}

fn escaping(c: &mut Criterion) {
    let names: Vec<&[u8]> = vec![
        b"usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30 0123456789abcdef0123456789abcdef",
        "usr/share/locale/fr/LC_MESSAGES/café.mo 0123456789abcdef0123456789abcdef".as_bytes(),
        b"tmp/evil\n\x1b[31mname\xff 0123456789abcdef0123456789abcdef",
    ];
    let mut group = c.benchmark_group("escape");
    for cs in [Charset::Utf8, Charset::Ascii] {
        group.bench_function(format!("{cs:?}"), |b| {
            let mut out = Vec::with_capacity(256);
            b.iter(|| {
                for n in &names {
                    out.clear();
                    escape_line(black_box(n), cs, &mut out);
                }
            })
        });
    }
    group.finish();
}

fn records(n: usize, salt: u8) -> Vec<Record> {
    let mut v = vec![Record {
        name: b".".to_vec(),
        kind: Kind::Dir,
        meta: Some(Meta::default()),
        link_target: None,
        content: Content::NotAFile,
        extra: Vec::new(),
        attrs: None,
        snapshot: None,
    }];
    for i in 0..n {
        let body = [salt * u8::from(i % 100 == 0), (i % 251) as u8];
        v.push(Record {
            name: format!("f{i:08}").into_bytes(),
            kind: Kind::File,
            meta: Some(Meta {
                size: 4096,
                mode: 0o644,
                ino: i as u64,
                mtime: Timestamp {
                    sec: 1_700_000_000,
                    nsec: 1,
                },
                ..Meta::default()
            }),
            link_target: None,
            content: Content::Digest(Algorithm::Md5.digest(&body)),
            extra: Vec::new(),
            attrs: None,
            snapshot: None,
        });
    }
    v
}

fn header() -> Header {
    Header {
        algorithm: Algorithm::Md5,
        origin: Origin::Scan,
        sources: vec![b"/bench/".to_vec()],
        roots: vec![b"/bench/".to_vec()],
        one_file_system: fimsum::scan::walk::OneFileSystem::OFF,
        filters: Vec::new(),
        host: "bench".into(),
        created: Timestamp::default(),
        generation: 1,
        fimsum_version: "bench".into(),
        extra_digests: Vec::new(),
        skip_fs: Some(Vec::new()),
        listing: None,
    }
}

fn baseline_codec(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("b.fimsum");
    let recs = records(100_000, 0);
    let mut group = c.benchmark_group("baseline");
    group.sample_size(10);
    group.throughput(Throughput::Elements(recs.len() as u64));
    group.bench_function("encode_100k", |b| {
        b.iter(|| {
            let mut w = BaselineWriter::create(&path, &header()).expect("create");
            for r in &recs {
                w.append(r).expect("append");
            }
            w.finish().expect("finish")
        })
    });
    group.bench_function("verify_and_decode_100k", |b| {
        b.iter(|| Baseline::open(&path).expect("open").records().count())
    });
    group.finish();
}

fn diff_merge(c: &mut Criterion) {
    let old = records(100_000, 0);
    let new = records(100_000, 1);
    let mut group = c.benchmark_group("diff");
    group.sample_size(10);
    group.throughput(Throughput::Elements(old.len() as u64));
    group.bench_function("merge_100k_1pct_changed", |b| {
        b.iter(|| {
            diff(
                old.iter().cloned().map(Ok),
                new.iter().cloned().map(Ok),
                DiffOptions {
                    compare_content: true,
                    ..DiffOptions::default()
                },
            )
            .expect("diff")
            .changes
            .len()
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    hashes,
    read_vs_mmap,
    escaping,
    baseline_codec,
    diff_merge
);
criterion_main!(benches);
