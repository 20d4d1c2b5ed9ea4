//! Throughput of every supported MD5 kernel against md-5 0.11, on three message sets:
//! 4 KiB x 4096, 64 KiB x 1024, and a mixed set (log-uniform 100 B .. 4 MiB, fixed seed).
//!
//! `cargo bench --bench md5mb` prints bytes/s per kernel (one thread).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use fimsum::hash::md5::{md5_many, Kernel};
use fimsum::testing::SplitMix;
use md5::{Digest, Md5};
use std::ops::Range;
use std::time::Duration;

/// A set of messages cut back to back from one buffer.
struct MessageSet {
    name: &'static str,
    buf: Vec<u8>,
    ranges: Vec<Range<usize>>,
}

impl MessageSet {
    fn new(name: &'static str, sizes: &[usize]) -> Self {
        let total: usize = sizes.iter().sum();
        let buf = SplitMix(0x5eed).bytes(total);
        let mut ranges = Vec::with_capacity(sizes.len());
        let mut start = 0;
        for &size in sizes {
            ranges.push(start..start + size);
            start += size;
        }
        MessageSet { name, buf, ranges }
    }

    fn messages(&self) -> Vec<&[u8]> {
        self.ranges.iter().map(|r| &self.buf[r.clone()]).collect()
    }

    fn bytes(&self) -> u64 {
        self.buf.len() as u64
    }
}

/// `count` sizes, log-uniform between `min` and `max` bytes.
fn log_uniform_sizes(count: usize, min: f64, max: f64, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix(seed);
    let (lo, hi) = (min.ln(), max.ln());
    (0..count)
        .map(|_| (lo + (hi - lo) * rng.unit()).exp() as usize)
        .collect()
}

fn message_sets() -> Vec<MessageSet> {
    vec![
        MessageSet::new("4KiB_x4096", &[4096; 4096]),
        MessageSet::new("64KiB_x1024", &[64 << 10; 1024]),
        MessageSet::new(
            "mixed_100B-4MiB_x1000",
            &log_uniform_sizes(1000, 100.0, (4 << 20) as f64, 42),
        ),
    ]
}

fn bench_md5(c: &mut Criterion) {
    for set in message_sets() {
        let messages = set.messages();
        let mut out = vec![[0u8; 16]; messages.len()];
        let mut group = c.benchmark_group(set.name);
        group.throughput(Throughput::Bytes(set.bytes()));
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(4));

        group.bench_function("md-5_0.11", |b| {
            b.iter(|| {
                for (message, digest) in messages.iter().zip(out.iter_mut()) {
                    *digest = Md5::digest(message).into();
                }
                black_box(&out);
            })
        });
        for kernel in Kernel::ALL.into_iter().filter(|k| k.is_supported()) {
            group.bench_function(kernel.name(), |b| {
                b.iter(|| {
                    md5_many(kernel, black_box(&messages), &mut out);
                    black_box(&out);
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_md5);
criterion_main!(benches);
