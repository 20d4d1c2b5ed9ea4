use super::{Feed, Kernels, Scheduler, AVX2_LANES, AVX512_LANES};

/// Busy lanes at or below which the last messages are finished by the scalar code (see
/// [`Scheduler::run`]). One scalar chain outruns one lane of a half-empty kernel, so SIMD
/// wins from two busy lanes up (docs/performance.md, "Tuning constants").
const SCALAR_TAIL: usize = 1;

pub(super) fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2")
}

pub(super) fn has_avx512() -> bool {
    is_x86_feature_detected!("avx512f")
}

pub(super) fn stream_avx2<F: Feed>(feed: &mut F) {
    assert!(has_avx2());
    let kernels = Kernels {
        full: avx2::compress::<{ avx2::CHAINS }>,
        half: avx2::compress::<{ avx2::CHAINS / 2 }>,
        scalar_tail: SCALAR_TAIL,
    };
    // SAFETY: AVX2 is present (checked above), which is all `avx2::compress` needs.
    unsafe { Scheduler::<F, AVX2_LANES>::new(feed).run(kernels) }
}

pub(super) fn stream_avx512<F: Feed>(feed: &mut F) {
    assert!(has_avx512());
    let kernels = Kernels {
        full: avx512::compress::<{ avx512::CHAINS }>,
        half: avx512::compress::<{ avx512::CHAINS / 2 }>,
        scalar_tail: SCALAR_TAIL,
    };
    // SAFETY: AVX-512F is present (checked above), which is all `avx512::compress` needs.
    unsafe { Scheduler::<F, AVX512_LANES>::new(feed).run(kernels) }
}

/// AVX2 kernel: chains of 8 lanes (one 32-bit word of 8 messages per `ymm` register), two
/// of them interleaved step by step. One chain alone leaves the CPU waiting on the latency of
/// MD5's serial steps; two keep its vector ports busy; more spill registers.
mod avx2;

/// AVX-512 kernel: chains of 16 lanes (one 32-bit word of 16 messages per `zmm` register),
/// two of them interleaved. `vpternlogd` computes each round function and `vprold` each
/// rotation in one instruction, so a step is 4 dependent instructions; a second chain fills
/// the ports while the first waits on that latency.
mod avx512;
