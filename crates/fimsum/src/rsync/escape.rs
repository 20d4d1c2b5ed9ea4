//! rsync's escaping of names in its output, both ways.
//!
//! rsync sends every output line through `rwrite()` (log.c): the line is run through
//! `iconv(charset, charset)` for the locale's charset, and each byte iconv rejects is written
//! as `\#ooo`; what iconv accepts then goes through `filtered_fwrite()`, which writes every
//! byte below 0x20 except TAB, and the backslash of a literal `\#ddd`, as `\#ooo`. Because
//! a literal `\#ddd` is always escaped, [`unescape`] is the exact inverse of [`escape_line`].

/// How the locale's charset treats bytes >= 0x80, which decides what rsync escapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8 locales: invalid UTF-8 bytes are escaped, valid characters pass raw.
    Utf8,
    /// The C/POSIX locale (ASCII): every byte >= 0x80 is escaped.
    Ascii,
    /// Any other single-byte charset (ISO-8859-x and the like): high bytes pass raw.
    /// Multi-byte charsets other than UTF-8 are treated this way too; rsync would follow
    /// their own validity rules (a documented difference).
    EightBit,
}

impl Charset {
    /// The charset rsync would use: the locale from LC_ALL, LC_CTYPE and LANG, resolved by
    /// the C library exactly as rsync's `setlocale(LC_CTYPE, "")` does (so a locale that is
    /// not installed falls back to C, as it does for rsync).
    pub fn from_environment() -> Charset {
        Charset::from_codeset(&crate::rsync::locale::codeset())
    }

    /// Classify a codeset name as `nl_langinfo(CODESET)` returns it.
    pub(crate) fn from_codeset(codeset: &str) -> Charset {
        let norm: String = codeset
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match norm.as_str() {
            "utf8" => Charset::Utf8,
            "ansix341968" | "ascii" | "usascii" | "" => Charset::Ascii,
            _ => Charset::EightBit,
        }
    }
}

/// Append `line` (one whole output line without its newline) to `out`, escaped as rsync
/// escapes it.
pub fn escape_line(line: &[u8], charset: Charset, out: &mut Vec<u8>) {
    // rwrite() passes a leading CR through raw before anything else is looked at.
    let line = match line.split_first() {
        Some((b'\r', rest)) => {
            out.push(b'\r');
            rest
        }
        _ => line,
    };
    match charset {
        Charset::Utf8 => {
            let (mut start, mut i) = (0, 0);
            while i < line.len() {
                match glibc_utf8_len(&line[i..]) {
                    Some(n) => i += n,
                    None => {
                        filter_valid(&line[start..i], out);
                        push_escaped(line[i], out);
                        i += 1;
                        start = i;
                    }
                }
            }
            filter_valid(&line[start..], out);
        }
        Charset::Ascii => {
            let mut start = 0;
            for (i, &b) in line.iter().enumerate() {
                if b >= 0x80 {
                    filter_valid(&line[start..i], out);
                    push_escaped(b, out);
                    start = i + 1;
                }
            }
            filter_valid(&line[start..], out);
        }
        Charset::EightBit => filter_valid(line, out),
    }
}

/// Escape a single name for display (reports, JSON), the way it would appear in rsync output.
pub fn escape_name(name: &[u8], charset: Charset) -> String {
    let mut out = Vec::with_capacity(name.len() + 8);
    escape_line(name, charset, &mut out);
    // Escaped text is valid in the charset; for the 8-bit charsets high bytes stay raw, so
    // fall back to a lossless-for-display conversion there.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The length of the UTF-8 character at the start of `bytes` as glibc's iconv decodes it,
/// or `None` where iconv reports an illegal or incomplete sequence.
///
/// glibc still accepts the original (RFC 2279) form: 5- and 6-byte sequences and values up
/// to 0x7FFFFFFF, so `F4 90 80 80` (above U+10FFFF) passes raw. It rejects overlong forms,
/// UTF-16 surrogates, stray continuation bytes, 0xFE and 0xFF, as observed with rsync.
fn glibc_utf8_len(bytes: &[u8]) -> Option<usize> {
    let lead = *bytes.first()?;
    let (len, min, initial) = match lead {
        0x00..=0x7f => return Some(1),
        0xc2..=0xdf => (2, 0x80, u32::from(lead & 0x1f)),
        0xe0..=0xef => (3, 0x800, u32::from(lead & 0x0f)),
        0xf0..=0xf7 => (4, 0x1_0000, u32::from(lead & 0x07)),
        0xf8..=0xfb => (5, 0x20_0000, u32::from(lead & 0x03)),
        0xfc..=0xfd => (6, 0x400_0000, u32::from(lead & 0x01)),
        _ => return None,
    };
    let tail = bytes.get(1..len)?;
    let mut value = initial;
    for &b in tail {
        if b & 0xc0 != 0x80 {
            return None;
        }
        value = (value << 6) | u32::from(b & 0x3f);
    }
    let surrogate = (0xd800..=0xdfff).contains(&value);
    (value >= min && !surrogate).then_some(len)
}

/// rsync's `filtered_fwrite()` with `use_isprint = 0, escape_c1 = 0`.
fn filter_valid(bytes: &[u8], out: &mut Vec<u8>) {
    // Almost every name has nothing to escape: one scan, one copy (a byte-by-byte push was
    // 1.6% of a /usr scan).
    if !bytes.iter().any(|&b| b == b'\\' || is_control(b)) {
        out.extend_from_slice(bytes);
        return;
    }
    for (i, &b) in bytes.iter().enumerate() {
        let literal_escape = b == b'\\'
            && bytes.len() - i > 4
            && bytes[i + 1] == b'#'
            && bytes[i + 2..i + 5].iter().all(u8::is_ascii_digit);
        if literal_escape || is_control(b) {
            push_escaped(b, out);
        } else {
            out.push(b);
        }
    }
}

/// A control character rsync escapes (all but tab).
fn is_control(b: u8) -> bool {
    b < b' ' && b != b'\t'
}

fn push_escaped(b: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(&[
        b'\\',
        b'#',
        b'0' + (b >> 6),
        b'0' + ((b >> 3) & 7),
        b'0' + (b & 7),
    ]);
}

/// Undo [`escape_line`]: every `\#ooo` (three octal digits, value < 256) becomes that byte;
/// everything else is kept as it is.
pub fn unescape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if let Some(b) = escaped_byte_at(text, i) {
            out.push(b);
            i += 5;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

fn escaped_byte_at(text: &[u8], i: usize) -> Option<u8> {
    let seq = text.get(i..i + 5)?;
    if seq[0] != b'\\' || seq[1] != b'#' {
        return None;
    }
    let mut value: u32 = 0;
    for &d in &seq[2..] {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        value = value * 8 + u32::from(d - b'0');
    }
    u8::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(name: &[u8], cs: Charset) -> String {
        let mut out = Vec::new();
        escape_line(name, cs, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn control_bytes_and_literal_escapes() {
        assert_eq!(esc(b"new\nline", Charset::Utf8), "new\\#012line");
        assert_eq!(esc(b"tab\there", Charset::Utf8), "tab\there");
        assert_eq!(esc(b"a\x1b[31m", Charset::Utf8), "a\\#033[31m");
        assert_eq!(esc(b"del\x7f", Charset::Utf8), "del\x7f");
        assert_eq!(esc(b"\\#123 x", Charset::Utf8), "\\#134#123 x");
        assert_eq!(esc(b"\\x \\#12 ", Charset::Utf8), "\\x \\#12 ");
    }

    #[test]
    fn leading_carriage_return_is_raw() {
        assert_eq!(esc(b"\rx\ry", Charset::Utf8), "\rx\\#015y");
    }

    #[test]
    fn utf8_validity_decides_escaping() {
        assert_eq!(esc("café".as_bytes(), Charset::Utf8), "café");
        assert_eq!(esc("café".as_bytes(), Charset::Ascii), "caf\\#303\\#251");
        assert_eq!(esc(b"a\xffb", Charset::Utf8), "a\\#377b");
        assert_eq!(esc(b"\xed\xa0\x80", Charset::Utf8), "\\#355\\#240\\#200");
        assert_eq!(esc(b"\xc0\xaf", Charset::Utf8), "\\#300\\#257");
        assert_eq!(
            esc(b"\xe2\x82\xe2\x82\xac", Charset::Utf8),
            "\\#342\\#202\u{20ac}"
        );
        assert_eq!(esc(b"\xe9t\xe9", Charset::EightBit), "\u{fffd}t\u{fffd}");
        // glibc's iconv takes the old 5- and 6-byte forms and values above U+10FFFF.
        for raw in [
            &b"\xf4\x90\x80\x80"[..],
            b"\xfd\xbf\xbf\xbf\xbf\xbf",
            b"\xf8\x88\x80\x80\x80",
        ] {
            let mut out = Vec::new();
            escape_line(raw, Charset::Utf8, &mut out);
            assert_eq!(out, raw);
        }
        assert_eq!(
            esc(b"\xf8\x80\x80\x80\x80", Charset::Utf8),
            "\\#370\\#200\\#200\\#200\\#200"
        );
        assert_eq!(esc(b"\xfe\xff", Charset::Utf8), "\\#376\\#377");
    }

    #[test]
    fn unescape_inverts_escape_for_every_byte_pair() {
        for cs in [Charset::Utf8, Charset::Ascii, Charset::EightBit] {
            for a in 0..=255u8 {
                for b in [0u8, b'#', b'\\', b'1', 0x80, 0xa9, 0xc3, 0xff] {
                    let name = [b'\\', b'#', a, b'1', b'2', b, b'\\', a];
                    let mut out = Vec::new();
                    escape_line(&name, cs, &mut out);
                    assert_eq!(unescape(&out), name, "{cs:?} {name:?}");
                }
            }
        }
    }

    #[test]
    fn unescape_leaves_non_escapes() {
        assert_eq!(unescape(b"\\#9999"), b"\\#9999");
        assert_eq!(unescape(b"\\#12"), b"\\#12");
        assert_eq!(unescape(b"\\#400"), b"\\#400");
        assert_eq!(unescape(b"x\\#011y"), b"x\ty");
    }

    #[test]
    fn codeset_names() {
        assert_eq!(Charset::from_codeset("UTF-8"), Charset::Utf8);
        assert_eq!(Charset::from_codeset("utf8"), Charset::Utf8);
        assert_eq!(Charset::from_codeset("ANSI_X3.4-1968"), Charset::Ascii);
        assert_eq!(Charset::from_codeset("ISO-8859-1"), Charset::EightBit);
    }
}
