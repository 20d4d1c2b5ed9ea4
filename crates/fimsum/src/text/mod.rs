//! What a baseline keeps of a config file so that a later diff can show what changed inside
//! it: the content, compressed, or for a file that holds secrets only a digest of each line,
//! so that no secret is ever stored or printed.

/// What one scan kept of one file's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {}
