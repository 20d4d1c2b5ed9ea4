//! fimsum's integration tests, linked into one binary (as ripgrep does) so it builds once.

mod util;

mod attrs;
mod baseline_files;
mod baseline_trust;
mod bounds;
mod busy;
mod cli;
mod consistency;
mod copies;
mod dir_merge;
mod dist;
mod filter_parity;
mod fleet;
mod follow_links;
mod hard_links;
mod inputs;
mod logs;
mod packages;
mod policy;
mod properties;
mod quick_fs;
mod relative;
mod reliability;
mod rsync_compat;
mod rsync_incremental;
mod signing;
mod skip_fs;
mod text_diff;
mod timestamps;
mod unseen;
