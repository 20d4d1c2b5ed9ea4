//! Writing the `%n %C` lines rsync prints, from records.

use crate::hash::Algorithm;
use crate::record::{Kind, Record};
use crate::rsync::escape::{escape_line, Charset};

/// Append the `%n %C` line of `record`, newline included, to `out`. Returns false (and
/// writes nothing) for a regular file without a checksum: rsync prints no line for a file
/// it could not read.
pub fn format_line(
    record: &Record,
    algorithm: Algorithm,
    charset: Charset,
    out: &mut Vec<u8>,
) -> bool {
    let mut line = Vec::with_capacity(record.name.len() + 42);
    if !push_name_and_checksum(record, algorithm, &mut line) {
        return false;
    }
    escape_line(&line, charset, out);
    out.push(b'\n');
    true
}

/// Append `%n %C` of `record` unescaped (rsync escapes whole lines, so a format with more
/// in front, such as `%i %n %C`, escapes after adding it). Returns false, having appended
/// nothing, for a regular file without a checksum.
pub(crate) fn push_name_and_checksum(
    record: &Record,
    algorithm: Algorithm,
    line: &mut Vec<u8>,
) -> bool {
    let digest = record.content.digest();
    if (digest.is_none() && record.kind == Kind::File) || record.is_unseen() {
        return false;
    }
    line.extend_from_slice(&record.display_name());
    match digest {
        Some(d) => {
            line.push(b' ');
            line.extend_from_slice(d.to_hex().as_bytes());
        }
        None => push_blank_checksum(algorithm, line),
    }
    true
}

/// Append ` ` and the blank `%C` rsync prints where there is no checksum to show.
pub(crate) fn push_blank_checksum(algorithm: Algorithm, line: &mut Vec<u8>) {
    line.push(b' ');
    line.resize(line.len() + algorithm.hex_width(), b' ');
}
