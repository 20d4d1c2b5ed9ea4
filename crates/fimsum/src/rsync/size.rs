//! rsync's size arguments (`--max-size`, `--min-size`): a number, optionally with a
//! fraction, a unit letter (`b`, `k`, `m`, `g`, `t`, `p`, any case), then `b` for powers of
//! 1000 or nothing or `ib` for powers of 1024, then optionally `+1` or `-1`. The rules are
//! those of rsync's `parse_size_arg` (options.c), errors included, so that a backup
//! script's size limit means here what it means to rsync.

/// Parses a size as rsync's `--max-size`/`--min-size` do (unit bytes by default).
///
/// # Errors
/// The message rsync prints for it, e.g. `--max-size=1x is invalid`.
pub fn parse_size(text: &str, option: &str) -> Result<u64, String> {
    let invalid = || format!("--{option}={text} is invalid");
    let too_large = || format!("--{option}={text} is too large");
    let bytes = text.as_bytes();
    let mut i = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        i += bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    }
    let number = &text[..i];
    let mut rest = &bytes[i..];
    let unit = match rest.first() {
        Some(&b) if b != b'+' && b != b'-' => {
            rest = &rest[1..];
            b.to_ascii_lowercase()
        }
        _ => b'b',
    };
    let reps = match unit {
        b'b' => 0,
        b'k' => 1,
        b'm' => 2,
        b'g' => 3,
        b't' => 4,
        b'p' => 5,
        _ => return Err(invalid()),
    };
    let mult: i64 = match rest {
        [b'b' | b'B', tail @ ..] => {
            rest = tail;
            1000
        }
        [] | [b'+' | b'-', ..] => 1024,
        [a, b, tail @ ..] if a.eq_ignore_ascii_case(&b'i') && b.eq_ignore_ascii_case(&b'b') => {
            rest = tail;
            1024
        }
        _ => return Err(invalid()),
    };
    let size_max = i64::MAX;
    let mut unit_size: i64 = 1;
    for _ in 0..reps {
        if unit_size > size_max / mult {
            return Err(too_large());
        }
        unit_size *= mult;
    }
    // strtod of the whole text reads the same digits: what follows them is no number.
    let value: f64 = if number.is_empty() || number == "." {
        0.0
    } else {
        number.parse().map_err(|_| invalid())?
    };
    if value >= size_max as f64 / unit_size as f64 {
        return Err(too_large());
    }
    let mut size = (value * unit_size as f64) as i64;
    if let [sign @ (b'+' | b'-'), b'1', tail @ ..] = rest {
        if rest.len() != bytes.len() {
            size = if *sign == b'+' { size + 1 } else { size - 1 };
            rest = tail;
        }
    }
    if !rest.is_empty() || size < 0 {
        return Err(if size < 0 { too_large() } else { invalid() });
    }
    Ok(size as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    fn size(text: &str) -> Result<u64, String> {
        parse_size(text, "max-size")
    }

    #[test]
    fn units_and_multipliers() {
        assert_eq!(size("100"), Ok(100));
        assert_eq!(size("100b"), Ok(100));
        assert_eq!(size("1k"), Ok(1024));
        assert_eq!(size("1K"), Ok(1024));
        assert_eq!(size("1kb"), Ok(1000));
        assert_eq!(size("1KiB"), Ok(1024));
        assert_eq!(size("2m"), Ok(2 << 20));
        assert_eq!(size("1MB"), Ok(1_000_000));
        assert_eq!(size("1g"), Ok(1 << 30));
        assert_eq!(size("1t"), Ok(1 << 40));
        assert_eq!(size("1p"), Ok(1 << 50));
        assert_eq!(size("1.5k"), Ok(1536));
        assert_eq!(size(".5k"), Ok(512));
        assert_eq!(size("1k+1"), Ok(1025));
        assert_eq!(size("1k-1"), Ok(1023));
        assert_eq!(size("64+1"), Ok(65));
        assert_eq!(size(""), Ok(0));
    }

    #[test]
    fn rejected_like_rsync() {
        assert_eq!(size("1x"), Err("--max-size=1x is invalid".into()));
        assert!(size("1kk").is_err());
        assert!(size("-1").is_err());
        assert!(size("1k+2").is_err());
        assert!(size("1e3").is_err());
        assert!(size("9999999p").is_err());
        assert!(size("8e").is_err());
    }
}
