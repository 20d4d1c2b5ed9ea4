//! Opening the files a user names as input (config, IOC lists, filter files, keys,
//! baselines, rsync logs) so that a FIFO, socket, device or directory at that path is
//! refused at once instead of blocking the run or being read as data.
//!
//! The file is opened with `O_NONBLOCK` (an open of a FIFO with no writer would otherwise
//! wait forever) and `O_NOCTTY`, its type is taken from `fstat` of the open descriptor (so
//! nothing can be swapped in between a check and the open), and `O_NONBLOCK` is cleared
//! again before the file is read. Symlinks are followed: the user named this path.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Open `path` for reading if it is a regular file.
///
/// Anything else gives an error of kind [`io::ErrorKind::InvalidInput`] whose message says
/// what the path is ("is a FIFO, not a regular file"); callers add the path.
pub fn open_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    let what = if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else {
        Some("not a file")
    };
    if let Some(what) = what {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("is {what}, not a regular file"),
        ));
    }
    let flags = rustix::fs::fcntl_getfl(&file)?;
    rustix::fs::fcntl_setfl(&file, flags - rustix::fs::OFlags::NONBLOCK)?;
    Ok(file)
}

/// [`open_file`] for an input of the run (a baseline, a log): a failure is
/// [`Error::NoInput`], exit 66, naming the path.
pub(crate) fn open_input(path: &Path) -> Result<File> {
    open_file(path).map_err(|source| Error::NoInput {
        path: path.to_path_buf(),
        source,
    })
}

/// Read all of `file`, refusing one larger than `limit` bytes with an error of kind
/// [`io::ErrorKind::InvalidData`] ("is N bytes, more than the LIMIT ..."), before any memory
/// is set aside for it: a config or filter file is small, and a disk image named by mistake
/// must not take the machine's memory. The length is checked on the open file, and the read
/// stops at `limit` whatever the file grows to meanwhile.
pub fn read_bounded(mut file: File, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let len = file.metadata()?.len();
    let too_large = |len: u64| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("is {len} bytes, more than the {limit} a {what} may have"),
        )
    };
    if len > limit {
        return Err(too_large(len));
    }
    let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    (&mut file).take(limit + 1).read_to_end(&mut data)?;
    if data.len() as u64 > limit {
        return Err(too_large(data.len() as u64));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from(0o600)).unwrap();
        let err = open_file(&fifo).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    #[test]
    fn a_directory_and_a_device_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_file(dir.path()).unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
        let err = open_file(Path::new("/dev/null")).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
    }

    #[test]
    fn a_regular_file_reads_normally() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        let mut text = String::new();
        open_file(&path).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
        let flags = rustix::fs::fcntl_getfl(open_file(&path).unwrap()).unwrap();
        assert!(!flags.contains(rustix::fs::OFlags::NONBLOCK));
    }

    #[test]
    fn a_file_over_the_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let file = File::create(&path).unwrap();
        file.set_len(3 << 30).unwrap();
        let err = read_bounded(open_file(&path).unwrap(), 1 << 20, "filter file").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("more than the 1048576"), "{err}");
        std::fs::write(&path, b"- *.tmp\n").unwrap();
        let data = read_bounded(open_file(&path).unwrap(), 1 << 20, "filter file").unwrap();
        assert_eq!(data, b"- *.tmp\n");
    }
}
