//! `--format rsync`: the lines `rsync -a --delete --checksum --out-format="%n %C" NEW/ BACKUP/`
//! prints when BACKUP is a copy of the tree as the baseline recorded it.
//!
//! The rules, observed with rsync 3.5.0 (docs/rsync-behaviour.md, "Incremental runs"):
//! - a line is printed for what is created, for a file whose checksum differs, for a
//!   re-pointed symlink or a changed device, and for a directory any of whose attributes
//!   (mode, owner, group, mtime) differ; attribute-only changes of other entries print
//!   nothing; the lines come in transfer order (rsync's file-list order of the new tree).
//!   Which entries these are follows from the flags rsync's generator gives each entry,
//!   computed once for both rsync formats in [`crate::report::itemize`];
//! - `deleting NAME` lines: directories in transfer order, inside each the extraneous entries
//!   in reverse sorted order, a removed directory emptied children first; then the contents
//!   of entries of that directory that went from directory to non-directory (the entry
//!   itself gets no line). A type change to a directory or between non-directories prints no
//!   `deleting` line.
//!
//! rsync interleaves its `deleting` lines with the others in an order that varies between
//! identical runs (they travel on another channel), so fimsum prints all `deleting` lines
//! first: one of the orders rsync itself prints, and the one the recordings are normalised to.
//! With an rsync log on either side there is no metadata, so no directory-attribute lines.

use std::io::{self, Write};

use crate::diff::Diff;
use crate::hash::Algorithm;
use crate::report::deletions::deletions;
use crate::report::itemize::items;
use crate::rsync::escape::{escape_line, Charset};
use crate::rsync::log::format_line;

/// Write the lines rsync would print to bring a copy of the old tree to the new one (`--format
/// rsync`; see the module).
pub fn write_rsync(
    out: &mut dyn Write,
    diff: &Diff,
    charset: Charset,
    algorithm: Algorithm,
) -> io::Result<()> {
    let mut line = Vec::new();
    for record in deletions(diff) {
        line.clear();
        let mut text = b"deleting ".to_vec();
        text.extend_from_slice(&record.display_name());
        escape_line(&text, charset, &mut line);
        line.push(b'\n');
        out.write_all(&line)?;
    }
    for (record, item) in items(diff) {
        line.clear();
        if item.printed_without_i() && format_line(record, algorithm, charset, &mut line) {
            out.write_all(&line)?;
        }
    }
    Ok(())
}
