//! `fimsum::rsync::log::LogReader` on hostile text: iterating to the end never panics and
//! ends, and every record it accepts comes back unchanged when written with `format_line`
//! (in each charset) and read again.
#![no_main]

use fimsum::rsync::escape::Charset;
use fimsum::hash::Algorithm;
use fimsum::rsync::log::{format_line, LogReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&select, text)) = data.split_first() else {
        return;
    };
    // The first byte chooses the algorithm the caller names, or none (width detection).
    let given = usize::from(select % 8)
        .checked_sub(2)
        .and_then(|i| Algorithm::ALL.get(i).copied());
    let lines = text.iter().filter(|&&b| b == b'\n').count();
    let mut reader = LogReader::new(std::io::Cursor::new(text), given);
    let mut records = Vec::new();
    let mut items = 0;
    for item in reader.by_ref() {
        items += 1;
        assert!(items <= lines + 1, "the reader does not end");
        if let Ok(record) = item {
            records.push(record);
        }
    }
    if records.is_empty() {
        return;
    }
    let width = reader
        .width()
        .expect("width known after records")
        .expect("width known after records");
    let algorithm = given.unwrap_or(match width {
        16 => Algorithm::Xxh64,
        32 => Algorithm::Md5,
        40 => Algorithm::Sha1,
        w => panic!("records parsed with impossible width {w}"),
    });
    assert_eq!(algorithm.hex_width(), width);
    for record in &records {
        for charset in [Charset::Utf8, Charset::Ascii, Charset::EightBit] {
            let mut line = Vec::new();
            assert!(format_line(record, algorithm, charset, &mut line));
            let back: Vec<_> =
                LogReader::new(std::io::Cursor::new(&line[..]), Some(algorithm)).collect();
            assert_eq!(back.len(), 1, "{charset:?} {line:?}");
            assert_eq!(back[0].as_ref().ok(), Some(record), "{charset:?} {line:?}");
        }
    }
});
