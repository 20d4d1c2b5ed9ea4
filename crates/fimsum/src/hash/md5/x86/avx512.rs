use super::super::{LaneState, AVX512_LANES, BLOCK};
use std::arch::x86_64::*;

/// Chains of the full-width kernel.
pub(super) const CHAINS: usize = AVX512_LANES / 16;

// The half-width tail kernel has `CHAINS / 2` chains and must cover exactly half the
// lanes.
const _: () = assert!(CHAINS >= 2 && CHAINS.is_multiple_of(2));

/// Hashes `blocks` blocks into lanes `0..16 * C`; lanes `16c..16c + 16` form chain `c`.
///
/// # Safety
///
/// The CPU supports AVX-512F, and every `ptrs[l]` with `l < 16 * C` is valid for reads
/// of `blocks * 64` bytes.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn compress<const C: usize>(
    state: &mut LaneState<AVX512_LANES>,
    ptrs: &[*const u8; AVX512_LANES],
    blocks: usize,
) {
    let zero = _mm512_setzero_si512();
    let mut s = [[zero; C]; 4];
    for (words, row) in s.iter_mut().zip(state.iter()) {
        for (v, lanes) in words.iter_mut().zip(row.chunks_exact(16)) {
            // SAFETY: `lanes` is 16 u32 = 64 bytes; unaligned loads are allowed.
            *v = unsafe { _mm512_loadu_si512(lanes.as_ptr().cast()) };
        }
    }
    for block in 0..blocks {
        let chains: [[__m512i; 16]; C] = std::array::from_fn(|chain| {
            let lane_ptrs = ptrs[16 * chain..16 * (chain + 1)]
                .try_into()
                .expect("16 lanes");
            // SAFETY: the caller guarantees `blocks * 64` readable bytes from each of
            // these pointers, and this block ends at `(block + 1) * 64 <= blocks * 64`.
            unsafe { load_words(lane_ptrs, block * BLOCK) }
        });
        let m = std::array::from_fn(|word| std::array::from_fn(|chain| chains[chain][word]));
        s = compress_block(s, &m);
    }
    for (words, row) in s.iter().zip(state.iter_mut()) {
        for (v, lanes) in words.iter().zip(row.chunks_exact_mut(16)) {
            // SAFETY: as for the loads above; the state is borrowed mutably.
            unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), *v) };
        }
    }
}

/// Loads the block at `ptrs[l] + offset` of 16 lanes and transposes the 16x16 words, so
/// that vector `w` holds message word `w` of every lane.
///
/// # Safety
///
/// The CPU supports AVX-512F, and every `ptrs[l]` is valid for reads of `offset + 64`
/// bytes.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn load_words(ptrs: &[*const u8; 16], offset: usize) -> [__m512i; 16] {
    let mut rows = [_mm512_setzero_si512(); 16];
    for (row, ptr) in rows.iter_mut().zip(ptrs) {
        // SAFETY: within the `offset + 64` bytes the caller guarantees.
        *row = unsafe { _mm512_loadu_si512(ptr.add(offset).cast()) };
    }
    transpose(rows)
}

/// 16x16 transpose of 32-bit words: `rows[l]` is lane `l`'s block, the result's vector
/// `w` is word `w` of lanes 0..16. Four stages of 16 shuffles.
#[target_feature(enable = "avx512f")]
#[inline]
fn transpose(rows: [__m512i; 16]) -> [__m512i; 16] {
    let zero = _mm512_setzero_si512();
    // t[2k], t[2k+1]: lanes 2k and 2k+1 interleaved, words {0,1} and {2,3} of each
    // 128-bit chunk.
    let mut t = [zero; 16];
    for k in 0..8 {
        t[2 * k] = _mm512_unpacklo_epi32(rows[2 * k], rows[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_epi32(rows[2 * k], rows[2 * k + 1]);
    }
    // u[4k+q]: in 128-bit chunk j, word 4j+q of lanes 4k..4k+3.
    let mut u = [zero; 16];
    for k in 0..4 {
        u[4 * k] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
        u[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
        u[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
        u[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
    }
    // Transpose the 4x4 grid of 128-bit chunks of u[q], u[4+q], u[8+q], u[12+q]:
    // chunk j of u[4k+q] goes to chunk k of word 4j+q.
    let mut words = [zero; 16];
    for q in 0..4 {
        let (v0, v1, v2, v3) = (u[q], u[4 + q], u[8 + q], u[12 + q]);
        let even01 = _mm512_shuffle_i32x4::<0x88>(v0, v1); // chunks 0, 2 of v0, v1
        let odd01 = _mm512_shuffle_i32x4::<0xDD>(v0, v1); // chunks 1, 3 of v0, v1
        let even23 = _mm512_shuffle_i32x4::<0x88>(v2, v3);
        let odd23 = _mm512_shuffle_i32x4::<0xDD>(v2, v3);
        words[q] = _mm512_shuffle_i32x4::<0x88>(even01, even23);
        words[4 + q] = _mm512_shuffle_i32x4::<0x88>(odd01, odd23);
        words[8 + q] = _mm512_shuffle_i32x4::<0xDD>(even01, even23);
        words[12 + q] = _mm512_shuffle_i32x4::<0xDD>(odd01, odd23);
    }
    words
}

#[target_feature(enable = "avx512f")]
#[inline]
fn compress_block<const C: usize>(
    s: [[__m512i; C]; 4],
    m: &[[__m512i; C]; 16],
) -> [[__m512i; C]; 4] {
    let [mut a, mut b, mut c, mut d] = s;
    md5_steps!(ff, gg, hh, ii, a, b, c, d, m, C);
    let mut out = s;
    for (o, v) in out.iter_mut().zip([a, b, c, d]) {
        for (x, y) in o.iter_mut().zip(v) {
            *x = _mm512_add_epi32(*x, y);
        }
    }
    out
}

/// `b + rotl(a + m + k + fun(b, c, d), S)` on every chain, where `FUN` is the
/// `vpternlogd` truth table of the round function (bit `4b + 2c + d` of the table is
/// `fun(b, c, d)`).
#[target_feature(enable = "avx512f")]
#[inline]
fn step<const FUN: i32, const S: i32, const C: usize>(
    a: [__m512i; C],
    b: [__m512i; C],
    c: [__m512i; C],
    d: [__m512i; C],
    m: [__m512i; C],
    k: u32,
) -> [__m512i; C] {
    let mut out = a;
    for (i, o) in out.iter_mut().enumerate() {
        let t = early(_mm512_add_epi32(
            _mm512_add_epi32(a[i], m[i]),
            _mm512_set1_epi32(k as i32),
        ));
        let f = _mm512_ternarylogic_epi32::<FUN>(b[i], c[i], d[i]);
        *o = _mm512_add_epi32(_mm512_rol_epi32::<S>(_mm512_add_epi32(t, f)), b[i]);
    }
    out
}

/// Returns `x` unchanged but opaque to the optimiser, like `scalar::early`: keeps
/// `a + m + k` off the critical path instead of letting LLVM add it after the round
/// function (6 dependent instructions per step instead of 4).
#[target_feature(enable = "avx512f")]
#[inline]
fn early(mut x: __m512i) -> __m512i {
    // SAFETY: an empty template: no instruction, no memory access, no flags changed.
    unsafe {
        std::arch::asm!("/* {0} */", inout(zmm_reg) x, options(pure, nomem, nostack, preserves_flags));
    }
    x
}

/// Defines the step function of one round from its `vpternlogd` truth table.
macro_rules! round {
    ($name:ident, $table:literal, $doc:literal) => {
        #[doc = $doc]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn $name<const S: i32, const C: usize>(
            a: [__m512i; C],
            b: [__m512i; C],
            c: [__m512i; C],
            d: [__m512i; C],
            m: [__m512i; C],
            k: u32,
        ) -> [__m512i; C] {
            step::<$table, S, C>(a, b, c, d, m, k)
        }
    };
}
round!(ff, 0xCA, "Round 1: F = (b & c) | (!b & d).");
round!(gg, 0xE4, "Round 2: G = (b & d) | (c & !d).");
round!(hh, 0x96, "Round 3: H = b ^ c ^ d.");
round!(ii, 0x39, "Round 4: I = c ^ (b | !d).");
