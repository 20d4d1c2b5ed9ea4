//! The plain data a scan produces for each entry, and that baselines store and diffs compare.

use std::fmt;

use crate::attrs::Attrs;
use crate::hash::{Digest, HashKind};
use crate::text::Snapshot;

/// File type of an entry, as `lstat` reports it (symlinks are never followed below a source).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A non-file, non-directory entry whose exact type is not known: what an rsync
    /// `%n %C` log says of a symlink, FIFO, socket or device (a blank `%C`).
    Special,
}

impl Kind {
    /// Every kind, in the order of their codes in baseline files.
    pub const ALL: [Kind; 8] = [
        Kind::File,
        Kind::Dir,
        Kind::Symlink,
        Kind::Fifo,
        Kind::Socket,
        Kind::CharDevice,
        Kind::BlockDevice,
        Kind::Special,
    ];

    /// The kind of a `st_mode`.
    pub fn from_mode(mode: u32) -> Kind {
        match mode & libc::S_IFMT {
            libc::S_IFREG => Kind::File,
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFLNK => Kind::Symlink,
            libc::S_IFIFO => Kind::Fifo,
            libc::S_IFSOCK => Kind::Socket,
            libc::S_IFCHR => Kind::CharDevice,
            libc::S_IFBLK => Kind::BlockDevice,
            _ => Kind::Special,
        }
    }

    #[allow(clippy::unnecessary_cast)] // st_mode's type differs between architectures
    pub(crate) fn from_stat(st: &rustix::fs::Stat) -> Kind {
        Kind::from_mode(st.st_mode as u32)
    }

    /// The kind's name in reports (`file`, `dir`, `char-device`...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Fifo => "fifo",
            Kind::Socket => "socket",
            Kind::CharDevice => "char-device",
            Kind::BlockDevice => "block-device",
            Kind::Special => "special",
        }
    }

    /// Two kinds name the same type, allowing for the vagueness of [`Kind::Special`].
    pub(crate) fn same_type(self, other: Kind) -> bool {
        let vague = |k: Kind| !matches!(k, Kind::File | Kind::Dir);
        self == other
            || (self == Kind::Special && vague(other))
            || (other == Kind::Special && vague(self))
    }
}

/// A point in time as the kernel stores it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub sec: i64,
    /// Nanoseconds within the second.
    pub nsec: u32,
}

/// The `lstat`/`fstat` fields a FIM compares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Meta {
    /// Permission bits including setuid, setgid and sticky (`st_mode & 07777`).
    pub mode: u32,
    /// Owning user.
    pub uid: u32,
    /// Owning group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Last modification.
    pub mtime: Timestamp,
    /// Last status change.
    pub ctime: Timestamp,
    /// Inode number.
    pub ino: u64,
    /// Device the entry is on.
    pub dev: u64,
    /// Hard-link count.
    pub nlink: u64,
    /// Device number of a character or block device (0 otherwise).
    pub rdev: u64,
}

impl Meta {
    #[allow(clippy::unnecessary_cast)] // field types differ between architectures
    pub(crate) fn from_stat(st: &rustix::fs::Stat) -> Meta {
        Meta {
            mode: st.st_mode as u32 & 0o7777,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
            size: st.st_size.max(0) as u64,
            mtime: Timestamp {
                sec: st.st_mtime as i64,
                nsec: st.st_mtime_nsec as u32,
            },
            ctime: Timestamp {
                sec: st.st_ctime as i64,
                nsec: st.st_ctime_nsec as u32,
            },
            ino: st.st_ino as u64,
            dev: st.st_dev as u64,
            nlink: st.st_nlink as u64,
            rdev: st.st_rdev as u64,
        }
    }
}

/// What is known of an entry's content.
///
/// A baseline stores [`Content::NotAFile`] and [`Content::NotHashed`] as one value, the
/// first of its content codes; the record's kind tells them apart when it is read back
/// (a regular file's is `NotHashed`, any other entry's `NotAFile`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// Not a regular file: there is no content to hash.
    NotAFile,
    /// A regular file whose checksum has not been taken: the walk leaves a file so for its
    /// reader, and a later name of a file with several links waits so for the outcome of
    /// the first.
    NotHashed,
    /// The checksum of a regular file, read completely while it did not change.
    Digest(Digest),
    /// The file (or, for a directory, its listing) could not be read; the reason.
    Unreadable(String),
    /// The file changed while it was read, twice in a row: no trustworthy checksum exists.
    ChangedDuringScan(String),
}

impl Content {
    /// The checksum, when there is one.
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            Content::Digest(d) => Some(d),
            _ => None,
        }
    }
}

/// One entry of a scan, a baseline or an rsync log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The name exactly as rsync's `%n` gives it, as raw bytes, without the trailing `/` of
    /// directories; the transfer root of a `src/` source is `.`.
    pub name: Vec<u8>,
    /// The entry's type.
    pub kind: Kind,
    /// `None` for entries read from an rsync log, which carries no metadata.
    pub meta: Option<Meta>,
    /// A symlink's target (raw bytes).
    pub link_target: Option<Vec<u8>>,
    /// The checksum, or why there is none.
    pub content: Content,
    /// The extra digests (`scan --digest`) of a regular file whose `content` is a digest, of
    /// the same bytes, in the order of its baseline's list; empty otherwise. Each carries its
    /// kind, so that two sides with different lists can still be compared kind by kind and a
    /// report can name them.
    pub extra: Vec<(HashKind, Digest)>,
    /// The security attributes (capabilities, inode flags, ACLs, SELinux label, other
    /// xattrs); `None` where they were not recorded (a baseline of format 4 or earlier, an
    /// rsync log, a scan with `--no-attrs`), which a diff reports as "not recorded", never as
    /// a change.
    pub attrs: Option<Attrs>,
    /// What a later diff needs to show what changed inside the file (a rule's `diff = true`);
    /// `None` where no rule asked for it.
    pub snapshot: Option<Snapshot>,
}

impl Record {
    /// The name as `%n` prints it (raw bytes): directories get their trailing `/`, the
    /// transfer root is `./`.
    pub(crate) fn display_name(&self) -> Vec<u8> {
        let mut n = self.name.clone();
        if self.kind == Kind::Dir {
            n.push(b'/');
        }
        n
    }

    /// Whether the entry is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }

    /// A name a scan listed but could not look at (`lstat` failed: a directory readable but
    /// not searchable, for one): no metadata, and the reason as its content. What was there
    /// is not known, so a check reports it unverified, never removed or unchanged; rsync's
    /// lines leave it out, as rsync does.
    pub(crate) fn is_unseen(&self) -> bool {
        self.meta.is_none() && matches!(self.content, Content::Unreadable(_))
    }

    /// What a scan could not fully see of this entry: the listing of a directory that did
    /// not complete, a name it could not look at, a file it could not hash. `None` for an
    /// entry seen whole.
    pub(crate) fn not_seen(&self) -> Option<&str> {
        match &self.content {
            Content::Unreadable(why) | Content::ChangedDuringScan(why) => Some(why),
            _ => None,
        }
    }

    /// The extra digest of this kind, if the record has one.
    pub(crate) fn extra_digest(&self, kind: HashKind) -> Option<&Digest> {
        self.extra.iter().find(|(k, _)| *k == kind).map(|(_, d)| d)
    }
}

/// One property of an entry: what a diff finds changed ([`crate::diff::ChangeKind::Modified`]
/// lists them, never `Type`, which is a change of its own) and what a rule can make count
/// ([`crate::fim::severity::Attributes`]). One word for both, so a rule and a report speak
/// of the same thing; each still has its own spelling for three of them (see
/// [`Attribute::name`] and `Attribute::report_name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// File, directory, symlink, device, ...: a different type is a different entry.
    Type,
    /// The checksum of a regular file.
    Content,
    /// Size in bytes.
    Size,
    /// A symlink's target.
    Link,
    /// Permission bits, including setuid, setgid and sticky.
    Mode,
    /// Owning user (uid).
    Owner,
    /// Owning group (gid).
    Group,
    /// Modification time.
    Mtime,
    /// Status-change time: no user can set it back, so it betrays a reset mtime. A diff
    /// compares it, the inode and the link count only with
    /// [`crate::diff::DiffOptions::identity`].
    Ctime,
    /// Another inode under the same name: the file was replaced, not edited.
    Inode,
    /// Hard-link count: a new link to a setuid binary keeps a copy an upgrade won't fix.
    Nlink,
    /// Major and minor number of a device node: the same name opening another device.
    Device,
    /// File capabilities (`security.capability`): root's powers without a set-id bit.
    Caps,
    /// Inode flags (`chattr`): immutable, append-only and the others `lsattr` shows.
    Flags,
    /// POSIX ACLs, the access ACL and a directory's default one.
    Acl,
    /// The SELinux label (`security.selinux`).
    Selinux,
    /// Every other extended attribute.
    Xattrs,
}

impl Attribute {
    /// Every attribute.
    pub const ALL: [Attribute; 17] = [
        Attribute::Type,
        Attribute::Content,
        Attribute::Size,
        Attribute::Link,
        Attribute::Mode,
        Attribute::Owner,
        Attribute::Group,
        Attribute::Mtime,
        Attribute::Ctime,
        Attribute::Inode,
        Attribute::Nlink,
        Attribute::Device,
        Attribute::Caps,
        Attribute::Flags,
        Attribute::Acl,
        Attribute::Selinux,
        Attribute::Xattrs,
    ];

    /// The name a config's `attributes` list and the policy's reports use.
    pub fn name(self) -> &'static str {
        match self {
            Attribute::Type => "type",
            Attribute::Content => "content",
            Attribute::Size => "size",
            Attribute::Link => "link",
            Attribute::Mode => "mode",
            Attribute::Owner => "owner",
            Attribute::Group => "group",
            Attribute::Mtime => "mtime",
            Attribute::Ctime => "ctime",
            Attribute::Inode => "inode",
            Attribute::Nlink => "nlink",
            Attribute::Device => "device",
            Attribute::Caps => "caps",
            Attribute::Flags => "flags",
            Attribute::Acl => "acl",
            Attribute::Selinux => "selinux",
            Attribute::Xattrs => "xattrs",
        }
    }

    /// The name a change report gives the attribute in its `changed` lines and the JSON
    /// `fields` list: the [`Record`] field's (`uid`, `gid`, `target`) where a config says
    /// `owner`, `group` and `link`. Both are part of fimsum's output, so each keeps its word.
    pub(crate) fn report_name(self) -> &'static str {
        match self {
            Attribute::Owner => "uid",
            Attribute::Group => "gid",
            Attribute::Link => "target",
            other => other.name(),
        }
    }

    /// The attribute's bit in a set of them ([`crate::fim::severity::Attributes`]).
    pub(crate) const fn bit(self) -> u32 {
        1 << self as u32
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why `name` cannot be an entry's name, if it cannot: the one rule that baselines and
/// rsync logs are read by, and that the baseline writer keeps.
///
/// A name is what a scan records and rsync's `%n` prints: `.` (the root of a `src/`
/// source), or a relative path of components joined by single `/`s, none of them empty,
/// `.` or `..`, and no NUL. A report joins names to the roots it was scanned from, and
/// `--format rsync` prints them for a user to act on, so a name from a file must not point
/// outside its tree (`sub/../../etc/shadow`, `/etc/passwd`) nor be a second spelling of
/// another name (`a//b`, `a/./b`, `a/`), which would show one file as removed and added.
pub fn check_name(name: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.contains(&0) {
        return Err("NUL byte in name");
    }
    if name == b"." {
        return Ok(());
    }
    if name.starts_with(b"/") {
        return Err("absolute name");
    }
    if name.ends_with(b"/") {
        return Err("name ends in `/`");
    }
    for component in name.split(|&b| b == b'/') {
        match component {
            b"" => return Err("empty component (`//`) in name"),
            b"." => return Err("`.` component in name"),
            b".." => return Err("`..` component in name"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config and a change report each keep their word for owner, group and link.
    #[test]
    fn attribute_names_in_configs_and_in_reports() {
        let config: Vec<&str> = Attribute::ALL.iter().map(|a| a.name()).collect();
        let report: Vec<&str> = Attribute::ALL.iter().map(|a| a.report_name()).collect();
        assert_eq!(
            config,
            [
                "type", "content", "size", "link", "mode", "owner", "group", "mtime", "ctime",
                "inode", "nlink", "device", "caps", "flags", "acl", "selinux", "xattrs"
            ]
        );
        assert_eq!(
            report,
            [
                "type", "content", "size", "target", "mode", "uid", "gid", "mtime", "ctime",
                "inode", "nlink", "device", "caps", "flags", "acl", "selinux", "xattrs"
            ]
        );
    }

    #[test]
    fn check_name_accepts_what_a_scan_records_and_nothing_else() {
        for good in [
            &b"."[..],
            b"a",
            b"etc/passwd",
            b"..a/b..",
            b".hidden/...",
            b"sp ace/\xff\n",
        ] {
            assert_eq!(check_name(good), Ok(()), "{good:?}");
        }
        for bad in [
            &b""[..],
            b"a\0b",
            b"/etc/passwd",
            b"/",
            b"a/",
            b"./",
            b"a//b",
            b"./a",
            b"a/./b",
            b"a/.",
            b"..",
            b"../a",
            b"sub/../../etc/shadow",
            b"a/..",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
