use super::{LaneState, BLOCK, SCALAR_LANES};

/// Two messages' words side by side.
type Pair = [u32; SCALAR_LANES];

/// Hashes `blocks` blocks from `ptrs[0]` and from `ptrs[1]` into lanes 0 and 1 of
/// `state`, step by step in turn, so that the CPU runs the two independent chains in
/// parallel.
///
/// # Safety
///
/// Both pointers are valid for reads of `blocks * 64` bytes.
pub(super) unsafe fn compress_pair(
    state: &mut LaneState<SCALAR_LANES>,
    ptrs: &[*const u8; SCALAR_LANES],
    blocks: usize,
) {
    let [mut a, mut b, mut c, mut d] = *state;
    for block in 0..blocks {
        let m: [Pair; 16] = std::array::from_fn(|w| {
            std::array::from_fn(|lane| {
                // SAFETY: word `w` of block `block` ends at `(block + 1) * 64 <= blocks *
                // 64` bytes, which the caller guarantees readable; `[u8; 4]` needs no
                // alignment. Read in place: copying the block to the stack first took
                // 30% of the speed.
                let word = unsafe { *ptrs[lane].add(block * BLOCK).cast::<[u8; 4]>().add(w) };
                u32::from_le_bytes(word)
            })
        });
        let before = [a, b, c, d];
        md5_steps!(ff2, gg2, hh2, ii2, a, b, c, d, m);
        for (word, old) in [&mut a, &mut b, &mut c, &mut d].into_iter().zip(before) {
            *word = std::array::from_fn(|lane| word[lane].wrapping_add(old[lane]));
        }
    }
    *state = [a, b, c, d];
}

/// Lane 0 of the pair alone: the half-width kernel of the scheduler's tail.
///
/// # Safety
///
/// `ptrs[0]` is valid for reads of `blocks * 64` bytes.
pub(super) unsafe fn compress_first(
    state: &mut LaneState<SCALAR_LANES>,
    ptrs: &[*const u8; SCALAR_LANES],
    blocks: usize,
) {
    if blocks == 0 {
        return;
    }
    // SAFETY: the caller guarantees `blocks * 64` readable bytes at `ptrs[0]` (not null:
    // the scheduler's pointers come from slices).
    let data = unsafe { std::slice::from_raw_parts(ptrs[0], blocks * BLOCK) };
    let mut lane = [state[0][0], state[1][0], state[2][0], state[3][0]];
    compress(&mut lane, data);
    for (word, value) in state.iter_mut().zip(lane) {
        word[0] = value;
    }
}

/// Declares a step function on a [`Pair`] that runs the one-message step on each.
macro_rules! pair_step {
    ($pair:ident, $one:ident) => {
        #[inline(always)]
        fn $pair<const S: u32>(a: Pair, b: Pair, c: Pair, d: Pair, m: Pair, k: u32) -> Pair {
            std::array::from_fn(|l| $one::<S>(a[l], b[l], c[l], d[l], m[l], k))
        }
    };
}
pair_step!(ff2, ff);
pair_step!(gg2, gg);
pair_step!(hh2, hh);
pair_step!(ii2, ii);

/// Hashes `blocks` (a whole number of 64-byte blocks) into `state`.
pub(super) fn compress(state: &mut [u32; 4], blocks: &[u8]) {
    debug_assert_eq!(blocks.len() % BLOCK, 0);
    for block in blocks.chunks_exact(BLOCK) {
        let mut m = [0u32; 16];
        for (word, bytes) in m.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        let [mut a, mut b, mut c, mut d] = *state;
        md5_steps!(ff, gg, hh, ii, a, b, c, d, m);
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
}

// The step functions add the message word and constant to `a` first: that sum does not
// depend on the previous step, so the CPU computes it while the round function waits for `b`.
// The critical path is then only b -> f -> add -> rotate -> add. LLVM would otherwise move the
// constant add after the round function (its canonical order), one more cycle per step.
// G is split into two disjoint terms so that `c & !d` is also added early.

/// Returns `x` unchanged, but opaque to the optimiser so it cannot reassociate the additions
/// that produced `x` with later ones.
#[inline(always)]
fn early(x: u32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    let x = {
        let mut x = x;
        // SAFETY: an empty template: no instruction, no memory access, no flags changed;
        // the value merely passes through a register.
        unsafe {
            std::arch::asm!("/* {0:e} */", inout(reg) x, options(pure, nomem, nostack, preserves_flags));
        }
        x
    };
    x
}

#[inline(always)]
fn ff<const S: u32>(a: u32, b: u32, c: u32, d: u32, m: u32, k: u32) -> u32 {
    let t = early(a.wrapping_add(m).wrapping_add(k));
    let f = ((c ^ d) & b) ^ d;
    t.wrapping_add(f).rotate_left(S).wrapping_add(b)
}

#[inline(always)]
fn gg<const S: u32>(a: u32, b: u32, c: u32, d: u32, m: u32, k: u32) -> u32 {
    // G = (b & d) | (c & !d); the two terms never overlap, so | is the same as +.
    let t = early(a.wrapping_add(m).wrapping_add(k).wrapping_add(c & !d));
    t.wrapping_add(b & d).rotate_left(S).wrapping_add(b)
}

#[inline(always)]
fn hh<const S: u32>(a: u32, b: u32, c: u32, d: u32, m: u32, k: u32) -> u32 {
    let t = early(a.wrapping_add(m).wrapping_add(k));
    t.wrapping_add(b ^ (c ^ d)).rotate_left(S).wrapping_add(b)
}

#[inline(always)]
fn ii<const S: u32>(a: u32, b: u32, c: u32, d: u32, m: u32, k: u32) -> u32 {
    let t = early(a.wrapping_add(m).wrapping_add(k));
    t.wrapping_add(c ^ (b | !d)).rotate_left(S).wrapping_add(b)
}
