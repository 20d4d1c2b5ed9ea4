//! Timestamps as RFC 3339 text, for every second a file system can store.
//!
//! Reports print the `mtime`, `ctime` and scan time of entries, and any user who can write
//! to one scanned file can set its times to anything the kernel accepts: before 1970, before
//! year 1, or billions of years from now. A formatter that refuses any of them turns one
//! `touch -d` into a report that is never written, so this one is total: every `i64` second
//! with every `u32` nanosecond value prints.
//!
//! Why a small formatter of our own rather than a datetime crate: the only operation needed
//! is "seconds since the epoch to a proleptic Gregorian UTC date", which is a few lines of
//! integer arithmetic (the civil-from-days algorithm by Howard Hinnant), while the crates
//! either reject years beyond ±9999 (jiff), or panic or fail on part of the `i64` range
//! (humantime: anything before 1970). Arithmetic is done in `i128`, so no input overflows.
//!
//! The text is RFC 3339 in UTC with nine fraction digits for years 0000 to 9999
//! (`2026-11-26T12:00:00.123456789Z`). Years outside that range use the ISO 8601 expanded
//! form that RFC 3339 leaves to agreement: an explicit sign and at least four digits
//! (`-0001-12-31T…`, `+10000-01-01T…`), with astronomical year numbering (year 0 is 1 BC).
//! A nanosecond field of a billion or more, which no kernel produces but a crafted baseline
//! can hold, carries into the seconds instead of being printed as is.

const NANOS: i128 = 1_000_000_000;
const DAY: i128 = 86_400;

/// The proleptic Gregorian `(year, month, day)` of a count of days since 1970-01-01.
fn civil_from_days(days: i128) -> (i128, u32, u32) {
    // Shift the epoch to 0000-03-01, so that the leap day ends each 400-year era.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // day of era, 0..=146_096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1, 0..=365
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of [`civil_from_days`]).
fn days_from_civil(year: i128, month: u32, day: u32) -> i128 {
    let y = year - i128::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i128::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i128::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `sec` seconds and `nsec` nanoseconds after 1970-01-01T00:00:00Z, as RFC 3339 (module doc).
pub fn format(sec: i64, nsec: u32) -> String {
    let total = i128::from(sec) * NANOS + i128::from(nsec);
    let secs = total.div_euclid(NANOS);
    let frac = total.rem_euclid(NANOS);
    let (year, month, day) = civil_from_days(secs.div_euclid(DAY));
    let tod = secs.rem_euclid(DAY);
    let (h, m, s) = (tod / 3600, tod / 60 % 60, tod % 60);
    let year = match year {
        0..=9999 => format!("{year:04}"),
        y if y > 9999 => format!("+{y}"),
        y => format!("-{:04}", -y),
    };
    format!("{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{frac:09}Z")
}

/// The instant an RFC 3339 UTC time names, as `(seconds since the epoch, nanoseconds)`:
/// the text [`format()`] writes, and any RFC 3339 time with a `Z` or numeric offset, with or
/// without a fraction. `None` for anything else. Seconds are `i128` because a formatted
/// `i64` second with carried nanoseconds can lie just beyond the `i64` range.
pub fn parse(text: &str) -> Option<(i128, u32)> {
    let b = text.as_bytes();
    let (sign, rest) = match b.first()? {
        b'+' => (1, &b[1..]),
        b'-' => (-1, &b[1..]),
        _ => (1, b),
    };
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    // At most 19 digits: every year of an `i64` second has 12, and the day arithmetic on
    // an `i128` year stays far from overflow.
    if !(4..=19).contains(&digits) || (digits > 4 && rest.len() == b.len()) {
        return None;
    }
    let year = sign * num(&rest[..digits])?;
    let rest = &rest[digits..];
    // "-MM-DDTHH:MM:SS"
    if rest.len() < 15
        || rest[0] != b'-'
        || rest[3] != b'-'
        || !matches!(rest[6], b'T' | b't' | b' ')
        || rest[9] != b':'
        || rest[12] != b':'
    {
        return None;
    }
    let field = |at: usize| num(&rest[at..at + 2]).and_then(|n| u32::try_from(n).ok());
    let (month, day) = (field(1)?, field(4)?);
    let (h, m, s) = (field(7)?, field(10)?, field(13)?);
    let leap = year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0);
    let month_len = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if day == 0 || day > month_len || h > 23 || m > 59 || s > 59 {
        return None;
    }
    let mut rest = &rest[15..];
    let mut nsec = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for (i, c) in frac[..n].iter().enumerate() {
            if i < 9 {
                nsec = nsec * 10 + u32::from(c - b'0');
            }
        }
        nsec *= 10u32.pow(9u32.saturating_sub(n as u32));
        rest = &frac[n..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
            let oh = num(&[*oh1, *oh2])?;
            let om = num(&[*om1, *om2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * DAY + i128::from(h * 3600 + m * 60 + s) - offset;
    Some((secs, nsec))
}

/// The value of a run of ASCII digits (at most 38, so that it fits an `i128`).
fn num(digits: &[u8]) -> Option<i128> {
    if digits.is_empty() || digits.len() > 38 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0i128, |n, c| n * 10 + i128::from(c - b'0')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The libc `gmtime_r` of a second, as `(year, month, day, h, m, s)`, where its `int`
    /// year can hold the answer.
    fn libc_utc(sec: i64) -> Option<(i128, u32, u32, u32, u32, u32)> {
        #[allow(clippy::useless_conversion)] // time_t is i64 here, narrower elsewhere
        let t: libc::time_t = sec.try_into().ok()?;
        // SAFETY: gmtime_r writes only into the tm it is given.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let p = unsafe { libc::gmtime_r(&t, &mut tm) };
        if p.is_null() {
            return None;
        }
        Some((
            i128::from(tm.tm_year) + 1900,
            (tm.tm_mon + 1) as u32,
            tm.tm_mday as u32,
            tm.tm_hour as u32,
            tm.tm_min as u32,
            tm.tm_sec as u32,
        ))
    }

    #[test]
    fn times_before_1970_and_after_9999_format_without_panicking() {
        let cases: &[(i64, u32, &str)] = &[
            (0, 0, "1970-01-01T00:00:00.000000000Z"),
            (-1, 0, "1969-12-31T23:59:59.000000000Z"),
            (-1, 999_999_999, "1969-12-31T23:59:59.999999999Z"),
            (-315_619_200, 0, "1960-01-01T00:00:00.000000000Z"),
            (1_795_694_400, 123_456_789, "2026-11-26T12:00:00.123456789Z"),
            (-62_135_596_800, 0, "0001-01-01T00:00:00.000000000Z"),
            (-62_135_596_801, 0, "0000-12-31T23:59:59.000000000Z"),
            (-62_167_219_201, 0, "-0001-12-31T23:59:59.000000000Z"),
            (253_402_300_799, 0, "9999-12-31T23:59:59.000000000Z"),
            (253_402_300_800, 0, "+10000-01-01T00:00:00.000000000Z"),
            (0, 1_500_000_000, "1970-01-01T00:00:01.500000000Z"),
            (i64::MAX, 0, "+292277026596-12-04T15:30:07.000000000Z"),
            (i64::MIN, 0, "-292277022657-01-27T08:29:52.000000000Z"),
        ];
        for &(sec, nsec, want) in cases {
            assert_eq!(format(sec, nsec), want, "{sec} {nsec}");
            let carried = i128::from(sec) + i128::from(nsec / 1_000_000_000);
            assert_eq!(parse(want), Some((carried, nsec % 1_000_000_000)));
        }
        assert!(format(i64::MAX, u32::MAX).starts_with('+'));
        assert!(format(i64::MIN, u32::MAX).starts_with('-'));
    }

    #[test]
    fn parse_takes_offsets_and_refuses_what_is_not_rfc3339() {
        assert_eq!(parse("1970-01-01T01:00:00+01:00"), Some((0, 0)));
        assert_eq!(parse("1970-01-01T00:00:00.5Z"), Some((0, 500_000_000)));
        for bad in [
            "",
            "1970-01-01",
            "70-01-01T00:00:00Z",
            "19700-01-01T00:00:00Z",
            "1970-02-30T00:00:00Z",
            "1970-01-01T24:00:00Z",
            "1970-01-01T00:00:00",
            "1970-01-01T00:00:00.Z",
            "1970-01-01T00:00:00Zjunk",
            "+99999999999999999999999999999999999999-01-01T00:00:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// Every second of the `i64` range, with any nanoseconds: formats, and the text
        /// reads back as the same instant.
        #[test]
        fn every_timestamp_formats_and_reads_back(sec in any::<i64>(), nsec in any::<u32>()) {
            let text = format(sec, nsec);
            let total = i128::from(sec) * NANOS + i128::from(nsec);
            let want = (total.div_euclid(NANOS), total.rem_euclid(NANOS) as u32);
            prop_assert_eq!(parse(&text), Some(want), "{}", text);
        }

        /// Where libc's `gmtime_r` can answer (its year is an `int`), the date and time of
        /// day agree with it.
        #[test]
        fn timestamps_agree_with_libc_gmtime(
            sec in prop_oneof![
                any::<i64>(),
                -67_768_040_609_740_800i64..67_768_036_191_676_800i64,
                -100_000_000_000i64..300_000_000_000i64,
            ],
        ) {
            if let Some((y, mo, d, h, mi, s)) = libc_utc(sec) {
                let mut year = if (0..=9999).contains(&y) {
                    format!("{y:04}")
                } else if y > 9999 {
                    format!("+{y}")
                } else {
                    format!("-{:04}", -y)
                };
                year.push_str(&std::format!("-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000000000Z"));
                prop_assert_eq!(format(sec, 0), year);
            }
        }
    }
}
