//! POSIX ACLs: the `system.posix_acl_access` and `system.posix_acl_default` xattrs (a
//! version word, then 8-byte entries of tag, permissions and id, little-endian), decoded
//! here and shown as `getfacl --numeric` shows their entries (`user:65534:rwx`).

use std::fmt;

const VERSION: u32 = 2;
const USER_OBJ: u16 = 0x01;
const USER: u16 = 0x02;
const GROUP_OBJ: u16 = 0x04;
const GROUP: u16 = 0x08;
const MASK: u16 = 0x10;
const OTHER: u16 = 0x20;
const WRITE: u16 = 0x2;

/// One entry of an ACL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AclEntry {
    /// Whom it is for: owner, a named user, owning group, a named group, the mask, others.
    pub tag: u16,
    /// Read 4, write 2, execute 1.
    pub perm: u16,
    /// The uid or gid of a named user or group (meaningless for the others).
    pub id: u32,
}

/// An ACL: its entries in the order the kernel keeps them (sorted by tag, then id).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Acl(pub Vec<AclEntry>);

impl Acl {
    /// Decode an ACL xattr's value; why not, for one the kernel would not have written.
    pub fn decode(value: &[u8]) -> Result<Acl, String> {
        let Some((head, body)) = value.split_first_chunk::<4>() else {
            return Err(format!("ACL xattr of {} bytes", value.len()));
        };
        let version = u32::from_le_bytes(*head);
        if version != VERSION {
            return Err(format!("ACL version {version}, not {VERSION}"));
        }
        if body.len() % 8 != 0 {
            return Err(format!("ACL xattr of {} bytes", value.len()));
        }
        let entries = body
            .chunks_exact(8)
            .map(|e| {
                let entry = AclEntry {
                    tag: u16::from_le_bytes([e[0], e[1]]),
                    perm: u16::from_le_bytes([e[2], e[3]]),
                    id: u32::from_le_bytes([e[4], e[5], e[6], e[7]]),
                };
                match entry.tag {
                    USER_OBJ | USER | GROUP_OBJ | GROUP | MASK | OTHER if entry.perm <= 7 => {
                        Ok(entry)
                    }
                    _ => Err(format!(
                        "ACL entry of tag {:#x}, permissions {:#o}",
                        entry.tag, entry.perm
                    )),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Acl(entries))
    }

    /// The mask entry's permissions, if the ACL has one (it does whenever it names a user
    /// or group).
    fn mask(&self) -> Option<u16> {
        self.0.iter().find(|e| e.tag == MASK).map(|e| e.perm)
    }

    /// The named users and groups (`user:ID`, `group:ID`) this ACL lets write, the mask
    /// applied: the mode's bits cannot show them. Empty when it grants write to no one
    /// beyond the mode's owner, group and others.
    pub fn writers(&self) -> Vec<String> {
        let mask = self.mask().unwrap_or(7);
        self.0
            .iter()
            .filter(|e| matches!(e.tag, USER | GROUP) && e.perm & mask & WRITE != 0)
            .map(|e| format!("{}:{}", tag_name(e.tag), e.id))
            .collect()
    }
}

fn tag_name(tag: u16) -> &'static str {
    match tag {
        USER_OBJ | USER => "user",
        GROUP_OBJ | GROUP => "group",
        MASK => "mask",
        _ => "other",
    }
}

/// `getfacl` entry text: `user::rw-`, `user:65534:rwx`, `mask::r-x`.
impl fmt::Display for AclEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let perm = |bit: u16, c: char| if self.perm & bit != 0 { c } else { '-' };
        let id = match self.tag {
            USER | GROUP => self.id.to_string(),
            _ => String::new(),
        };
        write!(
            f,
            "{}:{id}:{}{}{}",
            tag_name(self.tag),
            perm(4, 'r'),
            perm(2, 'w'),
            perm(1, 'x')
        )
    }
}

/// The entries joined by commas, the form `setfacl --set` takes.
impl fmt::Display for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut v = VERSION.to_le_bytes().to_vec();
        for &(tag, perm, id) in entries {
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(&perm.to_le_bytes());
            v.extend_from_slice(&id.to_le_bytes());
        }
        v
    }

    #[test]
    fn entries_show_as_getfacl_shows_them() {
        let acl = Acl::decode(&encode(&[
            (USER_OBJ, 6, u32::MAX),
            (USER, 7, 65534),
            (GROUP_OBJ, 4, u32::MAX),
            (GROUP, 5, 100),
            (MASK, 7, u32::MAX),
            (OTHER, 4, u32::MAX),
        ]))
        .unwrap();
        assert_eq!(
            acl.to_string(),
            "user::rw-,user:65534:rwx,group::r--,group:100:r-x,mask::rwx,other::r--"
        );
        assert_eq!(acl.writers(), ["user:65534"]);
    }

    #[test]
    fn the_mask_limits_who_can_write() {
        let masked = encode(&[
            (USER_OBJ, 6, 0),
            (USER, 7, 1000),
            (GROUP_OBJ, 4, 0),
            (GROUP, 2, 50),
            (MASK, 5, 0),
            (OTHER, 0, 0),
        ]);
        assert!(Acl::decode(&masked).unwrap().writers().is_empty());
    }

    #[test]
    fn malformed_values_are_errors() {
        assert!(Acl::decode(b"").is_err());
        assert!(Acl::decode(&1u32.to_le_bytes()).is_err());
        assert!(Acl::decode(&encode(&[(USER_OBJ, 6, 0)])[..10]).is_err());
        assert!(Acl::decode(&encode(&[(0x40, 6, 0)])).is_err());
        assert!(Acl::decode(&encode(&[(USER, 8, 0)])).is_err());
    }
}
