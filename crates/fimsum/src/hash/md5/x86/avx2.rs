use super::super::{LaneState, AVX2_LANES, BLOCK};
use std::arch::x86_64::*;

/// Chains of the full-width kernel.
pub(super) const CHAINS: usize = AVX2_LANES / 8;

// The half-width tail kernel has `CHAINS / 2` chains and must cover exactly half the
// lanes.
const _: () = assert!(CHAINS >= 2 && CHAINS.is_multiple_of(2));

/// Hashes `blocks` blocks into lanes `0..8 * C`; lanes `8c..8c + 8` form chain `c`.
///
/// # Safety
///
/// The CPU supports AVX2, and every `ptrs[l]` with `l < 8 * C` is valid for reads of
/// `blocks * 64` bytes.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn compress<const C: usize>(
    state: &mut LaneState<AVX2_LANES>,
    ptrs: &[*const u8; AVX2_LANES],
    blocks: usize,
) {
    let zero = _mm256_setzero_si256();
    let mut s = [[zero; C]; 4];
    for (words, row) in s.iter_mut().zip(state.iter()) {
        for (v, lanes) in words.iter_mut().zip(row.chunks_exact(8)) {
            // SAFETY: `lanes` is 8 u32 = 32 bytes; unaligned loads are allowed.
            *v = unsafe { _mm256_loadu_si256(lanes.as_ptr().cast()) };
        }
    }
    for block in 0..blocks {
        let chains: [[__m256i; 16]; C] = std::array::from_fn(|chain| {
            let lane_ptrs = ptrs[8 * chain..8 * (chain + 1)]
                .try_into()
                .expect("8 lanes");
            // SAFETY: the caller guarantees `blocks * 64` readable bytes from each of
            // these pointers, and this block ends at `(block + 1) * 64 <= blocks * 64`.
            unsafe { load_words(lane_ptrs, block * BLOCK) }
        });
        let m = std::array::from_fn(|word| std::array::from_fn(|chain| chains[chain][word]));
        s = compress_block(s, &m);
    }
    for (words, row) in s.iter().zip(state.iter_mut()) {
        for (v, lanes) in words.iter().zip(row.chunks_exact_mut(8)) {
            // SAFETY: as for the loads above; the state is borrowed mutably.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), *v) };
        }
    }
}

/// Loads the block at `ptrs[l] + offset` of 8 lanes and transposes it, so that vector
/// `w` holds message word `w` of every lane.
///
/// # Safety
///
/// The CPU supports AVX2, and every `ptrs[l]` is valid for reads of `offset + 64` bytes.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn load_words(ptrs: &[*const u8; 8], offset: usize) -> [__m256i; 16] {
    let mut m = [_mm256_setzero_si256(); 16];
    for group in 0..4 {
        // rows[r]: words 4g..4g+3 of lane r (low half) and of lane r + 4 (high half).
        let mut rows = [_mm256_setzero_si256(); 4];
        for (r, row) in rows.iter_mut().enumerate() {
            let at = offset + 16 * group;
            // SAFETY: `at + 16 <= offset + 64`, within what the caller guarantees.
            *row = unsafe {
                _mm256_set_m128i(
                    _mm_loadu_si128(ptrs[r + 4].add(at).cast()),
                    _mm_loadu_si128(ptrs[r].add(at).cast()),
                )
            };
        }
        // A 4x4 transpose inside each 128-bit half.
        let t0 = _mm256_unpacklo_epi32(rows[0], rows[1]);
        let t1 = _mm256_unpackhi_epi32(rows[0], rows[1]);
        let t2 = _mm256_unpacklo_epi32(rows[2], rows[3]);
        let t3 = _mm256_unpackhi_epi32(rows[2], rows[3]);
        m[4 * group] = _mm256_unpacklo_epi64(t0, t2);
        m[4 * group + 1] = _mm256_unpackhi_epi64(t0, t2);
        m[4 * group + 2] = _mm256_unpacklo_epi64(t1, t3);
        m[4 * group + 3] = _mm256_unpackhi_epi64(t1, t3);
    }
    m
}

#[target_feature(enable = "avx2")]
#[inline]
fn compress_block<const C: usize>(
    s: [[__m256i; C]; 4],
    m: &[[__m256i; C]; 16],
) -> [[__m256i; C]; 4] {
    let [mut a, mut b, mut c, mut d] = s;
    md5_steps!(ff, gg, hh, ii, a, b, c, d, m, C);
    let mut out = s;
    for (o, v) in out.iter_mut().zip([a, b, c, d]) {
        for (x, y) in o.iter_mut().zip(v) {
            *x = _mm256_add_epi32(*x, y);
        }
    }
    out
}

/// `b + rotl(a + m + k + f, S)` on every chain; `f` is the round function's value.
#[target_feature(enable = "avx2")]
#[inline]
fn step<const S: i32, const C: usize>(
    a: [__m256i; C],
    b: [__m256i; C],
    f: [__m256i; C],
    m: [__m256i; C],
    k: u32,
) -> [__m256i; C] {
    let mut out = a;
    for (i, o) in out.iter_mut().enumerate() {
        let t = early(_mm256_add_epi32(
            _mm256_add_epi32(a[i], m[i]),
            _mm256_set1_epi32(k as i32),
        ));
        let t = _mm256_add_epi32(t, f[i]);
        // AVX2 has no rotate; LLVM turns these constant variable shifts into immediate
        // ones.
        let rotated = _mm256_or_si256(
            _mm256_sllv_epi32(t, _mm256_set1_epi32(S)),
            _mm256_srlv_epi32(t, _mm256_set1_epi32(32 - S)),
        );
        *o = _mm256_add_epi32(rotated, b[i]);
    }
    out
}

/// Returns `x` unchanged but opaque to the optimiser, like `scalar::early`: keeps
/// `a + m + k` off the critical path.
#[target_feature(enable = "avx2")]
#[inline]
fn early(mut x: __m256i) -> __m256i {
    // SAFETY: an empty template: no instruction, no memory access, no flags changed.
    unsafe {
        std::arch::asm!("/* {0} */", inout(ymm_reg) x, options(pure, nomem, nostack, preserves_flags));
    }
    x
}

/// F = (b & c) | (!b & d), computed as ((c ^ d) & b) ^ d.
#[target_feature(enable = "avx2")]
#[inline]
fn f(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
    _mm256_xor_si256(_mm256_and_si256(_mm256_xor_si256(c, d), b), d)
}

/// G = (b & d) | (c & !d).
#[target_feature(enable = "avx2")]
#[inline]
fn g(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
    _mm256_or_si256(_mm256_and_si256(b, d), _mm256_andnot_si256(d, c))
}

/// H = b ^ c ^ d.
#[target_feature(enable = "avx2")]
#[inline]
fn h(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
    _mm256_xor_si256(b, _mm256_xor_si256(c, d))
}

/// I = c ^ (b | !d).
#[target_feature(enable = "avx2")]
#[inline]
fn i(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
    let not_d = _mm256_xor_si256(d, _mm256_set1_epi32(-1));
    _mm256_xor_si256(c, _mm256_or_si256(b, not_d))
}

/// Defines the step function of one round, on every chain, from its round function.
macro_rules! round {
    ($name:ident, $fun:ident) => {
        #[target_feature(enable = "avx2")]
        #[inline]
        fn $name<const S: i32, const C: usize>(
            a: [__m256i; C],
            b: [__m256i; C],
            c: [__m256i; C],
            d: [__m256i; C],
            m: [__m256i; C],
            k: u32,
        ) -> [__m256i; C] {
            let mut value = b;
            for (i, v) in value.iter_mut().enumerate() {
                *v = $fun(b[i], c[i], d[i]);
            }
            step::<S, C>(a, b, value, m, k)
        }
    };
}
round!(ff, f);
round!(gg, g);
round!(hh, h);
round!(ii, i);
