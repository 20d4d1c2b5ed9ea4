//! Fault-injection points: the moments at which a live system can change a tree under a
//! scan. Tests (and anyone auditing fimsum) plug in [`Hooks`] to rename, truncate, grow,
//! unlink or swap entries at exactly those moments, the way rsync's test suite does with an
//! LD_PRELOAD shim. Without hooks (the normal case) each point costs one branch.

use std::fmt;
use std::sync::Arc;

/// Called by the walker and the reader at the points where an entry can change under them.
/// Names are `%n` names (raw bytes, no trailing slash).
pub trait Hooks: Send + Sync {
    /// A directory was listed by its parent and is about to be opened and read.
    fn before_descend(&self, _name: &[u8]) {}
    /// A regular file is about to be opened.
    fn before_open(&self, _name: &[u8]) {}
    /// A regular file was opened and checked, and is about to be read.
    fn after_open(&self, _name: &[u8]) {}
    /// The first chunk of a file's content was read (files larger than one chunk only).
    fn after_first_read(&self, _name: &[u8]) {}
    /// The listing of a directory (`.` for a source's top) has returned `read` entries so far
    /// and is about to return the next: an errno here makes the listing fail at that point,
    /// as a `getdents` that fails part-way through a directory does.
    fn listing_error(&self, _dir: &[u8], _read: usize) -> Option<i32> {
        None
    }
    /// The filesystem type (`statfs` `f_type`) to take for the file system of this regular
    /// file, instead of the one statfs reports: asked once per file system by `check
    /// --quick`, which trusts ctimes only where the file system keeps them.
    fn fs_type(&self, _name: &[u8]) -> Option<i64> {
        None
    }
}

/// An optional set of [`Hooks`], cheap to clone into every part of a scan.
#[derive(Clone, Default)]
pub struct HookRef(Option<Arc<dyn Hooks>>);

impl HookRef {
    /// Call these hooks.
    pub fn new(hooks: Arc<dyn Hooks>) -> HookRef {
        HookRef(Some(hooks))
    }

    /// Are there hooks to call?
    pub(crate) fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// Run `f` on the hooks, if there are any.
    #[inline]
    pub fn call(&self, f: impl FnOnce(&dyn Hooks)) {
        if let Some(h) = &self.0 {
            f(h.as_ref())
        }
    }
}

impl HookRef {
    /// [`Hooks::listing_error`], if there are hooks.
    #[inline]
    pub fn listing_error(&self, dir: &[u8], read: usize) -> Option<i32> {
        self.0.as_ref().and_then(|h| h.listing_error(dir, read))
    }

    /// [`Hooks::fs_type`], if there are hooks.
    pub fn fs_type(&self, name: &[u8]) -> Option<i64> {
        self.0.as_ref().and_then(|h| h.fs_type(name))
    }
}

impl fmt::Debug for HookRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "HookRef(set)"
        } else {
            "HookRef(none)"
        })
    }
}
