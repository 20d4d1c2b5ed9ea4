//! Security attributes of an entry beyond its mode and owner: file capabilities, inode
//! flags, POSIX ACLs, the SELinux label and every other extended attribute. Read from the
//! descriptor the scan already holds, decoded from their binary forms here (no C library),
//! and shown as `getcap`, `lsattr` and `getfacl` show them.
//!
//! An entry's [`Attrs`] are usually empty (no xattr, no flag a user set): that case is what
//! [`Attrs::default`] is, so a scan's compact records can keep it without storing anything.

mod acl;
mod caps;
mod flags;
pub(crate) mod read;

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

pub use crate::attrs::acl::{Acl, AclEntry};
pub use crate::attrs::caps::Caps;
pub use crate::attrs::flags::{Flags, APPEND, IMMUTABLE};
use crate::record::Attribute;

/// The xattr of file capabilities.
pub const CAPABILITY: &[u8] = b"security.capability";
/// The xattr of an access ACL.
pub const ACL_ACCESS: &[u8] = b"system.posix_acl_access";
/// The xattr of a directory's default ACL.
pub const ACL_DEFAULT: &[u8] = b"system.posix_acl_default";
/// The xattr of the SELinux label.
pub const SELINUX: &[u8] = b"security.selinux";

/// A value this long or shorter, all printable ASCII, is kept as it is; any other only as
/// its length and digest.
pub const SHORT_VALUE: usize = 64;

/// The security attributes of one entry, as one scan read them. Sixteen bytes: every
/// record carries it, and most entries have no xattr at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attrs {
    /// The inode flags; `None` where they could not be read (the file could not be opened).
    /// Only regular files and directories have them.
    pub flags: Option<Flags>,
    /// What the entry's xattrs say; `None` when it has none (never an empty one).
    extended: Option<Box<Extended>>,
}

/// What an entry's extended attributes say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extended {
    /// The file capabilities.
    pub caps: Option<Caps>,
    /// The access ACL (only when it says more than the mode).
    pub acl: Option<Acl>,
    /// A directory's default ACL.
    pub default_acl: Option<Acl>,
    /// The SELinux label, without its trailing NUL.
    pub selinux: Option<Vec<u8>>,
    /// Every other xattr, sorted by name; also any of the four above whose value did not
    /// decode, so that it is still compared.
    pub xattrs: Vec<Xattr>,
}

/// The [`Extended`] of an entry without xattrs.
static NO_XATTRS: Extended = Extended {
    caps: None,
    acl: None,
    default_acl: None,
    selinux: None,
    xattrs: Vec::new(),
};

impl Default for Attrs {
    /// No attribute at all, the flags read and none set.
    fn default() -> Attrs {
        Attrs {
            flags: Some(Flags::default()),
            extended: None,
        }
    }
}

/// One extended attribute beyond those [`Attrs`] decodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xattr {
    /// Its full name, namespace included (`user.comment`).
    pub name: Vec<u8>,
    /// What is kept of its value.
    pub value: XattrValue,
}

/// What is kept of an xattr's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XattrValue {
    /// A short printable value, whole.
    Text(Vec<u8>),
    /// Any other: its length and SHA-256.
    Digest {
        /// Length in bytes.
        len: u64,
        /// SHA-256 of the value.
        sha256: [u8; 32],
    },
    /// Listed, but its value could not be read: why. Compared with nothing.
    Unreadable(String),
}

impl XattrValue {
    /// What is kept of `value`.
    pub fn of(value: &[u8]) -> XattrValue {
        if value.len() <= SHORT_VALUE && value.iter().all(|&b| (0x20..0x7f).contains(&b)) {
            XattrValue::Text(value.to_vec())
        } else {
            XattrValue::Digest {
                len: value.len() as u64,
                sha256: Sha256::digest(value).into(),
            }
        }
    }
}

impl Attrs {
    /// These flags and what these xattrs say.
    pub fn new(flags: Option<Flags>, extended: Extended) -> Attrs {
        Attrs {
            flags,
            extended: (extended != NO_XATTRS).then(|| Box::new(extended)),
        }
    }

    /// Nothing beyond the default: no xattr, no flag set (and the flags read).
    pub fn is_empty(&self) -> bool {
        *self == Attrs::default()
    }

    /// What the entry's xattrs say (all empty for none).
    pub fn ext(&self) -> &Extended {
        self.extended.as_deref().unwrap_or(&NO_XATTRS)
    }

    /// The same, to change (made when there was none).
    pub fn ext_mut(&mut self) -> &mut Extended {
        self.extended.get_or_insert_with(Box::default)
    }

    /// Sort the raw xattrs of an entry into their fields.
    pub(crate) fn add_xattr(&mut self, name: &[u8], value: Result<Vec<u8>, String>) {
        let value = match value {
            Ok(value) => value,
            Err(why) => return self.push_other(name, XattrValue::Unreadable(why)),
        };
        let ext = self.ext_mut();
        let decoded = match name {
            CAPABILITY => Caps::decode(&value).map(|c| ext.caps = Some(c)),
            ACL_ACCESS => Acl::decode(&value).map(|a| ext.acl = Some(a)),
            ACL_DEFAULT => Acl::decode(&value).map(|a| ext.default_acl = Some(a)),
            SELINUX => {
                let label = value.strip_suffix(b"\0").unwrap_or(&value);
                ext.selinux = Some(label.to_vec());
                Ok(())
            }
            _ => Err(String::new()),
        };
        if decoded.is_err() {
            self.push_other(name, XattrValue::of(&value));
        }
    }

    fn push_other(&mut self, name: &[u8], value: XattrValue) {
        let xattrs = &mut self.ext_mut().xattrs;
        let at = xattrs.partition_point(|x| x.name.as_slice() < name);
        xattrs.insert(
            at,
            Xattr {
                name: name.to_vec(),
                value,
            },
        );
    }

    /// The attributes that differ between `old` and `self`. Flags unread on either side are
    /// not compared, nor an xattr whose value either side could not read.
    pub fn changed(&self, old: &Attrs) -> Vec<Attribute> {
        let mut fields = Vec::new();
        let (new_flags, old_flags) = (self.flags, old.flags);
        let (this, old) = (self.ext(), old.ext());
        if this.caps != old.caps {
            fields.push(Attribute::Caps);
        }
        if let (Some(a), Some(b)) = (old_flags, new_flags) {
            if a != b {
                fields.push(Attribute::Flags);
            }
        }
        if this.acl != old.acl || this.default_acl != old.default_acl {
            fields.push(Attribute::Acl);
        }
        if this.selinux != old.selinux {
            fields.push(Attribute::Selinux);
        }
        if xattrs_differ(&old.xattrs, &this.xattrs) {
            fields.push(Attribute::Xattrs);
        }
        fields
    }

    /// The text of one attribute for a report: `getcap`'s, `lsattr`'s, `getfacl`'s form;
    /// `-` for none.
    pub fn text(&self, field: Attribute) -> String {
        let ext = self.ext();
        match field {
            Attribute::Caps => ext.caps.map_or("-".into(), |c| c.text()),
            Attribute::Flags => match self.flags {
                Some(f) if f.is_empty() => f.letters(),
                Some(f) => format!("{} ({})", f.letters(), f.names().join(",")),
                None => "not read".into(),
            },
            Attribute::Acl => {
                let mut text = ext.acl.as_ref().map_or("-".into(), Acl::to_string);
                if let Some(default) = &ext.default_acl {
                    let _ = write!(text, " default:{default}");
                }
                text
            }
            Attribute::Selinux => ext
                .selinux
                .as_deref()
                .map_or("-".into(), |l| escape(l).into_owned()),
            Attribute::Xattrs if ext.xattrs.is_empty() => "-".into(),
            Attribute::Xattrs => ext
                .xattrs
                .iter()
                .map(Xattr::text)
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        }
    }
}

impl Xattr {
    /// `user.note="hello"`, `user.blob=sha256:…/4096` or `user.x=unreadable (why)`.
    pub fn text(&self) -> String {
        format!("{}={}", self.name_text(), self.value_text())
    }

    /// The name, escaped (see [`Xattr::text`]).
    pub fn name_text(&self) -> String {
        escape(&self.name).into_owned()
    }

    /// The value: quoted text, `sha256:HEX/LENGTH`, or `unreadable (why)`.
    pub fn value_text(&self) -> String {
        match &self.value {
            XattrValue::Text(v) => format!("\"{}\"", escape(v)),
            XattrValue::Digest { len, sha256 } => {
                format!("sha256:{}/{len}", crate::hex::encode(sha256))
            }
            XattrValue::Unreadable(why) => format!("unreadable ({why})"),
        }
    }
}

/// Two sorted lists of xattrs differ in a name or in a value both sides read.
fn xattrs_differ(old: &[Xattr], new: &[Xattr]) -> bool {
    old.len() != new.len()
        || old.iter().zip(new).any(|(a, b)| {
            a.name != b.name
                || match (&a.value, &b.value) {
                    (XattrValue::Unreadable(_), _) | (_, XattrValue::Unreadable(_)) => false,
                    (x, y) => x != y,
                }
        })
}

/// Bytes for a report: printable ASCII as it is, anything else (and `\`, `"`) as `\xNN`.
fn escape(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    if bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\' && b != b'"')
    {
        return String::from_utf8_lossy(bytes);
    }
    let mut s = String::new();
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' && b != b'"' {
            s.push(b as char);
        } else {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    s.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xattrs_are_sorted_into_their_fields() {
        let mut a = Attrs::default();
        assert!(a.is_empty());
        a.add_xattr(b"user.z", Ok(b"last".to_vec()));
        a.add_xattr(SELINUX, Ok(b"system_u:object_r:bin_t:s0\0".to_vec()));
        a.add_xattr(b"user.a", Ok(vec![0xff; 3]));
        a.add_xattr(CAPABILITY, Ok(b"junk".to_vec()));
        a.add_xattr(b"trusted.x", Err("Permission denied".into()));
        assert_eq!(
            a.ext().selinux.as_deref(),
            Some(&b"system_u:object_r:bin_t:s0"[..])
        );
        assert_eq!(a.ext().caps, None);
        let names: Vec<&[u8]> = a.ext().xattrs.iter().map(|x| x.name.as_slice()).collect();
        assert_eq!(
            names,
            [
                &b"security.capability"[..],
                b"trusted.x",
                b"user.a",
                b"user.z"
            ]
        );
        let x = &a.ext().xattrs;
        assert_eq!(x[3].text(), "user.z=\"last\"");
        assert!(x[2].text().starts_with("user.a=sha256:"));
        assert!(x[2].text().ends_with("/3"));
        assert_eq!(std::mem::size_of::<Attrs>(), 16);
        assert!(!a.is_empty());
    }

    #[test]
    fn changes_are_named_and_unread_values_are_not_compared() {
        let mut old = Attrs::default();
        old.add_xattr(b"user.a", Ok(b"1".to_vec()));
        old.add_xattr(b"trusted.t", Err("Permission denied".into()));
        let mut new = Attrs::default();
        new.add_xattr(b"user.a", Ok(b"1".to_vec()));
        new.add_xattr(b"trusted.t", Ok(b"anything".to_vec()));
        assert!(new.changed(&old).is_empty());
        new.flags = Some(Flags(IMMUTABLE));
        new.add_xattr(SELINUX, Ok(b"x".to_vec()));
        assert_eq!(new.changed(&old), [Attribute::Flags, Attribute::Selinux]);
        old.flags = None;
        assert_eq!(new.changed(&old), [Attribute::Selinux], "unread flags");
        new.add_xattr(b"user.b", Ok(b"2".to_vec()));
        assert_eq!(new.changed(&old), [Attribute::Selinux, Attribute::Xattrs]);
        assert_eq!(
            new.text(Attribute::Flags),
            "----i----------------- (immutable)"
        );
    }
}
