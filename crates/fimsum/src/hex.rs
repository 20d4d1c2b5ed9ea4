//! Hex digits, both ways: digests as rsync prints them, signing keys in their files,
//! dpkg's md5sums and known-bad hash lists. Encoding is lowercase, as rsync's
//! `sum_as_hex` writes; decoding takes either case and nothing else (no prefix, no
//! blanks), so every reader of hex in the crate accepts exactly the same text.

/// Lowercase hex of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * bytes.len());
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Nibble value of each byte, 0xff for a non-hex byte.
const NIBBLE: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Decodes exactly `2 * out.len()` hex digits of either case into `out`; false (with
/// `out` unspecified) if the length is wrong or a byte is not a hex digit. Branch-free
/// per byte: invalid digits are collected in `bad` and checked once, since almost every
/// input is valid (a known-bad list has millions of lines).
pub(crate) fn decode_into(hex: &[u8], out: &mut [u8]) -> bool {
    if hex.len() != 2 * out.len() {
        return false;
    }
    let mut bad = 0u8;
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let hi = NIBBLE[usize::from(pair[0])];
        let lo = NIBBLE[usize::from(pair[1])];
        bad |= hi | lo;
        *byte = (hi << 4) | (lo & 0x0f);
    }
    bad & 0xf0 == 0
}

/// Decodes exactly `2 * N` hex digits of either case.
pub(crate) fn decode<const N: usize>(hex: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    decode_into(hex, &mut out).then_some(out)
}

/// Whether every byte is a hex digit. Through the table rather than `is_ascii_hexdigit`,
/// whose range tests branch on each digit and mispredict on random hex (a third of the
/// load time of a plain list went there).
pub(crate) fn is_hex(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(0u8, |bad, &b| bad | NIBBLE[usize::from(b)])
        & 0xf0
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let text = encode(&all);
        assert_eq!(&text[..8], "00010203");
        assert_eq!(&text[text.len() - 4..], "feff");
        let mut back = vec![0u8; all.len()];
        assert!(decode_into(text.as_bytes(), &mut back));
        assert_eq!(back, all);
        assert!(decode_into(text.to_uppercase().as_bytes(), &mut back));
        assert_eq!(back, all);
    }

    #[test]
    fn rejects_what_is_not_exactly_hex() {
        assert_eq!(decode::<2>(b"abcd"), Some([0xab, 0xcd]));
        assert_eq!(decode::<2>(b"ABCD"), Some([0xab, 0xcd]));
        assert_eq!(decode::<2>(b"abc"), None);
        assert_eq!(decode::<2>(b"abcdef"), None);
        assert_eq!(decode::<2>(b"abcg"), None);
        assert_eq!(decode::<2>(b"ab d"), None);
        assert_eq!(decode::<1>(b"+f"), None);
        assert_eq!(decode::<1>("é".as_bytes()), None);
        assert_eq!(decode::<0>(b""), Some([]));
        assert!(is_hex(b"09afAF"));
        assert!(is_hex(b""));
        assert!(!is_hex(b"0x1f"));
    }
}
