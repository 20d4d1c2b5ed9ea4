//! Inode flags (`chattr`/`lsattr`): the `FS_IOC_GETFLAGS` word, kept for the flags a user
//! can set, shown as `lsattr` shows them (one letter per flag, in its order) and by name.

/// The flags `lsattr` shows, in its order: the bit, the letter, and the name (e2fsprogs'
/// long names, lower-cased).
const TABLE: [(u32, char, &str); 22] = [
    (0x0000_0001, 's', "secure_deletion"),
    (0x0000_0002, 'u', "undelete"),
    (0x0000_0008, 'S', "synchronous_updates"),
    (0x0001_0000, 'D', "synchronous_directory_updates"),
    (0x0000_0010, 'i', "immutable"),
    (0x0000_0020, 'a', "append_only"),
    (0x0000_0040, 'd', "no_dump"),
    (0x0000_0080, 'A', "no_atime"),
    (0x0000_0004, 'c', "compression_requested"),
    (0x0000_0800, 'E', "encrypted"),
    (0x0000_4000, 'j', "journaled_data"),
    (0x0000_1000, 'I', "indexed_directory"),
    (0x0000_8000, 't', "no_tailmerging"),
    (0x0002_0000, 'T', "top_of_directory_hierarchies"),
    (0x0008_0000, 'e', "extents"),
    (0x0080_0000, 'C', "no_cow"),
    (0x0200_0000, 'x', "dax"),
    (0x4000_0000, 'F', "casefold"),
    (0x1000_0000, 'N', "inline_data"),
    (0x2000_0000, 'P', "project_hierarchy"),
    (0x0010_0000, 'V', "verity"),
    (0x0000_0400, 'm', "dont_compress"),
];

/// The flags a file system keeps for itself, of its own accord and never at a user's
/// request (extents, a hashed directory index, inline data): not recorded, so that the
/// files of an ordinary ext4 tree have no flags at all, and a file system reorganising a
/// file is no change to it.
const MANAGED: u32 = 0x0008_0000 | 0x0000_1000 | 0x1000_0000;

/// Immutable (`i`).
pub const IMMUTABLE: u32 = 0x10;
/// Append-only (`a`).
pub const APPEND: u32 = 0x20;

/// The recorded inode flags of an entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u32);

impl Flags {
    /// The recorded part of an `FS_IOC_GETFLAGS` word: the flags `lsattr` shows, less those
    /// the file system manages itself.
    pub fn recorded(raw: u32) -> Flags {
        let shown = TABLE.iter().fold(0, |all, (bit, ..)| all | bit);
        Flags(raw & shown & !MANAGED)
    }

    /// No flag set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// As `lsattr` prints them: `----i-----------------`.
    pub fn letters(self) -> String {
        TABLE
            .iter()
            .map(|&(bit, c, _)| if self.0 & bit != 0 { c } else { '-' })
            .collect()
    }

    /// The names of the flags set, in `lsattr`'s order.
    pub fn names(self) -> Vec<&'static str> {
        TABLE
            .iter()
            .filter(|(bit, ..)| self.0 & bit != 0)
            .map(|&(.., name)| name)
            .collect()
    }

    /// The flags in `self` that `old` did not have.
    pub fn gained(self, old: Flags) -> Flags {
        Flags(self.0 & !old.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_in_lsattrs_order_without_the_managed_flags() {
        // ext4's usual file: extents only, which is not recorded.
        assert!(Flags::recorded(0x80000).is_empty());
        let f = Flags::recorded(0x80000 | IMMUTABLE | APPEND);
        assert_eq!(f.letters(), "----ia----------------");
        assert_eq!(f.names(), ["immutable", "append_only"]);
        assert_eq!(Flags::recorded(0x100).0, 0, "not a flag lsattr shows");
        assert_eq!(f.gained(Flags(IMMUTABLE)), Flags(APPEND));
    }
}
