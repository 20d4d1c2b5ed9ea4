//! A rule pattern of the config: an rsync pattern, as an `--exclude` would take it, and the
//! literal bytes that let most names be rejected without running the matcher. The config
//! checks each pattern with it when it is read, so an error can name the line, and the
//! policy compiles its rules with it; neither needs the other for that.

use crate::rsync::filter::{self, Filter};

/// One pattern with the literal bytes that let most names be rejected without running
/// the matcher: a policy's patterns are mostly anchored in another tree, or end in a
/// literal (`authorized_keys`, `**.gz`) that the name does not.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    pub(crate) matcher: filter::Rule,
    /// What every name this pattern matches starts with: the leading literal of an
    /// anchored pattern, without the anchoring `/`. It may end in the `/` of a
    /// directory-only pattern, which the name lacks, so only the bytes both have are
    /// compared.
    pub(crate) prefix: Vec<u8>,
    /// What every name this pattern matches ends with: the literal after the last
    /// wildcard, without a directory-only `/`.
    pub(crate) suffix: Vec<u8>,
}

impl Pattern {
    /// Compiles one rule pattern with fimsum's rsync matcher, refusing the patterns that would
    /// silently match nothing.
    pub(crate) fn compile(pattern: &str) -> Result<Pattern, String> {
        let bytes = pattern.as_bytes();
        if bytes.iter().all(|&b| b == b'/') {
            return Err(format!("pattern {pattern:?} matches nothing"));
        }
        if let Some(problem) = never_matches(bytes) {
            return Err(format!("pattern {pattern:?} never matches: {problem}"));
        }
        // An explicit "- " keeps the pattern literal even if it starts with "+ " or is "!",
        // which a bare `--exclude` argument would take as a prefix or a clear.
        let mut filter = Filter::new();
        let mut text = b"- ".to_vec();
        text.extend_from_slice(bytes);
        filter.exclude(&text).map_err(|e| e.to_string())?;
        let matcher = filter
            .rules()
            .first()
            .cloned()
            .ok_or_else(|| format!("pattern {pattern:?} was not accepted"))?;
        // Any byte with a meaning to the matcher ends a literal; `]` and `\` too, so that a
        // class or an escape is never taken for plain text. Stopping early is always safe.
        let special = |b: &u8| matches!(b, b'*' | b'?' | b'[' | b']' | b'\\');
        let body = bytes.strip_prefix(b"/");
        let prefix = match body {
            Some(body) => body.iter().take_while(|b| !special(b)).copied().collect(),
            None => Vec::new(),
        };
        let body = body.unwrap_or(bytes);
        let body = body.strip_suffix(b"/").unwrap_or(body);
        let literal_tail = body.iter().rev().take_while(|b| !special(b)).count();
        let mut suffix = &body[body.len() - literal_tail..];
        if bytes.starts_with(b"**") {
            // rsync matches such a pattern against "/" + name, so that `**/bin` matches a
            // top-level `bin`: the suffix's first `/` may not be in the name.
            suffix = suffix.strip_prefix(b"/").unwrap_or(suffix);
        }
        Ok(Pattern {
            matcher,
            prefix,
            suffix: suffix.to_vec(),
        })
    }

    /// Whether `name` (relative to `/`) has the pattern's literal prefix and suffix, which
    /// every name it matches has.
    pub(crate) fn may_match(&self, name: &[u8]) -> bool {
        // Plain loops: on short slices they beat the memcmp that `==` calls (see filter.rs).
        self.prefix.iter().zip(name).all(|(p, n)| p == n)
            && name.len() >= self.suffix.len()
            && self
                .suffix
                .iter()
                .rev()
                .zip(name.iter().rev())
                .all(|(s, n)| s == n)
    }
}

/// The two malformed wildcards a typo produces, an unclosed `[` and a trailing `\`, which
/// rsync's matcher (and so fimsum's) takes as matching nothing rather than as an error.
fn never_matches(pattern: &[u8]) -> Option<&'static str> {
    if !pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
        return None; // No wildcards: `\` and `[` are plain bytes.
    }
    let mut i = 0;
    while let Some(&b) = pattern.get(i) {
        match b {
            b'\\' if i + 1 == pattern.len() => return Some("it ends with a lone `\\`"),
            b'\\' => i += 2,
            b'[' => {
                // A `]` right after `[`, `[!` or `[^` is a member, not the end.
                let mut j = i + 1;
                if matches!(pattern.get(j), Some(b'!' | b'^')) {
                    j += 1;
                }
                j += if pattern.get(j) == Some(&b'\\') { 2 } else { 1 };
                loop {
                    match pattern.get(j) {
                        None => return Some("a `[` is never closed"),
                        Some(b'\\') => j += 2,
                        Some(b']') => break,
                        Some(_) => j += 1,
                    }
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    None
}
