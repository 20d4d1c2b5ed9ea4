//! Records for unit tests, built the one way: [`file`], [`dir`] or [`entry`] for the
//! usual shape of each, then a chain of setters for what a test is about
//! (`file("etc/passwd", b"root\n").mode(0o600).uid(0)`).

use crate::hash::{Algorithm, HashKind};
use crate::record::{Content, Kind, Meta, Record, Timestamp};

/// A regular file holding `data`: mode 0644, its size, and its MD5 as content.
pub(crate) fn file(name: &str, data: &[u8]) -> Record {
    Record {
        name: name.as_bytes().to_vec(),
        kind: Kind::File,
        meta: Some(Meta {
            size: data.len() as u64,
            mode: 0o644,
            ..Meta::default()
        }),
        link_target: None,
        content: Content::Digest(Algorithm::Md5.digest(data)),
        extra: Vec::new(),
        attrs: None,
        snapshot: None,
    }
}

/// A directory: mode 0755, no content.
pub(crate) fn dir(name: &str) -> Record {
    entry(name, Kind::Dir).mode(0o755)
}

/// An entry of any kind with all-zero metadata and no content: a regular file not hashed,
/// anything else none to hash.
pub(crate) fn entry(name: &str, kind: Kind) -> Record {
    Record {
        name: name.as_bytes().to_vec(),
        kind,
        meta: Some(Meta::default()),
        link_target: None,
        content: if kind == Kind::File {
            Content::NotHashed
        } else {
            Content::NotAFile
        },
        extra: Vec::new(),
        attrs: None,
        snapshot: None,
    }
}

impl Record {
    fn meta_mut(&mut self) -> &mut Meta {
        self.meta.get_or_insert_with(Meta::default)
    }

    pub(crate) fn mode(mut self, mode: u32) -> Record {
        self.meta_mut().mode = mode;
        self
    }

    pub(crate) fn uid(mut self, uid: u32) -> Record {
        self.meta_mut().uid = uid;
        self
    }

    pub(crate) fn gid(mut self, gid: u32) -> Record {
        self.meta_mut().gid = gid;
        self
    }

    pub(crate) fn size(mut self, size: u64) -> Record {
        self.meta_mut().size = size;
        self
    }

    pub(crate) fn mtime(mut self, sec: i64, nsec: u32) -> Record {
        self.meta_mut().mtime = Timestamp { sec, nsec };
        self
    }

    pub(crate) fn ino(mut self, ino: u64) -> Record {
        self.meta_mut().ino = ino;
        self
    }

    pub(crate) fn dev(mut self, dev: u64) -> Record {
        self.meta_mut().dev = dev;
        self
    }

    pub(crate) fn nlink(mut self, nlink: u64) -> Record {
        self.meta_mut().nlink = nlink;
        self
    }

    pub(crate) fn rdev(mut self, rdev: u64) -> Record {
        self.meta_mut().rdev = rdev;
        self
    }

    pub(crate) fn target(mut self, target: &[u8]) -> Record {
        self.link_target = Some(target.to_vec());
        self
    }

    pub(crate) fn content(mut self, content: Content) -> Record {
        self.content = content;
        self
    }

    /// The extra digests of these kinds, of `data`.
    pub(crate) fn extras(mut self, kinds: &[HashKind], data: &[u8]) -> Record {
        self.extra = kinds.iter().map(|&k| (k, k.digest(data))).collect();
        self
    }
}
