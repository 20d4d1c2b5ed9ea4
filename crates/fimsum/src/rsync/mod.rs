//! Everything fimsum shares with rsync's own behaviour: the file-list order ([`order`]) the
//! walker sorts by and the diff merges by, the include/exclude rules ([`filter`]), names
//! cleaned as rsync cleans them ([`path`]), the escaping of names in rsync's output
//! ([`escape`], with the locale's charset), where `-H` prints the names of one inode
//! ([`hlink`]), and the logs rsync writes: the `%n %C` lines written, every log form a
//! backup job gets read, and a night's incremental log replayed onto the state before it
//! ([`log`]). Nothing here touches the file system beyond asking the C library for the
//! locale.

pub(crate) mod choice;
pub mod escape;
pub mod filter;
pub mod hlink;
mod locale;
pub mod log;
pub mod order;
pub(crate) mod path;
pub mod size;
