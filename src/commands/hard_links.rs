//! `fimsum scan -H`: the scan's lines held until the listing is complete, then printed in
//! rsync's `-H` order (`fimsum::rsync::hlink`). A group is printed at its last name, which
//! is known only once the walk is over, so nothing can be printed before.

use std::sync::atomic::Ordering;

use fimsum::commands::scan::{scan_lines as scan_in_walk_order, Line, ScanPlan, Scanned};
use fimsum::commands::Observer;
use fimsum::error::{Error, Result};
use fimsum::record::{Kind, Record};
use fimsum::rsync::hlink::{Link, Lists, Reorder};
use fimsum::scan::walk::Skipped;

use super::Lines;

/// A line of the listing, kept until its place is known.
enum Held {
    Record(Box<Record>),
    Skipped(Skipped),
}

/// [`scan_in_walk_order`], writing its lines to `lines` in rsync's `-H` order.
pub(super) fn scan_lines(
    plan: &ScanPlan,
    observer: &mut dyn Observer,
    lines: &mut Lines<'_>,
) -> Result<Scanned> {
    let listing = &plan.options.walk.listing;
    // Several sources can each have a directory of one name, whose lists rsync keeps
    // apart: counted as Mixed, as --files-from is.
    let one_source = plan.sources.len() == 1 && listing.files_from.is_none();
    let mut held = Reorder::new(match (listing.recursive, one_source) {
        (false, _) => Lists::One,
        (true, true) => Lists::PerDirectory,
        (true, false) => Lists::Mixed,
    });
    let mut printed_root = false;
    let scanned = scan_in_walk_order(plan, observer, |line| {
        match line {
            Line::Record(record) => {
                printed_root |= record.name == b".";
                held.push(Held::Record(Box::new(record.clone())), link(record))
            }
            Line::Skipped(skipped) => held.push(Held::Skipped(skipped.clone()), None),
        }
        Ok(())
    })?;
    // rsync's lists also hold the files --max-size leaves out and each `dir/` source's
    // `.`, which fimsum prints only when rsync does: counted as if every source had one
    // (one too many for a source without the slash: a listing refused a little early).
    let left_out = plan.options.walk.left_out_by_size.load(Ordering::Relaxed);
    let dots = plan.sources.len().saturating_sub(usize::from(printed_root));
    let uncounted = usize::try_from(left_out)
        .unwrap_or(usize::MAX)
        .saturating_add(dots);
    let ordered = held
        .finish(uncounted)
        .map_err(|e| Error::Usage(e.to_string()))?;
    for line in ordered {
        match line {
            Held::Record(record) => lines.write(&record)?,
            Held::Skipped(skipped) => lines.skipped(&skipped)?,
        }
    }
    Ok(scanned)
}

/// A regular file's inode, as the walk's own stat of the name saw it (with `-L`, of what
/// the symlink leads to, as rsync's sender stats it). Other hard-linked kinds (symlinks,
/// devices, FIFOs) are printed in place, as recorded: rsync's generator makes them at
/// once, with nothing to wait for (docs/listing.md).
fn link(record: &Record) -> Option<Link> {
    let meta = record.meta.as_ref()?;
    (record.kind == Kind::File)
        .then(|| Link::of(&record.name, meta.dev, meta.ino, meta.nlink))
        .flatten()
}
