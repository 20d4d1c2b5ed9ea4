//! The checksum algorithms rsync offers for `--checksum-choice`, and how rsync writes them.
//!
//! This is the only module that names a hash crate. Everything else sees an [`Algorithm`],
//! a streaming [`Hasher`], [`digest_stream`] for a stream of files (where multi-buffer MD5
//! from [`crate::md5_mb`] comes in) and a fixed-size [`Digest`].

use std::fmt;
use std::str::FromStr;

use md4::Digest as _;

pub use crate::md5_mb::Kernel;

/// A checksum algorithm of rsync's `--checksum-choice` (see rsync `checksum.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Md4,
    Sha1,
    Xxh64,
    Xxh3,
    Xxh128,
}

impl Algorithm {
    pub const ALL: [Algorithm; 6] = [
        Algorithm::Md5,
        Algorithm::Md4,
        Algorithm::Sha1,
        Algorithm::Xxh64,
        Algorithm::Xxh3,
        Algorithm::Xxh128,
    ];

    /// The name rsync accepts for `--checksum-choice`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Md4 => "md4",
            Algorithm::Sha1 => "sha1",
            Algorithm::Xxh64 => "xxh64",
            Algorithm::Xxh3 => "xxh3",
            Algorithm::Xxh128 => "xxh128",
        }
    }

    /// Digest length in bytes; `%C` prints twice as many hex digits.
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::Md5 | Algorithm::Md4 | Algorithm::Xxh128 => 16,
            Algorithm::Sha1 => 20,
            Algorithm::Xxh64 | Algorithm::Xxh3 => 8,
        }
    }

    /// Width of `%C` in characters, also the number of spaces rsync prints for non-files.
    pub fn hex_width(self) -> usize {
        2 * self.digest_len()
    }

    /// A stable one-byte code, used by the baseline format.
    pub fn code(self) -> u8 {
        match self {
            Algorithm::Md5 => 1,
            Algorithm::Md4 => 2,
            Algorithm::Sha1 => 3,
            Algorithm::Xxh64 => 4,
            Algorithm::Xxh3 => 5,
            Algorithm::Xxh128 => 6,
        }
    }

    pub fn from_code(code: u8) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.code() == code)
    }

    pub fn hasher(self) -> Hasher {
        Hasher::new(self)
    }

    /// Hash a whole buffer at once.
    pub fn digest(self, data: &[u8]) -> Digest {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Algorithm, String> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown checksum algorithm {s:?} (md5, md4, sha1, xxh64, xxh3, xxh128)")
            })
    }
}

/// A finished checksum in rsync's canonical byte order: the digest bytes for md4/md5/sha1,
/// the big-endian number for the xxhash family (rsync's `canonical_checksum`), so that
/// plain lowercase hex of [`Digest::as_bytes`] is exactly `%C`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    len: u8,
    bytes: [u8; 20],
}

impl Digest {
    /// Build a digest from raw bytes (at most 20), e.g. parsed back from hex.
    pub fn from_bytes(raw: &[u8]) -> Option<Digest> {
        if raw.is_empty() || raw.len() > 20 {
            return None;
        }
        let mut bytes = [0u8; 20];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(Digest {
            len: raw.len() as u8,
            bytes,
        })
    }

    /// A 16-byte digest (MD4, MD5, XXH128).
    pub fn from_array(raw: [u8; 16]) -> Digest {
        let mut bytes = [0u8; 20];
        bytes[..16].copy_from_slice(&raw);
        Digest { len: 16, bytes }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Lowercase hex, as rsync's `sum_as_hex` writes it.
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(2 * self.len as usize);
        for &b in self.as_bytes() {
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 15) as usize] as char);
        }
        s
    }

    /// Parse lowercase or uppercase hex of 8, 16 or 20 bytes.
    pub fn from_hex(hex: &[u8]) -> Option<Digest> {
        if !hex.len().is_multiple_of(2) {
            return None;
        }
        let mut raw = [0u8; 20];
        let n = hex.len() / 2;
        if n > 20 {
            return None;
        }
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            raw[i] = (hi * 16 + lo) as u8;
        }
        Digest::from_bytes(&raw[..n])
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

pub use crate::md5_mb::{Message, Next};

/// A source of messages and the sink of their digests, for [`digest_stream`].
pub trait Feed {
    type Msg: Message;
    /// The next message. With `wait` the feed may block until it has one or knows there are
    /// none left; without, it must answer at once ([`Next::Later`] when it has nothing).
    fn next(&mut self, wait: bool) -> Next<Self::Msg>;
    /// The digest of a message handed out by [`Feed::next`].
    fn done(&mut self, msg: Self::Msg, digest: Digest);
}

/// Hash every message `feed` hands out. MD5 goes through the multi-buffer kernel (many files
/// side by side in SIMD lanes, see [`crate::md5_mb`]) unless `kernel` is scalar; the other
/// algorithms are fast enough one message at a time.
pub fn digest_stream<F: Feed>(algorithm: Algorithm, kernel: Kernel, feed: &mut F) {
    if algorithm == Algorithm::Md5 {
        crate::md5_mb::md5_stream(kernel, &mut Md5Feed(feed));
        return;
    }
    loop {
        match feed.next(true) {
            Next::Msg(mut msg) => {
                let mut hasher = algorithm.hasher();
                loop {
                    hasher.update(msg.piece());
                    if !msg.next_piece() {
                        break;
                    }
                }
                feed.done(msg, hasher.finish());
            }
            Next::Later => continue,
            Next::End => return,
        }
    }
}

/// A [`Feed`] as the MD5 scheduler sees it.
struct Md5Feed<'a, F>(&'a mut F);

impl<F: Feed> crate::md5_mb::Feed for Md5Feed<'_, F> {
    type Msg = F::Msg;

    fn next(&mut self, wait: bool) -> Next<F::Msg> {
        self.0.next(wait)
    }

    fn done(&mut self, msg: F::Msg, digest: [u8; 16]) {
        self.0.done(msg, Digest::from_array(digest));
    }
}

/// A streaming hash of one file's content.
pub enum Hasher {
    Md5(md5::Md5),
    Md4(md4::Md4),
    Sha1(sha1::Sha1),
    Xxh64(twox_hash::XxHash64),
    Xxh3(Box<twox_hash::XxHash3_64>),
    Xxh128(Box<twox_hash::XxHash3_128>),
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Md5 => Hasher::Md5(md5::Md5::new()),
            Algorithm::Md4 => Hasher::Md4(md4::Md4::new()),
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            // rsync seeds every xxhash with 0.
            Algorithm::Xxh64 => Hasher::Xxh64(twox_hash::XxHash64::with_seed(0)),
            Algorithm::Xxh3 => Hasher::Xxh3(Box::new(twox_hash::XxHash3_64::with_seed(0))),
            Algorithm::Xxh128 => Hasher::Xxh128(Box::new(twox_hash::XxHash3_128::with_seed(0))),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        use std::hash::Hasher as _;
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Md4(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Xxh64(h) => h.write(data),
            Hasher::Xxh3(h) => h.write(data),
            Hasher::Xxh128(h) => h.write(data),
        }
    }

    pub fn finish(self) -> Digest {
        use std::hash::Hasher as _;
        let digest = match self {
            Hasher::Md5(h) => Digest::from_bytes(&h.finalize()),
            Hasher::Md4(h) => Digest::from_bytes(&h.finalize()),
            Hasher::Sha1(h) => Digest::from_bytes(&h.finalize()),
            Hasher::Xxh64(h) => Digest::from_bytes(&h.finish().to_be_bytes()),
            Hasher::Xxh3(h) => Digest::from_bytes(&h.finish().to_be_bytes()),
            Hasher::Xxh128(h) => Digest::from_bytes(&h.finish_128().to_be_bytes()),
        };
        // Every algorithm above yields 8 to 20 bytes.
        digest.expect("digest length is within 1..=20")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers for "abc" from the algorithms' reference documents (RFC 1320, RFC 1321,
    // FIPS 180-1) and xxHash's own test vectors.
    #[test]
    fn known_answers_for_abc() {
        let cases = [
            (Algorithm::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            (Algorithm::Md4, "a448017aaf21d8525fc10ae87aa6729d"),
            (Algorithm::Sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ];
        for (algo, hex) in cases {
            assert_eq!(algo.digest(b"abc").to_hex(), hex, "{algo}");
        }
    }

    #[test]
    fn xxhash_of_empty_input_is_big_endian() {
        // XXH64("") = 0xef46db3751d8e999, XXH3_64("") = 0x2d06800538d394c2,
        // XXH3_128("") = 0x99aa06d3014798d86001c324468d497f.
        assert_eq!(Algorithm::Xxh64.digest(b"").to_hex(), "ef46db3751d8e999");
        assert_eq!(Algorithm::Xxh3.digest(b"").to_hex(), "2d06800538d394c2");
        assert_eq!(
            Algorithm::Xxh128.digest(b"").to_hex(),
            "99aa06d3014798d86001c324468d497f"
        );
    }

    #[test]
    fn streaming_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for algo in Algorithm::ALL {
            let mut h = algo.hasher();
            for chunk in data.chunks(777) {
                h.update(chunk);
            }
            assert_eq!(h.finish(), algo.digest(&data), "{algo}");
        }
    }

    #[test]
    fn hex_round_trip_and_widths() {
        for algo in Algorithm::ALL {
            let d = algo.digest(b"fimsum");
            assert_eq!(d.to_hex().len(), algo.hex_width());
            assert_eq!(Digest::from_hex(d.to_hex().as_bytes()), Some(d));
            assert_eq!(Algorithm::from_code(algo.code()), Some(algo));
            assert_eq!(algo.name().parse::<Algorithm>(), Ok(algo));
        }
        assert!(Digest::from_hex(b"zz").is_none());
        assert!("md6".parse::<Algorithm>().is_err());
    }
}
