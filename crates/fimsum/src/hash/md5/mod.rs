//! Multi-buffer MD5: the digests of many independent messages, computed side by side in SIMD
//! lanes.
//!
//! MD5 is a serial chain of 64 dependent steps per 64-byte block, so one message cannot go faster
//! than the scalar code in [`md5_one`]. Different messages,
//! however, are independent: a `ymm` or `zmm` register holds one 32-bit state word of 8 or 16
//! messages ("lanes"), and every instruction advances all of them at once. [`md5_many`] is
//! therefore where the speed is, provided each call hands over enough messages to keep the lanes
//! busy.
//!
//! # Lane scheduling
//!
//! A SIMD kernel hashes `n` consecutive blocks in every lane, so lanes want work of equal length.
//! Real file sets are anything but equal, and the scheduler (`Scheduler`, in `scheduler.rs`) bridges the gap:
//!
//! * Each lane holds one message. Its work is two *segments*: the message's full 64-byte blocks,
//!   read in place (no copy), then its own 1–2 padding blocks, built in a 128-byte per-lane buffer
//!   from the last partial block, the `0x80` marker and the bit length.
//! * The kernel runs `n` = the fewest blocks any busy lane has left in its segment. Afterwards
//!   every lane whose segment ran out switches to its padding or, if the padding is done, writes
//!   its digest and takes the next message. Lanes refill independently: a short message never
//!   waits for a long one.
//! * Messages are taken biggest first (longest-processing-time-first scheduling), so that at the
//!   end only small messages are left to even out the lanes and few lanes run idle.
//! * When the queue is empty the lanes drain. Idle lanes hash a dummy (another busy lane's data;
//!   the result is thrown away). Once at most half the lanes are busy they are moved into the
//!   lower half and a kernel with half the chains runs them: it has half the throughput, but each
//!   of its lanes is faster, and a big message at the end of a batch decides when the batch ends.
//!   The last busy lane is finished by the scalar code, which is faster still for one message.
//!
//! The scalar kernel ([`Kernel::Scalar`], for CPUs without AVX2) runs the same scheduler with
//! two lanes: two messages' steps interleaved in general-purpose registers, since one MD5
//! chain keeps only a fraction of a core's ALUs busy.
//!
//! # Kernels and safety
//!
//! The SIMD kernels are `#[target_feature]` functions, called only after [`Kernel::is_supported`]
//! has confirmed the CPU features at run time, so no `-C target-cpu` flag is needed. All
//! `unsafe` code is in this module, its scheduler (`scheduler.rs`) and its kernel files
//! (`scalar.rs`, `x86/avx2.rs`, `x86/avx512.rs`), each block with a `SAFETY:` comment: the SIMD loads and stores, the calls
//! into the kernels, and empty `asm!` blocks that stop LLVM from reordering additions onto
//! MD5's critical path. The pointers a kernel reads always come from slices that
//! the scheduler has checked to be long enough.
//!
//! Needs Rust 1.89 or newer (AVX-512 intrinsics and `target_feature(enable = "avx512f")`).

#![warn(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::fmt;
use std::str::FromStr;

/// Which MD5 implementation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Portable code without SIMD: two messages interleaved in general-purpose registers.
    /// MD5's serial steps leave most of a core's ALUs idle; a second, independent message fills
    /// them (`cargo bench --bench md5mb`: 986 MiB/s a core against 483 one message at a time).
    Scalar,
    /// AVX2: two interleaved chains of 8 lanes (16 messages at once).
    Avx2,
    /// AVX-512F: two interleaved chains of 16 lanes (32 messages at once), using `vpternlogd`
    /// and `vprold`.
    Avx512,
}

impl Kernel {
    /// Every kernel, slowest first.
    pub const ALL: [Kernel; 3] = [Kernel::Scalar, Kernel::Avx2, Kernel::Avx512];

    /// The best kernel this CPU supports (runtime detection; [`Kernel::Scalar`] off x86-64).
    pub fn detect() -> Kernel {
        if Kernel::Avx512.is_supported() {
            Kernel::Avx512
        } else if Kernel::Avx2.is_supported() {
            Kernel::Avx2
        } else {
            Kernel::Scalar
        }
    }

    /// Whether this CPU can run the kernel. Detection is cached by std, so this is cheap.
    pub fn is_supported(self) -> bool {
        match self {
            Kernel::Scalar => true,
            Kernel::Avx2 => x86::has_avx2(),
            Kernel::Avx512 => x86::has_avx512(),
        }
    }

    /// The name used on the command line: `"scalar"`, `"avx2"` or `"avx512"`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }

    /// How many messages the kernel hashes at once. [`md5_many`] needs several times this many
    /// messages per call to keep the lanes busy.
    pub fn lanes(self) -> usize {
        match self {
            Kernel::Scalar => SCALAR_LANES,
            Kernel::Avx2 => AVX2_LANES,
            Kernel::Avx512 => AVX512_LANES,
        }
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`Kernel`] name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseKernelError(String);

impl fmt::Display for ParseKernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown MD5 kernel {:?} (expected auto, scalar, avx2 or avx512)",
            self.0
        )
    }
}

impl std::error::Error for ParseKernelError {}

impl FromStr for Kernel {
    type Err = ParseKernelError;

    /// Parses `"auto"` (= [`Kernel::detect`]), `"scalar"`, `"avx2"` or `"avx512"`. A parsed
    /// kernel may still be unsupported: check [`Kernel::is_supported`].
    fn from_str(s: &str) -> Result<Kernel, ParseKernelError> {
        match s {
            "auto" => Ok(Kernel::detect()),
            "scalar" => Ok(Kernel::Scalar),
            "avx2" => Ok(Kernel::Avx2),
            "avx512" => Ok(Kernel::Avx512),
            _ => Err(ParseKernelError(s.to_owned())),
        }
    }
}

/// A message in a lane, handed over in pieces so that a big file needs neither one huge buffer
/// nor one huge resident mapping.
pub trait Message {
    /// The current piece. Every piece but the last must be a whole number of 64-byte blocks.
    fn piece(&self) -> &[u8];
    /// Moves on to the next piece; `false` when the current piece is the last (it must then be
    /// left as it is: its partial last block goes into the padding).
    fn next_piece(&mut self) -> bool;
}

impl Message for &[u8] {
    fn piece(&self) -> &[u8] {
        self
    }

    fn next_piece(&mut self) -> bool {
        false
    }
}

/// What a [`Feed`] has for a free lane.
pub enum Next<M> {
    Msg(M),
    /// Nothing now; ask again later.
    Later,
    /// Nothing, ever again.
    End,
}

/// A source of messages, and the sink of their digests: [`md5_stream`] hashes everything a
/// feed hands out, many messages at once, and gives each message back with its digest.
pub trait Feed {
    type Msg: Message;
    /// The next message. With `wait` (every lane is idle) the feed may block until it has one
    /// or knows there are none left; without, it must answer at once ([`Next::Later`]), because
    /// messages already in lanes must not wait for new ones.
    fn next(&mut self, wait: bool) -> Next<Self::Msg>;
    /// The digest of a message handed out by [`Feed::next`].
    fn done(&mut self, msg: Self::Msg, digest: [u8; 16]);
}

/// Hash every message of `feed` with `kernel`.
///
/// Lanes refill one by one as their messages end, so a stream of mixed sizes keeps them busy;
/// a lane holding a big message runs at about a third of scalar speed, but every other lane
/// keeps going (see the module docs).
///
/// The caller must check [`Kernel::is_supported`] first. An unsupported kernel is a bug: it
/// panics in debug builds and silently runs [`Kernel::Scalar`] in release builds.
pub fn md5_stream<F: Feed>(kernel: Kernel, feed: &mut F) {
    debug_assert!(
        kernel.is_supported(),
        "md5_stream: kernel {kernel} is not supported by this CPU"
    );
    match kernel {
        Kernel::Avx2 if kernel.is_supported() => x86::stream_avx2(feed),
        Kernel::Avx512 if kernel.is_supported() => x86::stream_avx512(feed),
        _ => {
            let kernels = Kernels {
                full: scalar::compress_pair,
                half: scalar::compress_first,
                // One busy lane left: the one-message code finishes it.
                scalar_tail: 1,
            };
            // SAFETY: the scalar kernels need no CPU feature.
            unsafe { Scheduler::<F, SCALAR_LANES>::new(feed).run(kernels) }
        }
    }
}

/// MD5 of each message, in input order: `out[i]` is the digest of `messages[i]`.
///
/// A convenience over [`md5_stream`] for messages already in memory. They are taken biggest
/// first (longest-processing-time-first), so that at the end only small messages are left to
/// even out the lanes. For good lane occupancy pass many messages: hundreds at least, and
/// enough that the biggest is a small share of the call's bytes.
///
/// # Panics
///
/// If `out.len() != messages.len()`.
pub fn md5_many(kernel: Kernel, messages: &[&[u8]], out: &mut [[u8; 16]]) {
    assert_eq!(
        messages.len(),
        out.len(),
        "md5_many: one output slot is needed per message"
    );
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_unstable_by_key(|&i| std::cmp::Reverse(messages[i].len()));
    let mut feed = SliceFeed {
        messages,
        order: order.into_iter(),
        out,
    };
    md5_stream(kernel, &mut feed);
}

/// [`md5_many`]'s feed: messages already in memory, each tagged with its index.
struct SliceFeed<'a, 'o> {
    messages: &'a [&'a [u8]],
    order: std::vec::IntoIter<usize>,
    out: &'o mut [[u8; 16]],
}

/// A message of a [`SliceFeed`] and its index.
struct Indexed<'a>(usize, &'a [u8]);

impl Message for Indexed<'_> {
    fn piece(&self) -> &[u8] {
        self.1
    }

    fn next_piece(&mut self) -> bool {
        false
    }
}

impl<'a> Feed for SliceFeed<'a, '_> {
    type Msg = Indexed<'a>;

    fn next(&mut self, _wait: bool) -> Next<Indexed<'a>> {
        match self.order.next() {
            Some(i) => Next::Msg(Indexed(i, self.messages[i])),
            None => Next::End,
        }
    }

    fn done(&mut self, msg: Indexed<'a>, digest: [u8; 16]) {
        self.out[msg.0] = digest;
    }
}

/// MD5 of a message in pieces, with the scalar kernel.
fn md5_pieces(msg: &mut impl Message) -> [u8; 16] {
    let mut state = IV;
    let mut before = 0u64;
    loop {
        let piece = msg.piece();
        let (len, full) = (piece.len(), piece.len() - piece.len() % BLOCK);
        scalar::compress(&mut state, &piece[..full]);
        if len == full && msg.next_piece() {
            before += len as u64;
            continue;
        }
        let mut pad = [0; PAD_BYTES];
        let blocks = write_padding(&mut pad, &msg.piece()[full..], before + len as u64);
        scalar::compress(&mut state, &pad[..blocks * BLOCK]);
        return digest(state);
    }
}

/// MD5 of one message with the scalar kernel (the fallback, and the right choice for a lone big
/// file: one message cannot use more than one SIMD lane).
pub fn md5_one(mut message: &[u8]) -> [u8; 16] {
    md5_pieces(&mut message)
}

/// Lanes of the scalar kernel: two messages interleaved (three spill registers on x86-64).
const SCALAR_LANES: usize = 2;

/// Lanes of the AVX2 kernel: two interleaved chains of 8 (more chains spill registers).
const AVX2_LANES: usize = 16;

/// Lanes of the AVX-512 kernel: two interleaved chains of 16. One chain is latency-bound,
/// three spill registers (docs/performance.md, "Tuning constants").
const AVX512_LANES: usize = 32;

/// MD5 block size in bytes.
const BLOCK: usize = 64;

/// Room for the longest padding: two blocks, needed when the last partial block has no space
/// for the `0x80` marker and the 8-byte length.
const PAD_BYTES: usize = 2 * BLOCK;

/// The MD5 initial state (RFC 1321, 3.3).
const IV: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// Writes the MD5 padding of a message of `message_len` bytes whose last, partial block is
/// `tail` into `pad`, and returns how many blocks of `pad` it fills (1 or 2).
fn write_padding(pad: &mut [u8; PAD_BYTES], tail: &[u8], message_len: u64) -> usize {
    debug_assert!(tail.len() < BLOCK);
    let blocks = if tail.len() < BLOCK - 8 { 1 } else { 2 };
    let end = blocks * BLOCK;
    *pad = [0; PAD_BYTES];
    pad[..tail.len()].copy_from_slice(tail);
    pad[tail.len()] = 0x80;
    // MD5 appends the length in bits, modulo 2^64.
    let bits = message_len.wrapping_mul(8);
    pad[end - 8..end].copy_from_slice(&bits.to_le_bytes());
    blocks
}

/// The digest bytes of a final state.
fn digest(state: [u32; 4]) -> [u8; 16] {
    let mut out = [0; 16];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// The 64 MD5 steps of one block, written once for every kernel.
///
/// `$ff`..`$ii` are the kernel's step functions for rounds 1–4, called as
/// `$ff::<SHIFT>(a, b, c, d, message_word, constant)`; each returns the new value of `a`, that is
/// `b + rotl(a + f(b, c, d) + message_word + constant, SHIFT)`. `$m` is indexable by word number.
/// An optional last argument names one more const generic passed to the step functions (the
/// SIMD kernels' chain count): `$ff::<SHIFT, C>(...)`.
macro_rules! md5_steps {
    ($ff:ident, $gg:ident, $hh:ident, $ii:ident, $a:ident, $b:ident, $c:ident, $d:ident, $m:ident $(, $g:ident)?) => {
        md5_steps!(@four $ff [$($g)?], $a, $b, $c, $d, $m, (0, 7, 0xd76a_a478) (1, 12, 0xe8c7_b756) (2, 17, 0x2420_70db) (3, 22, 0xc1bd_ceee));
        md5_steps!(@four $ff [$($g)?], $a, $b, $c, $d, $m, (4, 7, 0xf57c_0faf) (5, 12, 0x4787_c62a) (6, 17, 0xa830_4613) (7, 22, 0xfd46_9501));
        md5_steps!(@four $ff [$($g)?], $a, $b, $c, $d, $m, (8, 7, 0x6980_98d8) (9, 12, 0x8b44_f7af) (10, 17, 0xffff_5bb1) (11, 22, 0x895c_d7be));
        md5_steps!(@four $ff [$($g)?], $a, $b, $c, $d, $m, (12, 7, 0x6b90_1122) (13, 12, 0xfd98_7193) (14, 17, 0xa679_438e) (15, 22, 0x49b4_0821));

        md5_steps!(@four $gg [$($g)?], $a, $b, $c, $d, $m, (1, 5, 0xf61e_2562) (6, 9, 0xc040_b340) (11, 14, 0x265e_5a51) (0, 20, 0xe9b6_c7aa));
        md5_steps!(@four $gg [$($g)?], $a, $b, $c, $d, $m, (5, 5, 0xd62f_105d) (10, 9, 0x0244_1453) (15, 14, 0xd8a1_e681) (4, 20, 0xe7d3_fbc8));
        md5_steps!(@four $gg [$($g)?], $a, $b, $c, $d, $m, (9, 5, 0x21e1_cde6) (14, 9, 0xc337_07d6) (3, 14, 0xf4d5_0d87) (8, 20, 0x455a_14ed));
        md5_steps!(@four $gg [$($g)?], $a, $b, $c, $d, $m, (13, 5, 0xa9e3_e905) (2, 9, 0xfcef_a3f8) (7, 14, 0x676f_02d9) (12, 20, 0x8d2a_4c8a));

        md5_steps!(@four $hh [$($g)?], $a, $b, $c, $d, $m, (5, 4, 0xfffa_3942) (8, 11, 0x8771_f681) (11, 16, 0x6d9d_6122) (14, 23, 0xfde5_380c));
        md5_steps!(@four $hh [$($g)?], $a, $b, $c, $d, $m, (1, 4, 0xa4be_ea44) (4, 11, 0x4bde_cfa9) (7, 16, 0xf6bb_4b60) (10, 23, 0xbebf_bc70));
        md5_steps!(@four $hh [$($g)?], $a, $b, $c, $d, $m, (13, 4, 0x289b_7ec6) (0, 11, 0xeaa1_27fa) (3, 16, 0xd4ef_3085) (6, 23, 0x0488_1d05));
        md5_steps!(@four $hh [$($g)?], $a, $b, $c, $d, $m, (9, 4, 0xd9d4_d039) (12, 11, 0xe6db_99e5) (15, 16, 0x1fa2_7cf8) (2, 23, 0xc4ac_5665));

        md5_steps!(@four $ii [$($g)?], $a, $b, $c, $d, $m, (0, 6, 0xf429_2244) (7, 10, 0x432a_ff97) (14, 15, 0xab94_23a7) (5, 21, 0xfc93_a039));
        md5_steps!(@four $ii [$($g)?], $a, $b, $c, $d, $m, (12, 6, 0x655b_59c3) (3, 10, 0x8f0c_cc92) (10, 15, 0xffef_f47d) (1, 21, 0x8584_5dd1));
        md5_steps!(@four $ii [$($g)?], $a, $b, $c, $d, $m, (8, 6, 0x6fa8_7e4f) (15, 10, 0xfe2c_e6e0) (6, 15, 0xa301_4314) (13, 21, 0x4e08_11a1));
        md5_steps!(@four $ii [$($g)?], $a, $b, $c, $d, $m, (4, 6, 0xf753_7e82) (11, 10, 0xbd3a_f235) (2, 15, 0x2ad7_d2bb) (9, 21, 0xeb86_d391));
    };
    // Four steps; the roles of a, b, c, d rotate by one each step.
    (@four $f:ident [$($g:ident)?], $a:ident, $b:ident, $c:ident, $d:ident, $m:ident,
        ($w0:literal, $s0:literal, $k0:literal) ($w1:literal, $s1:literal, $k1:literal)
        ($w2:literal, $s2:literal, $k2:literal) ($w3:literal, $s3:literal, $k3:literal)) => {
        $a = $f::<$s0 $(, $g)?>($a, $b, $c, $d, $m[$w0], $k0);
        $d = $f::<$s1 $(, $g)?>($d, $a, $b, $c, $m[$w1], $k1);
        $c = $f::<$s2 $(, $g)?>($c, $d, $a, $b, $m[$w2], $k2);
        $b = $f::<$s3 $(, $g)?>($b, $c, $d, $a, $m[$w3], $k3);
    };
}

/// The scalar kernels: one message, one block at a time, or two messages interleaved.
mod scalar;

/// The lanes of a multi-buffer kernel and how messages are fed to them.
mod scheduler;

use scheduler::{Kernels, LaneState, Scheduler};

/// Runtime detection and the SIMD kernels; stubs elsewhere.
#[cfg(not(target_arch = "x86_64"))]
mod x86 {
    pub(super) fn has_avx2() -> bool {
        false
    }

    pub(super) fn has_avx512() -> bool {
        false
    }

    pub(super) fn stream_avx2<F: super::Feed>(_: &mut F) {
        unreachable!("AVX2 is never reported as supported off x86-64")
    }

    pub(super) fn stream_avx512<F: super::Feed>(_: &mut F) {
        unreachable!("AVX-512 is never reported as supported off x86-64")
    }
}

/// Runtime detection and the SIMD kernels.
#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};

    /// The md-5 crate's digest, the reference for every kernel.
    fn reference(message: &[u8]) -> [u8; 16] {
        Md5::digest(message).into()
    }

    use crate::testing::SplitMix as Rng;

    fn supported_kernels() -> Vec<Kernel> {
        let kernels: Vec<Kernel> = Kernel::ALL
            .into_iter()
            .filter(|k| k.is_supported())
            .collect();
        eprintln!("testing kernels: {kernels:?}");
        kernels
    }

    /// Messages of the given sizes, cut at varying offsets (so contents and alignment differ)
    /// from one random buffer.
    fn messages<'a>(buf: &'a [u8], sizes: &[usize], rng: &mut Rng) -> Vec<&'a [u8]> {
        sizes
            .iter()
            .map(|&size| {
                let start = rng.below(buf.len() - size + 1);
                &buf[start..start + size]
            })
            .collect()
    }

    /// Checks `md5_many` with every supported kernel, and `md5_one`, on messages of `sizes`.
    fn check_sizes(sizes: &[usize], seed: u64) {
        let mut rng = Rng(seed);
        let max = sizes.iter().copied().max().unwrap_or(0);
        let buf = rng.bytes(max + 1000);
        let msgs = messages(&buf, sizes, &mut rng);
        check_messages(&msgs);
    }

    fn check_messages(msgs: &[&[u8]]) {
        let expected: Vec<[u8; 16]> = msgs.iter().map(|m| reference(m)).collect();
        for kernel in supported_kernels() {
            let mut out = vec![[0xAA; 16]; msgs.len()];
            md5_many(kernel, msgs, &mut out);
            for (i, (got, want)) in out.iter().zip(&expected).enumerate() {
                assert_eq!(
                    got,
                    want,
                    "kernel {kernel}: message {i} of {} ({} bytes)",
                    msgs.len(),
                    msgs[i].len()
                );
            }
        }
        for (msg, want) in msgs.iter().zip(&expected) {
            assert_eq!(&md5_one(msg), want, "md5_one, {} bytes", msg.len());
        }
    }

    fn hex(digest: [u8; 16]) -> String {
        crate::hex::encode(&digest)
    }

    #[test]
    fn rfc1321_test_suite() {
        let cases: [(&str, &str); 7] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        let msgs: Vec<&[u8]> = cases.iter().map(|(m, _)| m.as_bytes()).collect();
        for kernel in supported_kernels() {
            let mut out = vec![[0; 16]; msgs.len()];
            md5_many(kernel, &msgs, &mut out);
            for (digest, (msg, want)) in out.into_iter().zip(cases) {
                assert_eq!(hex(digest), want, "kernel {kernel}, {msg:?}");
                assert_eq!(hex(md5_one(msg.as_bytes())), want, "md5_one, {msg:?}");
            }
        }
    }

    #[test]
    fn random_sizes_up_to_10k_refill_lanes_many_times() {
        let mut rng = Rng(1);
        let sizes: Vec<usize> = (0..3000).map(|_| rng.below(10 * 1024 + 1)).collect();
        check_sizes(&sizes, 2);
    }

    #[test]
    fn every_size_up_to_200() {
        let sizes: Vec<usize> = (0..=200).collect();
        check_sizes(&sizes, 3);
    }

    #[test]
    fn sizes_around_every_block_boundary_up_to_4k() {
        // B-9 .. B+1 around every multiple B of 64: covers 55/56 (the last size with one padding
        // block, the first with two), 63/64/65, 119/120, ...
        let sizes: Vec<usize> = (0..=4096)
            .step_by(BLOCK)
            .flat_map(|b: usize| b.saturating_sub(9)..=b + 1)
            .collect();
        check_sizes(&sizes, 4);
        // The same sizes biggest first and smallest first, to vary which lanes meet which.
        let mut reversed = sizes.clone();
        reversed.reverse();
        check_sizes(&reversed, 5);
    }

    #[test]
    fn empty_list() {
        for kernel in supported_kernels() {
            md5_many(kernel, &[], &mut []);
        }
    }

    #[test]
    fn single_message() {
        for size in [0, 1, 55, 56, 64, 1000, 100_000] {
            check_sizes(&[size], 6);
        }
    }

    #[test]
    fn fewer_messages_than_lanes() {
        for count in 1..=40 {
            let sizes: Vec<usize> = (0..count).map(|i| 100 + 37 * i).collect();
            check_sizes(&sizes, 7 + count as u64);
        }
    }

    #[test]
    fn one_huge_message_among_tiny_ones() {
        let huge = 3 << 20;
        for position in [0, 250, 500] {
            let mut sizes: Vec<usize> = (0..500).map(|i| i % 70).collect();
            sizes.insert(position, huge);
            check_sizes(&sizes, 8);
        }
    }

    #[test]
    fn all_equal_sizes() {
        for (count, size) in [(100, 4096), (37, 1000), (16, 0), (33, 56), (64, 64)] {
            check_sizes(&vec![size; count], 9);
        }
    }

    #[test]
    fn same_slice_many_times() {
        let data = Rng(10).bytes(777);
        check_messages(&vec![&data[..]; 50]);
    }

    #[test]
    #[should_panic(expected = "one output slot is needed per message")]
    fn output_length_must_match() {
        md5_many(Kernel::Scalar, &[b"abc"], &mut [[0; 16]; 2]);
    }

    /// A portable stand-in for a SIMD kernel covering lanes `0..W`, with the same contract: lets
    /// the scheduler be tested with any lane count, on any CPU. It scribbles over the state of
    /// the lanes it does not cover, so a scheduler relying on them fails the tests.
    ///
    /// # Safety
    ///
    /// Every `ptrs[l]` with `l < W` is valid for reads of `blocks * 64` bytes.
    unsafe fn emulated<const L: usize, const W: usize>(
        state: &mut LaneState<L>,
        ptrs: &[*const u8; L],
        blocks: usize,
    ) {
        for (l, &ptr) in ptrs.iter().enumerate() {
            if l >= W {
                for word in state.iter_mut() {
                    word[l] = 0xdead_beef;
                }
                continue;
            }
            // SAFETY: the kernel contract guarantees `blocks * 64` readable bytes at `ptr`.
            let data = unsafe { std::slice::from_raw_parts(ptr, blocks * BLOCK) };
            let mut lane = [state[0][l], state[1][l], state[2][l], state[3][l]];
            scalar::compress(&mut lane, data);
            for (word, v) in state.iter_mut().zip(lane) {
                word[l] = v;
            }
        }
    }

    fn check_scheduler<const L: usize, const HALF: usize>(sizes: &[usize], scalar_tail: usize) {
        let mut rng = Rng(11);
        let buf = rng.bytes(sizes.iter().copied().max().unwrap_or(0) + 100);
        let msgs = messages(&buf, sizes, &mut rng);
        let mut out = vec![[0; 16]; msgs.len()];
        let kernels = Kernels {
            full: emulated::<L, L>,
            half: emulated::<L, HALF>,
            scalar_tail,
        };
        let mut order: Vec<usize> = (0..msgs.len()).collect();
        order.sort_unstable_by_key(|&i| std::cmp::Reverse(msgs[i].len()));
        let mut feed = SliceFeed {
            messages: &msgs,
            order: order.into_iter(),
            out: &mut out,
        };
        // SAFETY: `emulated` needs no CPU feature.
        unsafe { Scheduler::<_, L>::new(&mut feed).run(kernels) };
        for (i, (got, msg)) in out.iter().zip(&msgs).enumerate() {
            assert_eq!(
                *got,
                reference(msg),
                "{L} lanes, scalar tail {scalar_tail}: message {i} ({} bytes)",
                msg.len()
            );
        }
    }

    #[test]
    fn scheduler_with_any_lane_count_and_scalar_tail() {
        let mut rng = Rng(12);
        let mut sizes: Vec<usize> = (0..300).map(|_| rng.below(2000)).collect();
        // A few big ones, so that the tail runs long with few busy lanes.
        sizes.extend([20_000, 15_000, 9_000, 70_000]);
        for scalar_tail in [0, 1, 2, 3, 100] {
            check_scheduler::<1, 0>(&sizes, scalar_tail);
            check_scheduler::<2, 1>(&sizes, scalar_tail);
            check_scheduler::<3, 1>(&sizes, scalar_tail);
            check_scheduler::<16, 8>(&sizes, scalar_tail);
            check_scheduler::<32, 16>(&sizes, scalar_tail);
            check_scheduler::<3, 1>(&sizes[..2], scalar_tail);
            check_scheduler::<3, 1>(&[], scalar_tail);
        }
    }

    /// A message cut into pieces of random whole-block sizes (some empty), as a file read or
    /// mapped window by window is.
    struct Pieces<'a> {
        id: usize,
        data: &'a [u8],
        start: usize,
        end: usize,
        rng: Rng,
    }

    impl<'a> Pieces<'a> {
        fn new(id: usize, data: &'a [u8], seed: u64) -> Self {
            let mut p = Pieces {
                id,
                data,
                start: 0,
                end: 0,
                rng: Rng(seed),
            };
            p.end = p.cut(0);
            p
        }

        fn cut(&mut self, start: usize) -> usize {
            let blocks = self.rng.below(6);
            (start + blocks * BLOCK).min(self.data.len())
        }
    }

    impl Message for Pieces<'_> {
        fn piece(&self) -> &[u8] {
            &self.data[self.start..self.end]
        }

        fn next_piece(&mut self) -> bool {
            if self.end == self.data.len() {
                return false;
            }
            self.start = self.end;
            self.end = self.cut(self.start);
            true
        }
    }

    /// A feed that hands out messages in pieces and, at random, has nothing for a while.
    struct StutteringFeed<'a> {
        messages: Vec<&'a [u8]>,
        next: usize,
        rng: Rng,
        out: Vec<Option<[u8; 16]>>,
        laters: usize,
    }

    impl<'a> Feed for StutteringFeed<'a> {
        type Msg = Pieces<'a>;

        fn next(&mut self, wait: bool) -> Next<Pieces<'a>> {
            if !wait && self.rng.below(4) == 0 {
                self.laters += 1;
                return Next::Later;
            }
            if self.next == self.messages.len() {
                return Next::End;
            }
            let id = self.next;
            self.next += 1;
            Next::Msg(Pieces::new(id, self.messages[id], id as u64 + 1))
        }

        fn done(&mut self, msg: Pieces<'a>, digest: [u8; 16]) {
            assert!(
                self.out[msg.id].is_none(),
                "message {} finished twice",
                msg.id
            );
            self.out[msg.id] = Some(digest);
        }
    }

    #[test]
    fn stream_of_pieces_with_a_stuttering_feed() {
        let mut rng = Rng(21);
        let buf = rng.bytes(40_000);
        let mut sizes: Vec<usize> = (0..400).map(|_| rng.below(3000)).collect();
        sizes.extend([0, 64, 65, 119, 120, 128, 35_000]);
        let msgs = messages(&buf, &sizes, &mut rng);
        for kernel in supported_kernels() {
            let mut feed = StutteringFeed {
                messages: msgs.clone(),
                next: 0,
                rng: Rng(kernel.lanes() as u64),
                out: vec![None; msgs.len()],
                laters: 0,
            };
            md5_stream(kernel, &mut feed);
            for (i, (got, msg)) in feed.out.iter().zip(&msgs).enumerate() {
                assert_eq!(*got, Some(reference(msg)), "{kernel}: message {i}");
            }
            assert!(feed.laters > 0, "{kernel}: the feed never stuttered");
        }
    }

    #[test]
    fn emulated_scheduler_with_pieces_and_a_stuttering_feed() {
        let mut rng = Rng(22);
        let buf = rng.bytes(20_000);
        let sizes: Vec<usize> = (0..200).map(|_| rng.below(1500)).chain([9_000]).collect();
        let msgs = messages(&buf, &sizes, &mut rng);
        for scalar_tail in [0, 1, 3] {
            let mut feed = StutteringFeed {
                messages: msgs.clone(),
                next: 0,
                rng: Rng(scalar_tail as u64 + 5),
                out: vec![None; msgs.len()],
                laters: 0,
            };
            let kernels = Kernels {
                full: emulated::<8, 8>,
                half: emulated::<8, 4>,
                scalar_tail,
            };
            // SAFETY: `emulated` needs no CPU feature.
            unsafe { Scheduler::<_, 8>::new(&mut feed).run(kernels) };
            for (i, (got, msg)) in feed.out.iter().zip(&msgs).enumerate() {
                assert_eq!(
                    *got,
                    Some(reference(msg)),
                    "tail {scalar_tail}: message {i}"
                );
            }
        }
    }

    #[test]
    fn kernel_names_parse_back() {
        for kernel in Kernel::ALL {
            assert_eq!(kernel.name().parse::<Kernel>(), Ok(kernel));
            assert_eq!(kernel.to_string(), kernel.name());
        }
        assert_eq!("auto".parse::<Kernel>(), Ok(Kernel::detect()));
        let err = "sse2".parse::<Kernel>().unwrap_err();
        assert!(err.to_string().contains("sse2"), "{err}");
    }

    #[test]
    fn scalar_pair_matches_two_single_messages() {
        let mut rng = Rng(23);
        for blocks in [0, 1, 2, 17] {
            let (x, y) = (rng.bytes(blocks * BLOCK), rng.bytes(blocks * BLOCK));
            let start: [[u32; 4]; 2] =
                std::array::from_fn(|_| std::array::from_fn(|_| rng.below(1 << 31) as u32));
            let mut pair: LaneState<2> = std::array::from_fn(|w| [start[0][w], start[1][w]]);
            let mut first = pair;
            // SAFETY: both pointers start `blocks` whole blocks.
            unsafe {
                scalar::compress_pair(&mut pair, &[x.as_ptr(), y.as_ptr()], blocks);
                scalar::compress_first(&mut first, &[x.as_ptr(), y.as_ptr()], blocks);
            }
            let (mut one, mut two) = (start[0], start[1]);
            scalar::compress(&mut one, &x);
            scalar::compress(&mut two, &y);
            let lane = |state: &LaneState<2>, l: usize| std::array::from_fn(|w| state[w][l]);
            assert_eq!(
                [lane(&pair, 0), lane(&pair, 1)],
                [one, two],
                "{blocks} blocks"
            );
            assert_eq!(lane(&first, 0), one, "{blocks} blocks, lane 0 alone");
            assert_eq!(lane(&first, 1), start[1], "lane 1 left alone");
        }
    }

    #[test]
    fn detected_kernel_is_supported() {
        assert!(Kernel::detect().is_supported());
        assert!(Kernel::Scalar.is_supported());
        assert_eq!(Kernel::Scalar.lanes(), 2);
        #[cfg(not(target_arch = "x86_64"))]
        assert_eq!(Kernel::detect(), Kernel::Scalar);
    }
}
