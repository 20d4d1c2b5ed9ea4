//! The lane scheduler of the multi-buffer kernels: which message each lane reads, how many
//! blocks a kernel call runs, and when the lanes drain into the half-width kernel and then
//! the scalar code (the parent module's docs tell the scheme). The kernels themselves only
//! hash; every decision about what they hash is made here.

use super::{digest, scalar, write_padding, Feed, Message, Next, BLOCK, IV, PAD_BYTES};

/// MD5 states of `L` lanes, word-major: `state[w][l]` is word `w` (a, b, c, d) of lane `l`, the
/// layout in which a kernel loads one vector per state word.
pub(super) type LaneState<const L: usize> = [[u32; L]; 4];

/// A multi-buffer kernel: hashes `blocks` consecutive 64-byte blocks starting at `ptrs[l]` into
/// lane `l` of the state, for the lanes `0..width` it covers (see [`Kernels`]); it leaves the
/// state of the other lanes alone and does not read their pointers.
///
/// Safety contract: the CPU supports the kernel's target features, and every `ptrs[l]` with
/// `l < width` is valid for reads of `blocks * 64` bytes.
pub(super) type LaneKernel<const L: usize> = unsafe fn(&mut LaneState<L>, &[*const u8; L], usize);

/// The kernels a [`Scheduler`] drives, and when it uses which.
#[derive(Clone, Copy)]
pub(super) struct Kernels<const L: usize> {
    /// Covers all `L` lanes.
    pub(super) full: LaneKernel<L>,
    /// Covers lanes `0..L / 2` only, with fewer interleaved chains: lower throughput, but each
    /// lane runs faster. Used for the tail, when at most `L / 2` lanes are busy.
    pub(super) half: LaneKernel<L>,
    /// Busy lanes at or below which the tail is finished by the scalar code.
    pub(super) scalar_tail: usize,
}

/// What a lane is reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No message: the lane hashes a dummy and its state is garbage.
    Idle,
    /// The current piece's full blocks, read in place.
    Body,
    /// The lane's own padding buffer (the message's partial last block plus padding).
    Padding,
}

/// One lane's message and position.
struct Lane<M> {
    /// The message; `None` exactly when the lane is idle.
    msg: Option<M>,
    phase: Phase,
    /// Blocks of the current phase already hashed.
    pos: usize,
    /// Blocks in the current phase.
    len: usize,
    /// Bytes of the message's earlier pieces (the padding needs the total length).
    before: u64,
}

impl<M> Lane<M> {
    fn idle() -> Lane<M> {
        Lane {
            msg: None,
            phase: Phase::Idle,
            pos: 0,
            len: 0,
            before: 0,
        }
    }

    fn is_busy(&self) -> bool {
        self.phase != Phase::Idle
    }

    fn remaining(&self) -> usize {
        self.len - self.pos
    }
}

/// Feeds messages from a [`Feed`] to the `L` lanes of a multi-buffer kernel (SIMD, or the
/// scalar pair); see the module docs.
pub(super) struct Scheduler<'f, F: Feed, const L: usize> {
    feed: &'f mut F,
    /// The feed said [`Next::End`]: nothing more will come.
    ended: bool,
    /// The feed had nothing the last time a lane asked.
    starved: bool,
    lanes: [Lane<F::Msg>; L],
    /// Per-lane padding blocks; a lane in [`Phase::Padding`] reads from its own buffer.
    pads: [[u8; PAD_BYTES]; L],
    state: LaneState<L>,
}

impl<'f, F: Feed, const L: usize> Scheduler<'f, F, L> {
    pub(super) fn new(feed: &'f mut F) -> Self {
        Scheduler {
            feed,
            ended: false,
            starved: false,
            lanes: std::array::from_fn(|_| Lane::idle()),
            pads: [[0; PAD_BYTES]; L],
            state: [[0; L]; 4],
        }
    }

    /// Hashes every message of the feed, handing each digest back to it.
    ///
    /// While the feed has messages every lane refills and the full kernel runs. When it has
    /// none at the moment (or none left) the lanes drain, and two cheaper ways to finish take
    /// over: at most `L / 2` busy lanes are moved into the lower half and run by the
    /// half-width kernel, whose lanes are faster; at most `scalar_tail` busy lanes are finished
    /// by the scalar code, which is faster still for one message. The feed is asked to wait for
    /// a message only when every lane is idle, so a message in a lane never waits for the feed.
    ///
    /// # Safety
    ///
    /// The CPU must support both kernels: this function calls them whenever the rest of their
    /// contract (pointer validity) holds.
    pub(super) unsafe fn run(mut self, kernels: Kernels<L>) {
        loop {
            self.refill();
            let busy = self.lanes.iter().filter(|lane| lane.is_busy()).count();
            if busy == 0 {
                if self.ended {
                    return;
                }
                self.wait_for_message();
                continue;
            }
            let draining = self.ended || self.starved;
            if draining && busy <= kernels.scalar_tail {
                self.finish_scalar();
                continue;
            }
            let (kernel, width) = if draining && busy <= L / 2 {
                self.compact(L / 2);
                (kernels.half, L / 2)
            } else {
                (kernels.full, L)
            };
            let blocks = self.blocks_to_run();
            let ptrs = self.pointers(blocks);
            debug_assert!(self.lanes[width..].iter().all(|lane| !lane.is_busy()));
            // SAFETY: the caller guarantees that the CPU supports both kernels; `pointers`
            // returns, for every lane, the start of at least `blocks` whole blocks, and every
            // busy lane is below `width`, so the kernel covers all of them.
            unsafe { kernel(&mut self.state, &ptrs, blocks) };
            for l in 0..width {
                if self.lanes[l].is_busy() {
                    self.advance(l, blocks);
                }
            }
        }
    }

    /// Gives idle lanes whatever messages the feed has right now.
    fn refill(&mut self) {
        self.starved = false;
        for l in 0..L {
            if self.ended || self.starved {
                return;
            }
            if !self.lanes[l].is_busy() {
                match self.feed.next(false) {
                    Next::Msg(msg) => self.start(l, msg),
                    Next::Later => self.starved = true,
                    Next::End => self.ended = true,
                }
            }
        }
    }

    /// Every lane is idle: wait for the feed's next message.
    fn wait_for_message(&mut self) {
        match self.feed.next(true) {
            Next::Msg(msg) => self.start(0, msg),
            Next::Later => {}
            Next::End => self.ended = true,
        }
    }

    /// Moves the busy lanes into lanes `0..width` (there must be room), with their padding
    /// buffers and states, so that a narrower kernel covers them.
    fn compact(&mut self, width: usize) {
        let mut free = 0;
        for l in width..L {
            if !self.lanes[l].is_busy() {
                continue;
            }
            while self.lanes[free].is_busy() {
                free += 1;
            }
            assert!(free < width, "more busy lanes than the kernel covers");
            self.lanes.swap(l, free);
            self.pads.swap(l, free);
            for word in &mut self.state {
                word.swap(l, free);
            }
        }
    }

    /// The blocks every busy lane can run: the fewest any busy lane has left in its phase.
    fn blocks_to_run(&self) -> usize {
        self.lanes
            .iter()
            .filter(|lane| lane.is_busy())
            .map(Lane::remaining)
            .min()
            .unwrap_or(0)
    }

    /// The unread blocks of lane `l`'s current phase (empty for an idle lane).
    fn segment(&self, l: usize) -> &[u8] {
        let lane = &self.lanes[l];
        let range = lane.pos * BLOCK..lane.len * BLOCK;
        match (lane.phase, &lane.msg) {
            (Phase::Body, Some(msg)) => &msg.piece()[range],
            (Phase::Padding, _) => &self.pads[l][range],
            _ => &[],
        }
    }

    /// Where each lane reads its next `blocks` blocks. Idle lanes borrow a busy lane's pointer:
    /// that memory is valid for `blocks` blocks too, and saves a dummy buffer of that size.
    fn pointers(&self, blocks: usize) -> [*const u8; L] {
        let mut ptrs = [std::ptr::null(); L];
        let mut donor = std::ptr::null();
        for (l, ptr) in ptrs.iter_mut().enumerate() {
            let segment = self.segment(l);
            if self.lanes[l].is_busy() {
                assert!(segment.len() >= blocks * BLOCK);
                *ptr = segment.as_ptr();
                donor = *ptr;
            }
        }
        assert!(!donor.is_null());
        for (ptr, lane) in ptrs.iter_mut().zip(&self.lanes) {
            if !lane.is_busy() {
                *ptr = donor;
            }
        }
        ptrs
    }

    /// Records that lane `l` hashed `blocks` more blocks, and moves it on when its phase ends.
    fn advance(&mut self, l: usize, blocks: usize) {
        let lane = &mut self.lanes[l];
        lane.pos += blocks;
        if lane.pos < lane.len {
            return;
        }
        match lane.phase {
            Phase::Body => self.end_of_piece(l),
            Phase::Padding => {
                let digest = digest(self.lane_state(l));
                let lane = std::mem::replace(&mut self.lanes[l], Lane::idle());
                if let Some(msg) = lane.msg {
                    self.feed.done(msg, digest);
                }
            }
            Phase::Idle => unreachable!("idle lanes do not advance"),
        }
    }

    /// Gives lane `l` a new message.
    fn start(&mut self, l: usize, msg: F::Msg) {
        self.set_lane_state(l, IV);
        self.lanes[l] = Lane {
            msg: Some(msg),
            phase: Phase::Body,
            pos: 0,
            len: 0,
            before: 0,
        };
        self.start_piece(l);
    }

    /// Lane `l` starts reading its message's current piece.
    fn start_piece(&mut self, l: usize) {
        let lane = &mut self.lanes[l];
        let piece_len = lane.msg.as_ref().map_or(0, |m| m.piece().len());
        lane.phase = Phase::Body;
        lane.pos = 0;
        lane.len = piece_len / BLOCK;
        if lane.len == 0 {
            self.end_of_piece(l);
        }
    }

    /// Lane `l` has hashed the full blocks of its piece: go on to the next piece, or to the
    /// padding after the last one. Only the last piece may end in a partial block.
    fn end_of_piece(&mut self, l: usize) {
        let lane = &mut self.lanes[l];
        let Some(msg) = lane.msg.as_mut() else {
            return;
        };
        let piece_len = msg.piece().len();
        if piece_len % BLOCK == 0 && msg.next_piece() {
            lane.before += piece_len as u64;
            self.start_piece(l);
            return;
        }
        let piece = msg.piece();
        let full = piece_len - piece_len % BLOCK;
        let total = lane.before + piece_len as u64;
        let blocks = write_padding(&mut self.pads[l], &piece[full..], total);
        lane.phase = Phase::Padding;
        lane.pos = 0;
        lane.len = blocks;
    }

    /// Finishes every busy lane with the scalar kernel.
    fn finish_scalar(&mut self) {
        for l in 0..L {
            if !self.lanes[l].is_busy() {
                continue;
            }
            let mut state = self.lane_state(l);
            while self.lanes[l].phase == Phase::Body {
                scalar::compress(&mut state, self.segment(l));
                self.end_of_piece(l);
            }
            scalar::compress(&mut state, self.segment(l));
            let lane = std::mem::replace(&mut self.lanes[l], Lane::idle());
            if let Some(msg) = lane.msg {
                self.feed.done(msg, digest(state));
            }
        }
    }

    fn lane_state(&self, l: usize) -> [u32; 4] {
        let [a, b, c, d] = &self.state;
        [a[l], b[l], c[l], d[l]]
    }

    fn set_lane_state(&mut self, l: usize, value: [u32; 4]) {
        for (word, v) in self.state.iter_mut().zip(value) {
            word[l] = v;
        }
    }
}
