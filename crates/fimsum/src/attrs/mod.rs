//! Security attributes of an entry beyond its mode and owner: file capabilities, inode
//! flags, POSIX ACLs, the SELinux label and every other extended attribute. Read from the
//! descriptor the scan already holds, decoded from their binary forms here (no C library),
//! and shown as `getcap`, `lsattr` and `getfacl` show them.

/// The security attributes of one entry, as one scan read them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attrs {}
