//! Baseline files: the only module that knows their encoding (bincode 2.0.1).
//!
//! Layout (all integers outside bincode frames are little-endian):
//!
//! ```text
//! magic      8 bytes  "FIMSUMBL"
//! version    u32      FORMAT_VERSION (5; versions 1 to 4 are still read)
//! header     u32 length + bincode(WireHeaderV4)          (at most 1 MiB)
//! count      u64      number of records
//! records    count x (u32 length + bincode(WireRecordV5)) (each at most 1 MiB), in rsync order
//! end        8 bytes  "FIMSUMEN" + SHA-256 of every byte before "FIMSUMEN"
//! signature  optional: "FIMSUMSG" + key id (32 bytes) + Ed25519 signature (64 bytes)
//! ```
//!
//! Records are written one at a time, so a million entries never sit in memory; the count
//! is patched in when the scan ends and the digest is taken over the finished file.
//!
//! The header's generation numbers the baselines written to one path: `scan -o` and
//! `import` ([`BaselineWriter::create_next`]) make it one more than the generation of the
//! baseline they replace (1 if there is none), so a verifier can refuse an older, validly
//! signed baseline played back (`--min-generation`). A signed baseline continues only the
//! numbering of a baseline signed by the same key (see `next_generation`).
//!
//! Version 3 added the extra digests (`scan --digest`): the header lists their kinds, and
//! each regular file with a checksum carries one digest of each kind, in that order, and
//! every other record none. Versions 1 and 2 are read as baselines without extra digests
//! (version 1 also as generation 0); [`BaselineWriter`] always writes version 5.
//!
//! Version 4 added the filesystem types the scan did not enter (`skip_fs`), so that a check
//! walks the tree as the baseline's scan did; its records are version 3's. Versions 1 to 3
//! are read as baselines that do not say ([`Header::skip_fs`] `None`).
//!
//! Version 5 added to each record its security attributes ([`crate::attrs::Attrs`], or
//! none when the scan did not record them) and then an optional snapshot of [`crate::text`]
//! (a regular file with a checksum that a rule's `diff` names); its header is version 4's.
//! Records of versions 1 to 4 are read with [`crate::record::Record::attrs`] `None` (not
//! recorded) and no snapshot.
//!
//! A signed baseline ends with the fixed-size block of [`crate::baseline::sign`], which covers the
//! bytes from the magic through the record count and the end marker's digest. With a verify
//! key, [`Baseline::open_with`] checks it first ([`check_signature`]): it finds the block
//! and the end marker at fixed offsets from the end of the file, hashes the bytes before
//! them and verifies the signature without decoding anything, not even the header; only
//! then are the header checked against the policy and the records decoded. Without a
//! verify key the block is accepted but not checked (there is nothing to check it with).
//!
//! A baseline is treated as hostile input. bincode 2.0.1 allocates whatever a length prefix
//! claims unless a decode has a limit (a 13-byte file can ask for terabytes), so every frame
//! is length-checked against the limit and the bytes left, decoded with a limit, and must be
//! consumed exactly; records must be in strict rsync order; the end marker, the digest, the
//! signature block (if any) and the end of file must all be where they belong.
//! [`Baseline::open`] checks all of that in a first pass before a single record is handed
//! out, so a truncated or altered file is an error (exit 65) and never a shorter baseline.
//! Both passes, and every reader of the records, read one private copy of the file in
//! memory ([`Baseline`]), so what is decoded is what was verified.
//!
//! The wire structs (`wire.rs`) mirror the public types on purpose: the file format changes only
//! when this module says so, never by a refactor elsewhere, and decoding validates on the
//! way in (kinds, digest lengths, names).

pub mod sign;

mod reader;
mod wire;
mod writer;

#[cfg(test)]
mod tests;

pub(crate) use reader::is_baseline;
pub use reader::{
    check_integrity, check_signature, Baseline, Policy, Records, SignatureStatus, Signed, Verified,
};
#[cfg(test)]
pub(crate) use wire::signed_prefix;
pub use wire::{Header, Origin, FORMAT_VERSION, SNAPSHOT_VERSION};
pub(crate) use writer::lock_path;
pub use writer::BaselineWriter;
