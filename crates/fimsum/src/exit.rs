//! The exit status of a run as a value: the bits of what a completed run found, or the
//! sysexits code of why it stopped. Only `main` turns it into a number.
//!
//! A completed run exits with the bits of what it found, combined (`1` added, `2` removed,
//! `4` changed, `8` incomplete, `16` on an IOC list): 0 means "nothing found". A run that
//! cannot give a trustworthy answer exits with a code of 64 or more, never one of the bits,
//! so that a script's `case $?` can tell "changes found" from "could not tell".

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// What a completed run found, as exit-code bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bits(u8);

impl Bits {
    /// Nothing found.
    pub const NONE: Bits = Bits(0);
    /// An entry was added.
    pub(crate) const ADDED: Bits = Bits(1);
    /// An entry was removed.
    pub(crate) const REMOVED: Bits = Bits(2);
    /// An entry changed.
    pub(crate) const CHANGED: Bits = Bits(4);
    /// Part of the tree could not be seen or verified: the answer is partial.
    pub(crate) const INCOMPLETE: Bits = Bits(8);
    /// A file's digest is on a known-bad (IOC) list.
    pub const IOC: Bits = Bits(16);

    /// Whether every bit of `other` is set here.
    pub fn contains(self, other: Bits) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with only the bits of `other` kept.
    pub fn only(self, other: Bits) -> Bits {
        Bits(self.0 & other.0)
    }

    /// `INCOMPLETE` when `problems` is not zero.
    pub(crate) fn incomplete_if(problems: u64) -> Bits {
        if problems > 0 {
            Bits::INCOMPLETE
        } else {
            Bits::NONE
        }
    }

    /// The process exit code.
    pub fn code(self) -> i32 {
        i32::from(self.0)
    }
}

impl BitOr for Bits {
    type Output = Bits;

    fn bitor(self, other: Bits) -> Bits {
        Bits(self.0 | other.0)
    }
}

impl BitOrAssign for Bits {
    fn bitor_assign(&mut self, other: Bits) {
        self.0 |= other.0;
    }
}

/// Why a run stopped without an answer: the sysexits.h code of each kind of failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fatal {
    /// The command line (or an option file) is wrong (EX_USAGE).
    Usage,
    /// A baseline or log is not valid (EX_DATAERR).
    Data,
    /// An input file does not exist or cannot be opened (EX_NOINPUT).
    NoInput,
    /// Reading or writing failed midway (EX_IOERR).
    Io,
    /// Another run holds the baseline's lock (EX_TEMPFAIL: try again later).
    Locked,
    /// A key file or the config file is malformed or unsafe (EX_CONFIG).
    Config,
}

impl Fatal {
    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            Fatal::Usage => 64,
            Fatal::Data => 65,
            Fatal::NoInput => 66,
            Fatal::Io => 74,
            Fatal::Locked => 75,
            Fatal::Config => 78,
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// It ran to the end and found this.
    Completed(Bits),
    /// It stopped.
    Fatal(Fatal),
}

impl Status {
    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            Status::Completed(bits) => bits.code(),
            Status::Fatal(fatal) => fatal.code(),
        }
    }
}

impl From<Bits> for Status {
    fn from(bits: Bits) -> Status {
        Status::Completed(bits)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_combine_and_stay_below_the_fatal_codes() {
        let all = Bits::ADDED | Bits::REMOVED | Bits::CHANGED | Bits::INCOMPLETE | Bits::IOC;
        assert_eq!(all.code(), 31);
        assert!(all.contains(Bits::IOC | Bits::ADDED));
        assert!(!Bits::ADDED.contains(Bits::REMOVED));
        assert_eq!(all.only(Bits::IOC), Bits::IOC);
        for fatal in [
            Fatal::Usage,
            Fatal::Data,
            Fatal::NoInput,
            Fatal::Io,
            Fatal::Locked,
            Fatal::Config,
        ] {
            assert!(Status::Fatal(fatal).code() >= 64);
        }
        assert_eq!(Status::from(Bits::incomplete_if(1)).code(), 8);
        assert_eq!(Bits::incomplete_if(0), Bits::NONE);
    }
}
