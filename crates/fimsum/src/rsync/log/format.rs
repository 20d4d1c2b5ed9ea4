//! A log format the user names (`--log-file-format` or `--out-format`, as given to
//! rsync), for lines whose entries carry more than the shapes the reader knows: `%o`, `%B`,
//! `%l`, `%U`, `%M`, `%t` and the like, before or after the name.
//!
//! A line is matched from both ends: the fields before `%n` from the left (each up to the
//! text that follows it, or of its fixed width: `%i` 11 characters, `%t` and `%M` 19), the
//! fields after it from the right (`%l`, `%b`, `%c` are digits); what is left is the name
//! with what `%L` and ` %C` add, read as any entry is. The format must keep `%n`, `%L` and
//! ` %C` together (`%n%L %C`, any of the last two left out), since a name may hold spaces
//! and a blank `%C` is spaces too, and put text between fields. `%f` (the long form of the
//! name, which depends on the side and the source), field widths and `'` are not read.

use super::shape::{is_itemize, Shape, ITEMIZE_LEN};

/// The itemize code of a deletion.
const DELETING_CODE: &[u8] = b"*deleting  ";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(Vec<u8>),
    Field(u8),
}

/// A parsed format; see the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFormat {
    before: Vec<Piece>,
    after: Vec<Piece>,
    /// The format has `%i` or `%o`: rsync then writes deletions in it, not as
    /// `deleting NAME`.
    itemizes: bool,
}

/// An entry or deletion line matched by a format: what the reader reads of it.
pub(crate) struct Matched {
    itemize: Option<Vec<u8>>,
    deleted: bool,
    rest: Vec<u8>,
}

impl Matched {
    pub(crate) fn shape(&self) -> Shape<'_> {
        if self.deleted {
            Shape::Deleted {
                rest: &self.rest,
                itemized: true,
            }
        } else {
            Shape::Entry {
                itemize: self.itemize.as_deref(),
                rest: &self.rest,
            }
        }
    }
}

/// rsync's escapes (log.c), `%n` among them.
const ESCAPES: &[u8] = b"abBcCfGhiIlLmMnoOpPtuU";

impl LogFormat {
    /// Parse a `--out-format` or `--log-file-format` string; the error says what it lacks or what
    /// is wrong.
    pub fn parse(format: &[u8]) -> Result<LogFormat, String> {
        let mut pieces: Vec<Piece> = Vec::new();
        let mut text = Vec::new();
        let mut i = 0;
        while i < format.len() {
            if format[i] != b'%' {
                text.push(format[i]);
                i += 1;
                continue;
            }
            let Some(&c) = format.get(i + 1) else {
                return Err("a `%` at the end".into());
            };
            i += 2;
            if c == b'%' {
                text.push(b'%');
                continue;
            }
            if c.is_ascii_digit() || c == b'-' || c == b'\'' {
                return Err("field widths and `'` are not read".into());
            }
            if !ESCAPES.contains(&c) {
                return Err(format!("`%{}` is no rsync escape", c as char));
            }
            if c == b'f' {
                return Err("`%f` is not read (its form depends on the side): use `%n`".into());
            }
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Field(c));
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        let names = pieces.iter().filter(|p| **p == Piece::Field(b'n')).count();
        if names != 1 {
            return Err("the format must hold `%n` once".into());
        }
        let at = pieces
            .iter()
            .position(|p| *p == Piece::Field(b'n'))
            .unwrap_or_default();
        let before = pieces[..at].to_vec();
        let mut after = &pieces[at + 1..];
        // `%L` and ` %C` stay with the name.
        if after.first() == Some(&Piece::Field(b'L')) {
            after = &after[1..];
        }
        let after = match (after.first(), after.get(1)) {
            (Some(Piece::Text(t)), Some(Piece::Field(b'C'))) if t == b" " => after[2..].to_vec(),
            (Some(Piece::Text(_)), Some(Piece::Field(b'C'))) => {
                return Err("` %C` must follow `%n` (or `%n%L`) directly".into())
            }
            _ => after.to_vec(),
        };
        LogFormat::build(before, after)
    }

    fn build(before: Vec<Piece>, after: Vec<Piece>) -> Result<LogFormat, String> {
        for p in before.iter().chain(&after) {
            if matches!(p, Piece::Field(b'C' | b'L')) {
                return Err("`%L` and `%C` must follow `%n` as `%n%L %C`".into());
            }
        }
        // A field of no fixed width needs text after it (before the name) or before it
        // (after the name) to end it.
        let fixed = |c: u8| matches!(c, b'i' | b't' | b'M');
        for (i, p) in before.iter().enumerate() {
            if let Piece::Field(c) = p {
                if !fixed(*c) && !matches!(before.get(i + 1), Some(Piece::Text(_))) {
                    return Err(format!(
                        "`%{}` needs text between it and the next field",
                        *c as char
                    ));
                }
            }
        }
        for (i, p) in after.iter().enumerate() {
            if let Piece::Field(c) = p {
                let digits = matches!(c, b'l' | b'b' | b'c');
                let prev_text = i > 0 && matches!(after[i - 1], Piece::Text(_));
                if !fixed(*c) && !digits && !prev_text {
                    return Err(format!(
                        "`%{}` needs text between it and the name",
                        *c as char
                    ));
                }
            }
        }
        let itemizes = before
            .iter()
            .chain(&after)
            .any(|p| matches!(p, Piece::Field(b'i' | b'o')));
        Ok(LogFormat {
            before,
            after,
            itemizes,
        })
    }

    /// Whether rsync writes deletions in this format (else as `deleting NAME`).
    pub(crate) fn itemizes(&self) -> bool {
        self.itemizes
    }

    /// Match a line's body (after the `--log-file` prefix); `None` if it does not fit.
    pub(crate) fn matches(&self, body: &[u8]) -> Option<Matched> {
        let mut s = body;
        let mut itemize = None;
        let mut deleted = false;
        let mut code = |c: &[u8]| -> Option<()> {
            if c == DELETING_CODE {
                deleted = true;
            } else if is_itemize(c) {
                itemize = Some(c.to_vec());
            } else {
                return None;
            }
            Some(())
        };
        for (i, piece) in self.before.iter().enumerate() {
            match piece {
                Piece::Text(t) => s = s.strip_prefix(&t[..])?,
                Piece::Field(b'i') => {
                    code(s.get(..ITEMIZE_LEN)?)?;
                    s = &s[ITEMIZE_LEN..];
                }
                Piece::Field(b't' | b'M') => s = s.get(19..)?,
                Piece::Field(_) => {
                    let Some(Piece::Text(t)) = self.before.get(i + 1) else {
                        return None;
                    };
                    let at = memchr::memmem::find(s, t)?;
                    s = &s[at..];
                }
            }
        }
        for (i, piece) in self.after.iter().enumerate().rev() {
            match piece {
                Piece::Text(t) => s = s.strip_suffix(&t[..])?,
                Piece::Field(b'i') => {
                    let at = s.len().checked_sub(ITEMIZE_LEN)?;
                    code(&s[at..])?;
                    s = &s[..at];
                }
                Piece::Field(b't' | b'M') => s = &s[..s.len().checked_sub(19)?],
                Piece::Field(b'l' | b'b' | b'c') => {
                    let n = s
                        .iter()
                        .rev()
                        .take_while(|&&c| c.is_ascii_digit() || c == b',')
                        .count();
                    if n == 0 {
                        return None;
                    }
                    s = &s[..s.len() - n];
                }
                Piece::Field(_) => {
                    let Some(Piece::Text(t)) = i.checked_sub(1).and_then(|j| self.after.get(j))
                    else {
                        return None;
                    };
                    let at = memchr::memmem::rfind(s, t)?;
                    s = &s[..at + t.len()];
                }
            }
        }
        // `%o` says a deletion where there is no `%i`.
        if self
            .before
            .iter()
            .chain(&self.after)
            .any(|p| *p == Piece::Field(b'o'))
            && itemize.is_none()
            && !deleted
        {
            deleted = self.op_is_delete(body);
        }
        if s.is_empty() {
            return None;
        }
        Some(Matched {
            itemize,
            deleted,
            rest: s.to_vec(),
        })
    }

    /// Whether `%o` reads `del.` (rsync's operation word of a deletion) in `body`.
    fn op_is_delete(&self, body: &[u8]) -> bool {
        let mut s = body;
        for (i, piece) in self.before.iter().enumerate() {
            match piece {
                Piece::Text(t) => match s.strip_prefix(&t[..]) {
                    Some(r) => s = r,
                    None => return false,
                },
                Piece::Field(b'o') => return s.starts_with(b"del."),
                Piece::Field(b'i') | Piece::Field(b't' | b'M') => {
                    let n = if piece == &Piece::Field(b'i') {
                        ITEMIZE_LEN
                    } else {
                        19
                    };
                    match s.get(n..) {
                        Some(r) => s = r,
                        None => return false,
                    }
                }
                Piece::Field(_) => {
                    let Some(Piece::Text(t)) = self.before.get(i + 1) else {
                        return false;
                    };
                    match memchr::memmem::find(s, t) {
                        Some(at) => s = &s[at..],
                        None => return false,
                    }
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rest(format: &str, line: &str) -> Option<(Option<String>, bool, String)> {
        let f = LogFormat::parse(format.as_bytes()).unwrap();
        f.matches(line.as_bytes()).map(|m| {
            (
                m.itemize.map(|c| String::from_utf8(c).unwrap()),
                m.deleted,
                String::from_utf8(m.rest).unwrap(),
            )
        })
    }

    #[test]
    fn fields_around_the_name_are_taken_off() {
        let sum = "cc5e9216b37b3f82dfe398ed311d16e6";
        assert_eq!(
            rest(
                "%o %i %B %n%L %C",
                &format!("send >f+++++++++ rw-r--r-- a b {sum}")
            ),
            Some((Some(">f+++++++++".into()), false, format!("a b {sum}")))
        );
        let blank = " ".repeat(32);
        assert_eq!(
            rest(
                "%o %i %B %n%L %C",
                &format!("del. *deleting   --------- a {blank}")
            ),
            Some((None, true, format!("a {blank}")))
        );
        assert_eq!(
            rest(
                "%t [%U] %n%L %l bytes",
                "2026/12/01 23:38:40 [0] l -> t 1,234 bytes"
            ),
            Some((None, false, "l -> t".into()))
        );
        assert_eq!(
            rest("%o %n", "del. gone/"),
            Some((None, true, "gone/".into()))
        );
        assert_eq!(rest("%o %i %n", "send x"), None);
    }

    #[test]
    fn formats_that_cannot_be_read_back_are_refused() {
        for bad in [
            "%i %f",
            "%n %C x %C",
            "%C %n",
            "%U%G %n",
            "%-10n",
            "%i",
            "%n %n",
            "%q %n",
        ] {
            assert!(LogFormat::parse(bad.as_bytes()).is_err(), "{bad}");
        }
        for good in [
            "%i %n%L",
            "%n %C",
            "%o %i %B %n%L %C",
            "%t %n %l",
            "%i %n%L %C %l",
        ] {
            assert!(LogFormat::parse(good.as_bytes()).is_ok(), "{good}");
        }
    }
}
