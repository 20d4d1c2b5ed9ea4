//! Filesystem types: the table of their names and statfs(2) magic numbers, the kernel-made
//! ones no scan enters, and the ones whose ctime `check --quick` may trust.

/// Filesystem types by the name /proc/self/mountinfo gives them, with the `f_type` that
/// statfs(2) reports for them: linux/magic.h, or the kernel source where the number is
/// private (configfs, fusectl, mqueue). A name may have several numbers (cifs reports one
/// per SMB dialect) and a number several names (devtmpfs is a tmpfs inside; ext2, ext3
/// and ext4 share one).
pub(crate) const FS_TYPES: &[(&str, u32)] = &[
    // Made up by the kernel: reading them hashes nothing that is stored anywhere.
    ("proc", 0x9fa0),
    ("sysfs", 0x6265_6572),
    ("cgroup", 0x0027_e0eb),
    ("cgroup2", 0x6367_7270),
    ("devpts", 0x1cd1),
    ("debugfs", 0x6462_6720),
    ("tracefs", 0x7472_6163),
    ("securityfs", 0x7363_6673),
    ("pstore", 0x6165_676c),
    ("bpf", 0xcafe_4a11),
    ("configfs", 0x6265_6570),
    ("fusectl", 0x6573_5543),
    ("mqueue", 0x1980_0202),
    ("hugetlbfs", 0x9584_58f6),
    ("autofs", 0x0187),
    ("binfmt_misc", 0x4249_4e4d),
    ("efivarfs", 0xde5e_81e4),
    ("nsfs", 0x6e73_6673),
    ("selinuxfs", 0xf97c_ff8c),
    ("smackfs", 0x4341_5d53),
    // In memory.
    ("tmpfs", 0x0102_1994),
    ("devtmpfs", 0x0102_1994),
    ("ramfs", 0x8584_58f6),
    // Stacked or read-only images.
    ("overlay", 0x794c_7630),
    ("squashfs", 0x7371_7368),
    ("erofs", 0xe0f5_e1e2),
    ("iso9660", 0x9660),
    // Another machine's files, or a user-space program's.
    ("nfs", 0x6969),
    ("nfs4", 0x6969),
    ("cifs", 0xff53_4d42),
    ("cifs", 0xfe53_4d42),
    ("smb3", 0xff53_4d42),
    ("smb3", 0xfe53_4d42),
    ("ceph", 0x00c3_6400),
    ("9p", 0x0102_1997),
    ("fuse", 0x6573_5546),
    // Disks.
    ("ext2", 0xef53),
    ("ext3", 0xef53),
    ("ext4", 0xef53),
    ("xfs", 0x5846_5342),
    ("btrfs", 0x9123_683e),
    ("f2fs", 0xf2f5_2010),
    ("vfat", 0x4d44),
    ("msdos", 0x4d44),
    ("exfat", 0x2011_bab0),
];

/// The kernel-made filesystems of [`FS_TYPES`], which no scan should enter: nothing in them
/// is stored, some never end (/proc/kcore), and reading some has side effects (autofs
/// mounts on access). tmpfs is not one: /dev is a tmpfs to statfs(2).
#[cfg(test)]
pub(crate) const VIRTUAL_FS: [&str; 20] = [
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "mqueue",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
    "efivarfs",
    "nsfs",
    "selinuxfs",
    "smackfs",
];

/// The filesystems of [`FS_TYPES`] whose ctime `check --quick` may trust: the kernel stores
/// it on disk (or keeps it in memory, for tmpfs) and sets it on every change, and no user
/// can set it. On the others it is not a change time: FAT and exFAT store none (the kernel
/// makes one up from the mtime or the creation time when the file is read in), squashfs,
/// erofs and iso9660 images carry whatever their builder put there, and FUSE, SMB and NFS
/// report what a server or a user-space program says. An overlay shows its layers' ctimes,
/// a write copies a file up to a new one, and a lower layer cannot change under a mounted
/// overlay without its own ctime changing, so it is trusted as its layers are. An allow
/// list: a type not named here (nor in [`CTIME_KEPT_MAGICS`]) is not trusted, and its files
/// are read.
pub(crate) const CTIME_KEPT: [&str; 9] = [
    "ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "tmpfs", "ramfs", "overlay",
];

/// Filesystems that keep a real ctime and that [`FS_TYPES`] does not name: ZFS.
pub(crate) const CTIME_KEPT_MAGICS: [u32; 1] = [0x2fc1_2fc1];

/// Does a filesystem of this statfs(2) `f_type` keep a ctime `--quick` can trust (see
/// [`CTIME_KEPT`])?
pub(crate) fn keeps_ctime(f_type: i64) -> bool {
    let magic = f_type as u32;
    CTIME_KEPT_MAGICS.contains(&magic)
        || FS_TYPES
            .iter()
            .any(|&(name, m)| m == magic && CTIME_KEPT.contains(&name))
}

/// Is this statfs(2) `f_type` one of [`VIRTUAL_FS`]? Takes `f_type` as
/// [`crate::fim::policy::Policy::skips_fs`] does.
#[cfg(test)]
pub(crate) fn is_virtual_fs(f_type: i64) -> bool {
    let magic = f_type as u32;
    FS_TYPES
        .iter()
        .any(|&(name, m)| m == magic && VIRTUAL_FS.contains(&name))
}

/// A name of a filesystem type by its statfs magic (the first [`FS_TYPES`] gives it), or the
/// magic as `0x...`: for messages.
pub(crate) fn fs_type_name(magic: i64) -> String {
    let m = magic as u32;
    match FS_TYPES.iter().find(|&&(_, known)| known == m) {
        Some((name, _)) => (*name).to_string(),
        None => format!("{m:#x}"),
    }
}

/// The magic numbers of a `skip_fs` entry: a name from `FS_TYPES`, or a number written
/// `0x...` for a type the table lacks.
pub fn fs_type_magics(name: &str) -> Result<Vec<u32>, String> {
    if let Some(hex) = name.strip_prefix("0x") {
        return u32::from_str_radix(hex, 16)
            .map(|magic| vec![magic])
            .map_err(|_| format!("{name:?} is not a 32-bit hexadecimal magic number"));
    }
    let magics: Vec<u32> = FS_TYPES
        .iter()
        .filter(|(known, _)| *known == name)
        .map(|&(_, magic)| magic)
        .collect();
    if magics.is_empty() {
        return Err(format!(
            "unknown filesystem type {name:?} (write its statfs magic number as \"0x...\")"
        ));
    }
    Ok(magics)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--quick` trusts the ctime only where the filesystem keeps a real one: vfat, exfat
    /// and FUSE mounts (among others) have none.
    #[test]
    fn quick_does_not_trust_ctime_on_filesystems_without_one() {
        for name in ["vfat", "msdos", "exfat", "fuse", "squashfs", "cifs", "nfs"] {
            for magic in fs_type_magics(name).unwrap() {
                assert!(!keeps_ctime(i64::from(magic)), "{name}");
            }
        }
        for name in CTIME_KEPT {
            for magic in fs_type_magics(name).unwrap() {
                assert!(keeps_ctime(i64::from(magic)), "{name}");
            }
        }
        assert!(!keeps_ctime(0x1234_5678), "an unknown type is not trusted");
    }

    #[test]
    fn virtual_fs_magic_numbers() {
        assert!(is_virtual_fs(0x9fa0)); // proc
        assert!(is_virtual_fs(0x6265_6572)); // sysfs
        assert!(is_virtual_fs(0x6367_7270)); // cgroup2
                                             // 32-bit systems hand the larger magics over sign-extended.
        assert!(is_virtual_fs(i64::from(0xcafe_4a11_u32 as i32))); // bpf
        assert!(is_virtual_fs(0xcafe_4a11));
        assert!(!is_virtual_fs(0xef53)); // ext4
        assert!(
            !is_virtual_fs(0x0102_1994),
            "tmpfs, and so /dev, is scanned"
        );
        assert!(!is_virtual_fs(0x794c_7630)); // overlay
        for name in VIRTUAL_FS {
            assert!(FS_TYPES.iter().any(|(known, _)| *known == name), "{name}");
        }
    }
}
