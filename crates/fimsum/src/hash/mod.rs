//! The checksum algorithms rsync offers for `--checksum-choice`, and how rsync writes them;
//! the digests kept beside them (`--digest`).
//!
//! This is the only module that names a hash crate. Everything else sees an [`Algorithm`]
//! or a [`HashKind`], a streaming [`Hasher`], `digest_stream` for a stream of files (where
//! multi-buffer MD5 from [`crate::hash::md5`] comes in) and a fixed-size [`Digest`].

#[doc(hidden)]
pub mod md5;

use std::fmt;
use std::str::FromStr;

use md4::Digest as _;

pub use crate::hash::md5::Kernel;

/// A checksum algorithm of rsync's `--checksum-choice` (see rsync `checksum.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// MD5 (`--checksum-choice=md5`).
    Md5,
    /// MD4 (`md4`).
    Md4,
    /// SHA-1 (`sha1`).
    Sha1,
    /// XXH64 (`xxh64`).
    Xxh64,
    /// XXH3, 64 bits (`xxh3`).
    Xxh3,
    /// XXH3, 128 bits (`xxh128`).
    Xxh128,
}

impl Algorithm {
    /// Every algorithm.
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

    pub(crate) fn from_code(code: u8) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.code() == code)
    }

    /// A new streaming hash of this algorithm.
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
        const NAMES: &str = "md5, md4, sha1, xxh64, xxh3, xxh128";
        if let Some(a) = Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
        {
            return Ok(a);
        }
        // sha256 is a digest people ask for, but rsync has no such checksum: `%C` could not
        // be what rsync prints. Say where it can go instead.
        match s.parse::<HashKind>() {
            Ok(kind) => Err(format!(
                "{kind} is not one of rsync's checksum algorithms ({NAMES}); \
                 it can be recorded beside one as an extra digest (scan --digest {kind})"
            )),
            Err(_) => Err(format!("unknown checksum algorithm {s:?} ({NAMES})")),
        }
    }
}

/// A digest kept beside the rsync checksum (`scan -o FILE --digest sha256,sha1`): the kinds
/// that lists of known-bad files are keyed on (MalwareBazaar gives sha256, md5 and sha1) and
/// that evidence is expected to carry. Also how [`crate::fim::ioc`] names the kind of a listed hash.
///
/// Not an [`Algorithm`]: sha256 is no rsync checksum, so `--checksum-choice` must refuse it
/// and [`Algorithm::ALL`] stays rsync's list. md5 and sha1 are both: as the main algorithm
/// they are `%C`, as a [`HashKind`] they are kept beside another one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashKind {
    /// MD5.
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl HashKind {
    /// Every kind, in their canonical order (that of [`extra_kinds`]).
    pub const ALL: [HashKind; 3] = [HashKind::Md5, HashKind::Sha1, HashKind::Sha256];

    /// The name used by `--digest` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
            HashKind::Sha256 => "sha256",
        }
    }

    /// The kind of a hex hash of this many digits: lists carry no type tag, and the three
    /// lengths are distinct, so the length alone decides.
    pub(crate) fn from_hex_len(len: usize) -> Option<HashKind> {
        match len {
            32 => Some(HashKind::Md5),
            40 => Some(HashKind::Sha1),
            64 => Some(HashKind::Sha256),
            _ => None,
        }
    }

    /// Length of the raw digest in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashKind::Md5 => 16,
            HashKind::Sha1 => 20,
            HashKind::Sha256 => 32,
        }
    }

    /// Index in per-kind tables (0, 1, 2 in the order of [`HashKind::ALL`]).
    pub(crate) fn slot(self) -> usize {
        self as usize
    }

    /// A stable one-byte code, used by the baseline format (a code space of its own, apart
    /// from [`Algorithm::code`]).
    pub fn code(self) -> u8 {
        self.slot() as u8 + 1
    }

    pub(crate) fn from_code(code: u8) -> Option<HashKind> {
        HashKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The rsync algorithm that computes this very digest, if there is one.
    pub(crate) fn as_algorithm(self) -> Option<Algorithm> {
        match self {
            HashKind::Md5 => Some(Algorithm::Md5),
            HashKind::Sha1 => Some(Algorithm::Sha1),
            HashKind::Sha256 => None,
        }
    }

    /// A new streaming hash of this kind.
    pub fn hasher(self) -> Hasher {
        match self {
            HashKind::Md5 => Hasher::Md5(::md5::Md5::new()),
            HashKind::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            HashKind::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    /// Hash a whole buffer at once.
    pub fn digest(self, data: &[u8]) -> Digest {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashKind {
    type Err = String;

    fn from_str(s: &str) -> Result<HashKind, String> {
        HashKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown digest {s:?} (md5, sha1, sha256)"))
    }
}

/// The extra digests a scan with main algorithm `main` records when `asked` for these:
/// each kind once, in the canonical order of [`HashKind::ALL`], without the kind `main`
/// already is (`--cc sha1 --digest sha1` stores sha1 once, as the checksum). Baselines
/// store exactly this list, and a list in a baseline that is not its own canonical form is
/// refused, so two baselines asked for the same digests say so in the same bytes.
pub fn extra_kinds(main: Algorithm, asked: impl IntoIterator<Item = HashKind>) -> Vec<HashKind> {
    let asked: Vec<HashKind> = asked.into_iter().collect();
    HashKind::ALL
        .into_iter()
        .filter(|k| asked.contains(k) && k.as_algorithm() != Some(main))
        .collect()
}

/// The digests of everything `reader` gives, with each of `algorithms`, in one read.
pub(crate) fn digest_reader(
    mut reader: impl std::io::Read,
    algorithms: &[Algorithm],
) -> std::io::Result<Vec<Digest>> {
    let mut hashers: Vec<Hasher> = algorithms.iter().map(|a| a.hasher()).collect();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(hashers.into_iter().map(Hasher::finish).collect());
        }
        for h in &mut hashers {
            h.update(&buf[..n]);
        }
    }
}

/// Longest digest: sha256's 32 bytes (rsync's longest, sha1, has 20).
const MAX_DIGEST: usize = 32;

/// A finished checksum in rsync's canonical byte order: the digest bytes for md4/md5/sha1
/// (and the [`HashKind`] digests), the big-endian number for the xxhash family (rsync's
/// `canonical_checksum`), so that plain lowercase hex of [`Digest::as_bytes`] is exactly `%C`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    len: u8,
    bytes: [u8; MAX_DIGEST],
}

impl Digest {
    /// Build a digest from raw bytes (at most 32), e.g. parsed back from hex.
    pub fn from_bytes(raw: &[u8]) -> Option<Digest> {
        if raw.is_empty() || raw.len() > MAX_DIGEST {
            return None;
        }
        let mut bytes = [0u8; MAX_DIGEST];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(Digest {
            len: raw.len() as u8,
            bytes,
        })
    }

    /// A 16-byte digest (MD4, MD5, XXH128).
    pub(crate) fn from_array(raw: [u8; 16]) -> Digest {
        let mut bytes = [0u8; MAX_DIGEST];
        bytes[..16].copy_from_slice(&raw);
        Digest { len: 16, bytes }
    }

    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Lowercase hex, as rsync's `sum_as_hex` writes it.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(self.as_bytes())
    }

    /// Parse lowercase or uppercase hex of 1 to 32 bytes.
    pub(crate) fn from_hex(hex: &[u8]) -> Option<Digest> {
        if !hex.len().is_multiple_of(2) {
            return None;
        }
        let mut raw = [0u8; MAX_DIGEST];
        let n = hex.len() / 2;
        if n > MAX_DIGEST || !crate::hex::decode_into(hex, &mut raw[..n]) {
            return None;
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

pub use crate::hash::md5::{Message, Next};

/// A source of messages and the sink of their digests, for [`digest_stream`].
pub(crate) trait Feed {
    type Msg: Message;
    /// The next message. With `wait` the feed may block until it has one or knows there are
    /// none left; without, it must answer at once ([`Next::Later`] when it has nothing).
    fn next(&mut self, wait: bool) -> Next<Self::Msg>;
    /// The digest of a message handed out by [`Feed::next`].
    fn done(&mut self, msg: Self::Msg, digest: Digest);
}

/// Hash every message `feed` hands out. MD5 goes through the multi-buffer kernels of
/// [`crate::hash::md5`] (many files side by side in SIMD lanes, or two interleaved in
/// general-purpose registers with the scalar kernel); the other algorithms are fast enough one
/// message at a time.
pub(crate) fn digest_stream<F: Feed>(algorithm: Algorithm, kernel: Kernel, feed: &mut F) {
    if algorithm == Algorithm::Md5 {
        crate::hash::md5::md5_stream(kernel, &mut Md5Feed(feed));
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

impl<F: Feed> crate::hash::md5::Feed for Md5Feed<'_, F> {
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
    /// MD5.
    Md5(::md5::Md5),
    /// MD4.
    Md4(md4::Md4),
    /// SHA-1.
    Sha1(sha1::Sha1),
    /// Only as a [`HashKind`], never an rsync [`Algorithm`].
    Sha256(sha2::Sha256),
    /// XXH64.
    Xxh64(twox_hash::XxHash64),
    /// XXH3, 64 bits.
    Xxh3(Box<twox_hash::XxHash3_64>),
    /// XXH128.
    Xxh128(Box<twox_hash::XxHash3_128>),
}

impl Hasher {
    /// A new hash of this algorithm, over no data yet.
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Md5 => Hasher::Md5(::md5::Md5::new()),
            Algorithm::Md4 => Hasher::Md4(md4::Md4::new()),
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            // rsync seeds every xxhash with 0.
            Algorithm::Xxh64 => Hasher::Xxh64(twox_hash::XxHash64::with_seed(0)),
            Algorithm::Xxh3 => Hasher::Xxh3(Box::new(twox_hash::XxHash3_64::with_seed(0))),
            Algorithm::Xxh128 => Hasher::Xxh128(Box::new(twox_hash::XxHash3_128::with_seed(0))),
        }
    }

    /// Hash more of the content.
    pub fn update(&mut self, data: &[u8]) {
        use std::hash::Hasher as _;
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Md4(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Xxh64(h) => h.write(data),
            Hasher::Xxh3(h) => h.write(data),
            Hasher::Xxh128(h) => h.write(data),
        }
    }

    /// The digest of everything passed to [`Hasher::update`], as rsync writes it.
    pub fn finish(self) -> Digest {
        use std::hash::Hasher as _;
        let digest = match self {
            Hasher::Md5(h) => Digest::from_bytes(&h.finalize()),
            Hasher::Md4(h) => Digest::from_bytes(&h.finalize()),
            Hasher::Sha1(h) => Digest::from_bytes(&h.finalize()),
            Hasher::Sha256(h) => Digest::from_bytes(&h.finalize()),
            Hasher::Xxh64(h) => Digest::from_bytes(&h.finish().to_be_bytes()),
            Hasher::Xxh3(h) => Digest::from_bytes(&h.finish().to_be_bytes()),
            Hasher::Xxh128(h) => Digest::from_bytes(&h.finish_128().to_be_bytes()),
        };
        // Every algorithm above yields 8 to 32 bytes.
        digest.expect("digest length is within 1..=32")
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

    // FIPS 180-2's "abc" vector, and the kinds' streaming against one-shot digests.
    #[test]
    fn hash_kinds_known_answers_and_codes() {
        assert_eq!(
            HashKind::Sha256.digest(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for kind in HashKind::ALL {
            let d = kind.digest(&data);
            assert_eq!(d.as_bytes().len(), kind.digest_len());
            assert_eq!(HashKind::from_hex_len(d.to_hex().len()), Some(kind));
            assert_eq!(Digest::from_hex(d.to_hex().as_bytes()), Some(d));
            let mut h = kind.hasher();
            for chunk in data.chunks(777) {
                h.update(chunk);
            }
            assert_eq!(h.finish(), d, "{kind}");
            // md5 and sha1 are the same digests as rsync's algorithms of that name.
            if let Some(a) = kind.as_algorithm() {
                assert_eq!(a.digest(&data), d);
            }
            assert_eq!(HashKind::from_code(kind.code()), Some(kind));
            assert_eq!(kind.name().to_uppercase().parse::<HashKind>(), Ok(kind));
        }
        assert_eq!(HashKind::from_code(0), None);
        assert!("xxh128".parse::<HashKind>().is_err());
    }

    /// `--checksum-choice sha256` is refused with a pointer to `--digest`.
    #[test]
    fn sha256_is_no_rsync_algorithm() {
        let err = "sha256".parse::<Algorithm>().unwrap_err();
        assert!(err.contains("--digest sha256"), "{err}");
        assert!(Algorithm::ALL.iter().all(|a| a.name() != "sha256"));
        assert!("md7".parse::<Algorithm>().unwrap_err().contains("unknown"));
    }

    #[test]
    fn extra_kinds_are_canonical() {
        use HashKind::*;
        assert_eq!(
            extra_kinds(Algorithm::Md5, [Sha256, Md5, Sha1, Sha256]),
            vec![Sha1, Sha256]
        );
        assert_eq!(
            extra_kinds(Algorithm::Xxh128, [Sha256, Md5]),
            vec![Md5, Sha256]
        );
        assert_eq!(extra_kinds(Algorithm::Sha1, [Sha1]), vec![]);
        assert_eq!(extra_kinds(Algorithm::Md5, []), vec![]);
    }
}
