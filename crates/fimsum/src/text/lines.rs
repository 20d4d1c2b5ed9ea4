//! Lines, and the keyed per-line digests that stand for the content of a file that holds
//! secrets.
//!
//! **Why keyed, with a salt per file.** A line of /etc/shadow is short and much of it is
//! guessable (`daemon:*:19000:0:99999:7:::`); a plain hash of it would let whoever reads
//! the baseline confirm guesses at a glance, match equal lines across files and hosts (the
//! same root password hash on two machines), and use tables made in advance. So each
//! snapshot has a random 16-byte salt, and a line's digest is SHA-256 over the salt and
//! the line, iterated [`ROUNDS`] times, cut to 8 bytes: nothing is comparable across files
//! or baselines, and every guess costs [`ROUNDS`] hashes. A salt lives in the snapshot,
//! not in the baseline's header, so the format stays a per-record one; `check` hands the
//! baseline's salt of each file to the scan ([`crate::text::Capture::with_salts`]), so that
//! the new digests of a file are comparable with the old ones, and `update` keeps it. The
//! digest cannot protect a line that is itself short and guessable: such a line holds no
//! secret worth the name; the lines that do (password hashes, key material) are long and
//! random, and cannot be guessed from 8 bytes.
//!
//! Eight bytes tell a changed line from an unchanged one with a chance of 2^-64 of
//! missing one, and keep a file of [`crate::text::LINES_MAX`] lines to 256 KiB.

use sha2::{Digest as _, Sha256};

/// SHA-256 rounds per line digest.
pub(crate) const ROUNDS: u32 = 256;

/// The salt's length.
pub(crate) const SALT_LEN: usize = 16;

/// A line's digest.
pub(crate) type LineDigest = [u8; 8];

/// The lines of `content`, each with its `\n` (the last one without, if the file does not
/// end in one): a change of the last newline is a change of the last line.
pub(crate) fn split(content: &[u8]) -> Vec<&[u8]> {
    content.split_inclusive(|&b| b == b'\n').collect()
}

/// How many lines [`split`] makes of `content`.
pub(crate) fn count(content: &[u8]) -> usize {
    let newlines = memchr::memchr_iter(b'\n', content).count();
    newlines + usize::from(!content.is_empty() && !content.ends_with(b"\n"))
}

/// A file that holds secrets, as a baseline keeps it: the salt and one digest a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineDigests {
    salt: [u8; SALT_LEN],
    digests: Vec<LineDigest>,
}

impl LineDigests {
    /// The digests of `content`'s lines under `salt`.
    pub(crate) fn new(salt: [u8; SALT_LEN], content: &[u8]) -> LineDigests {
        let digests = split(content)
            .into_iter()
            .map(|line| digest(&salt, line))
            .collect();
        LineDigests { salt, digests }
    }

    /// As stored.
    pub(crate) fn from_parts(salt: [u8; SALT_LEN], digests: Vec<LineDigest>) -> LineDigests {
        LineDigests { salt, digests }
    }

    /// The salt.
    pub(crate) fn salt(&self) -> [u8; SALT_LEN] {
        self.salt
    }

    /// The digests, one a line.
    pub(crate) fn digests(&self) -> &[LineDigest] {
        &self.digests
    }

    /// The bytes it adds to a baseline.
    pub(crate) fn stored_len(&self) -> u64 {
        (SALT_LEN + 8 * self.digests.len()) as u64
    }
}

/// A fresh random salt.
pub(crate) fn new_salt() -> [u8; SALT_LEN] {
    use rand_core::RngCore;
    let mut salt = [0; SALT_LEN];
    rand_core::OsRng.fill_bytes(&mut salt);
    salt
}

fn digest(salt: &[u8; SALT_LEN], line: &[u8]) -> LineDigest {
    let mut h = Sha256::new();
    h.update(b"fimsum line digest 1\0");
    h.update(salt);
    h.update((line.len() as u64).to_le_bytes());
    h.update(line);
    let mut d: [u8; 32] = h.finalize().into();
    for _ in 1..ROUNDS {
        let mut h = Sha256::new();
        h.update(salt);
        h.update(d);
        d = h.finalize().into();
    }
    let mut out = [0; 8];
    out.copy_from_slice(&d[..8]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_newlines() {
        assert_eq!(split(b"a\nb\n"), vec![&b"a\n"[..], b"b\n"]);
        assert_eq!(split(b"a\nb"), vec![&b"a\n"[..], b"b"]);
        assert!(split(b"").is_empty());
        assert_eq!(split(b"\n\n"), vec![&b"\n"[..], b"\n"]);
        for text in [&b""[..], b"a", b"a\n", b"a\nb", b"\n\n"] {
            assert_eq!(count(text), split(text).len());
        }
    }

    #[test]
    fn digests_depend_on_the_salt_and_each_line() {
        let salt = [1; SALT_LEN];
        let a = LineDigests::new(salt, b"root:$6$x$abc:1::\nbin:*:1::\n");
        let b = LineDigests::new(salt, b"root:$6$x$abd:1::\nbin:*:1::\n");
        assert_eq!(a.digests().len(), 2);
        assert_ne!(a.digests()[0], b.digests()[0]);
        assert_eq!(a.digests()[1], b.digests()[1]);
        let other = LineDigests::new([2; SALT_LEN], b"root:$6$x$abc:1::\nbin:*:1::\n");
        assert_ne!(a.digests()[0], other.digests()[0]);
        assert_ne!(a.digests()[1], other.digests()[1]);
        // Not a plain hash of the line, salted or not.
        let plain = Sha256::digest(b"bin:*:1::\n");
        assert_ne!(&a.digests()[1][..], &plain[..8]);
        // A missing last newline is a change of the last line.
        let c = LineDigests::new(salt, b"root:$6$x$abc:1::\nbin:*:1::");
        assert_ne!(a.digests()[1], c.digests()[1]);
        assert_ne!(new_salt(), new_salt());
    }
}
