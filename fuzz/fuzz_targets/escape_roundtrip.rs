//! `fimsum::rsync::escape`: for any bytes and each charset, `unescape(escape_line(x)) == x`; the
//! escaped text never holds a newline or another control byte but TAB (and rsync's raw
//! leading CR); in the C locale it is pure ASCII. `unescape` of any bytes never grows them.
#![no_main]

use fimsum::rsync::escape::{escape_line, escape_name, unescape, Charset};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for charset in [Charset::Utf8, Charset::Ascii, Charset::EightBit] {
        let mut out = Vec::new();
        escape_line(data, charset, &mut out);
        assert_eq!(unescape(&out), data, "{charset:?} escaped as {out:?}");
        let body = out.strip_prefix(b"\r").unwrap_or(&out);
        assert!(
            body.iter().all(|&b| b >= b' ' || b == b'\t'),
            "{charset:?}: control byte left raw in {out:?}"
        );
        if charset == Charset::Ascii {
            assert!(out.is_ascii(), "high byte left raw in {out:?}");
        }
        let _ = escape_name(data, charset);
    }
    assert!(unescape(data).len() <= data.len());
});
