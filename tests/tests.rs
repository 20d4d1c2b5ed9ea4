//! fimsum's integration tests, linked into one binary (as ripgrep does) so it builds once.

mod util;

mod baseline_files;
mod cli;
mod consistency;
mod dist;
mod filter_parity;
mod packages;
mod policy;
mod properties;
mod reliability;
mod rsync_compat;
mod rsync_incremental;
mod signing;
mod timestamps;
