//! Errors and the exit codes they map to ([`crate::exit`]).
//!
//! Policy: a failure about one path (unreadable file, vanished entry, unreadable directory)
//! is a [`Problem`]: it is reported on stderr with the path and the reason, counted, and the
//! scan goes on; the run then exits with bit 8 ("incomplete"). Anything that makes the whole
//! answer untrustworthy (bad arguments, a missing, unreadable or corrupt baseline, a baseline
//! whose signature does not verify, a bad key file, failing to write the output) is an
//! [`Error`], which ends the run with a code of 64 or more (sysexits), never one of the
//! bitmask codes 1-31. The layer that knows the path adds it.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::exit::Fatal;

/// A failure about one entry; the run continues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The entry's `%n` name (raw bytes), or the source argument it came from.
    pub name: Vec<u8>,
    /// What went wrong.
    pub message: String,
}

/// A fatal error.
#[derive(Debug)]
pub enum Error {
    /// The command line or an option file is wrong.
    Usage(String),
    /// A baseline or log exists but is not valid: truncated, corrupt, of a newer version.
    BadData {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An input file does not exist or cannot be opened.
    NoInput {
        /// The file.
        path: PathBuf,
        /// Why it could not be opened.
        source: io::Error,
    },
    /// Reading or writing failed midway.
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The error from the system.
        source: io::Error,
    },
    /// Another run is writing this baseline.
    Locked {
        /// The baseline.
        path: PathBuf,
    },
    /// A signing or verify key file is malformed or has unsafe permissions. Kept apart from
    /// [`Error::BadData`] so that exit 65 from `check --verify-key` always means "this
    /// baseline cannot be trusted", never "your key file is wrong".
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The config file is unreadable, malformed or unsafe (the message names file and line).
    Config(String),
}

impl Error {
    /// The kind of failure, which gives the exit code.
    pub fn fatal(&self) -> Fatal {
        match self {
            Error::Usage(_) => Fatal::Usage,
            Error::BadData { .. } => Fatal::Data,
            Error::NoInput { .. } => Fatal::NoInput,
            Error::Io { .. } => Fatal::Io,
            Error::Locked { .. } => Fatal::Locked,
            Error::Key { .. } | Error::Config(_) => Fatal::Config,
        }
    }

    /// An I/O error, with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn bad_data(path: impl Into<PathBuf>, reason: impl Into<String>) -> Error {
        Error::BadData {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Output went to a closed pipe (`fimsum scan / | head`): not an error for the user.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(msg) | Error::Config(msg) => f.write_str(msg),
            Error::BadData { path, reason } | Error::Key { path, reason } => {
                write!(f, "{}: {reason}", path.display())
            }
            Error::NoInput { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Locked { path } => write!(
                f,
                "{}: another fimsum run is writing this baseline; try again when it is done",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::NoInput { source, .. } | Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// fimsum's result: [`Error`] unless said otherwise.
pub type Result<T, E = Error> = std::result::Result<T, E>;
