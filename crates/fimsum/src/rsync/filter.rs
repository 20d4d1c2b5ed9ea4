//! Include/exclude filtering that decides exactly like rsync 3.5.0 does for
//! `--exclude`, `--include`, `--exclude-from` and `--include-from`.
//!
//! fimsum must list the same entries as
//! `rsync -a --checksum --out-format="%n %C" [filters] SRC... DEST/`, so every
//! rule here reproduces rsync's observable behaviour (checked against the
//! rsync binary, see `tests/rsync_parity.rs`), including its odd corners:
//!
//! * Rules are tried in command-line order; the first matching rule decides,
//!   and a name no rule matches is included.
//! * `--exclude`/`--include` accept the old-style prefixes `"- "` and `"+ "`
//!   (exactly one space), which override the option's own kind; a pattern that
//!   is exactly `"!"` clears every rule given so far; any other text, including
//!   `". FILE"`, `": FILE"`, `"!foo"` or `"-foo"`, is a literal pattern, since
//!   these options do not understand `--filter` syntax. Hence merge-file rules
//!   cannot be expressed through this API and need no refusal.
//! * A trailing `/` restricts the rule to directories; a leading `/` anchors it
//!   at the transfer root; a pattern without `/` and without `**` matches the
//!   final path component only; an unanchored pattern with `/` but without
//!   `**` matches the same number of trailing components; an unanchored
//!   pattern with `**` that does not start with `**` may match starting at any
//!   component.
//! * Wildcards (`*`, `**`, `?`, `[...]`) are recognised only if the pattern
//!   contains `*`, `?` or `[`; only then is `\` an escape character.
//!
//! Deliberate limits, each refused with a [`PatternError`] instead of guessed:
//!
//! * A NUL byte in a `--exclude`/`--include` pattern (no command line can carry
//!   one). In `--exclude-from` contents a NUL ends the rule early, as in rsync.
//! * A pattern of 4096 bytes or more (an `--exclude-from` line of more than
//!   5119 bytes). rsync prints "discarding over-long filter" and carries on
//!   without the rule; fimsum would rather stop than silently differ in intent.
//!
//! The POSIX classes `[[:alpha:]]` and friends follow the C locale, i.e. they
//! never match a byte >= 0x80. rsync agrees under the C and UTF-8 locales (the
//! Debian default); only under a single-byte locale such as ISO-8859-1 could
//! rsync's `isalpha()` accept such bytes.

use std::error::Error;
use std::fmt;
#[cfg(test)]
use std::sync::Arc;

/// rsync discards any filter whose pattern is this long or longer (Linux's
/// `MAXPATHLEN`).
const MAX_PATTERN_LEN: usize = 4096;

/// rsync reads rule-file lines into a buffer of this many bytes and discards
/// longer lines whole, before looking for comments or NULs.
const MAX_LINE_LEN: usize = 4096 + 1024 - 1;

/// A rule string rsync would reject, or that fimsum refuses to emulate.
#[derive(Debug)]
pub struct PatternError {
    /// The offending rule text (lossily decoded for display).
    pub pattern: String,
    /// Why it was rejected.
    pub reason: String,
}

impl PatternError {
    fn new(pattern: &[u8], reason: &str) -> PatternError {
        PatternError {
            pattern: String::from_utf8_lossy(pattern).into_owned(),
            reason: reason.to_owned(),
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", self.reason, self.pattern)
    }
}

impl Error for PatternError {}

/// Whether a matching rule keeps or drops the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// `+`: the entry is transferred and the search stops.
    Include,
    /// `-`: the entry (and, for a directory, everything below it) is skipped.
    Exclude,
}

/// One parsed include/exclude rule, in command-line order.
#[derive(Clone, Debug)]
pub struct Rule {
    kind: RuleKind,
    /// rsync's `!` modifier: the rule applies to what its pattern does not match.
    negate: bool,
    /// The pattern as the user wrote it (prefix removed), for messages.
    text: Vec<u8>,
    dir_only: bool,
    matcher: Matcher,
    /// rsync's `/` modifier, or an anchored rule of a per-directory merge file: the pattern
    /// is matched against the entry's absolute path (see [`Rule::matches_at`]).
    abs: bool,
    /// A rule that stands for a list of rules kept elsewhere: a dir-merge rule's current
    /// per-directory rules, or `-C`'s CVS ignore list.
    link: Link,
}

/// What list a placeholder rule stands for, tried in its place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// An ordinary rule.
    None,
    /// The rules the walk has read for the dir-merge rule with this index
    /// ([`Filter::dir_merges`]).
    DirMerge(usize),
    /// `-C`: rsync's CVS ignore list ([`Filter::cvs_rules`]).
    Cvs,
}

impl Rule {
    /// Compiles `pattern` (already stripped of any `"- "`/`"+ "` prefix).
    fn new(kind: RuleKind, pattern: &[u8]) -> Rule {
        // A lone "/" is not a directory rule: rsync only strips the slash
        // from patterns longer than one byte.
        let (body, dir_only) = match pattern.strip_suffix(b"/") {
            Some(body) if !body.is_empty() => (body, true),
            _ => (pattern, false),
        };
        Rule {
            kind,
            negate: false,
            text: pattern.to_vec(),
            dir_only,
            matcher: Matcher::compile(body),
            abs: false,
            link: Link::None,
        }
    }

    /// A placeholder for the list `link` names.
    fn link(link: Link, text: &[u8]) -> Rule {
        let mut rule = Rule::new(RuleKind::Exclude, b"");
        rule.text = text.to_vec();
        rule.link = link;
        rule
    }

    /// This rule read from a per-directory merge file of the directory at `dir` (absolute,
    /// without a trailing slash; empty for `/`): rsync's `XFLG_ANCHORED2ABS`, an anchored
    /// pattern becomes that directory's absolute path followed by the pattern, matched
    /// against absolute paths. Other rules are unchanged.
    pub fn anchored_at(self, dir: &[u8]) -> Rule {
        if self.abs || self.link != Link::None || self.text.first() != Some(&b'/') {
            return self;
        }
        let mut text = dir.to_vec();
        text.extend_from_slice(&self.text);
        let mut rule = Rule::new(self.kind, &text);
        rule.negate = self.negate;
        rule.abs = true;
        rule
    }

    /// [`Rule::matches`], for a walk whose names are relative to `base` (the absolute path
    /// rsync's `curr_dir` holds, without its leading slash): a rule with rsync's
    /// `FILTRULE_ABS_PATH` is matched against `base/name`, unless its pattern looks at the
    /// last component only (rsync tests that first).
    pub fn matches_at(&self, name: &[u8], is_dir: bool, base: &[u8]) -> bool {
        if !self.abs || base.is_empty() || self.matcher.last_component_only() || name.is_empty() {
            return self.matches(name, is_dir);
        }
        let mut full = Vec::with_capacity(base.len() + 1 + name.len());
        full.extend_from_slice(base);
        full.push(b'/');
        full.extend_from_slice(name);
        self.matches(&full, is_dir)
    }

    /// Whether this rule includes or excludes what it matches.
    pub fn kind(&self) -> RuleKind {
        self.kind
    }

    /// The pattern as given (after removing a `"- "`/`"+ "` prefix).
    pub fn pattern(&self) -> &[u8] {
        &self.text
    }

    /// Does this rule match `name` (same conventions as
    /// [`Filter::is_excluded`])?
    pub fn matches(&self, name: &[u8], is_dir: bool) -> bool {
        if name.is_empty() || self.link != Link::None {
            return false;
        }
        // rsync's rule_matches: a directory-only rule "does not match" a non-directory,
        // which a negated rule turns into a match.
        if self.dir_only && !is_dir {
            return self.negate;
        }
        self.matcher.matches(name, is_dir) != self.negate
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.kind {
            RuleKind::Include => '+',
            RuleKind::Exclude => '-',
        };
        write!(f, "{sign} {}", String::from_utf8_lossy(&self.text))
    }
}

/// An ordered include/exclude list; see the module docs for the semantics.
#[derive(Default, Clone, Debug)]
pub struct Filter {
    rules: Vec<Rule>,
    /// The dir-merge rules, in the order they were given; [`Link::DirMerge`] rules index it.
    dir_merges: Vec<DirMerge>,
    /// `-C`'s list when the environment added to it ([`Filter::cvs_environment`]).
    cvs: Option<Vec<Rule>>,
}

/// How a merge file's contents are read: rsync's template rule for them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Template {
    /// `-`/`+` modifier: every rule is a pattern of this kind (no prefixes read).
    pub kind: Option<RuleKind>,
    /// `w`: rules are split on whitespace instead of lines, and no comments are skipped.
    pub word_split: bool,
    /// `C`: a `!` word clears the list (it is a pattern with `-` or `+` alone).
    pub cvs: bool,
}

/// A `dir-merge`/`:` rule: the file of that name is read in every directory the walk
/// lists, its rules tried where this rule stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirMerge {
    /// The file's name as given (a name with a `/` also names where the scan of the
    /// directories above the transfer starts; see [`crate::scan::dirmerge`]).
    pub file: Vec<u8>,
    /// How its contents are read.
    pub template: Template,
    /// `n` (and `C`): a directory's rules are not inherited by its subdirectories.
    pub no_inherit: bool,
}

impl DirMerge {
    /// The name looked for in each directory: rsync keeps the last component only.
    pub fn name(&self) -> &[u8] {
        last_component(&self.file)
    }
}

/// One rule of a merge file, as [`parse_merge_contents`] reads it.
#[derive(Debug)]
pub enum MergeItem {
    /// A `!` rule: the rules of this list so far, inherited ones included, are dropped.
    Clear,
    /// A rule to try.
    Add(Rule),
    /// A dir-merge rule, as written: in a merge file read when the scan starts it is added
    /// where it stands, as rsync adds it; a per-directory file cannot hold one here.
    DirMerge(Vec<u8>),
}

/// rsync's default CVS ignore list (its `DEFAULT_CVSIGNORE`, from the manual), split on
/// whitespace like all CVS ignore names.
const DEFAULT_CVSIGNORE: &[u8] = b"RCS SCCS CVS CVS.adm RCSLOG cvslog.* tags TAGS .make.state \
.nse_depinfo *~ #* .#* ,* _$* *$ *.old *.bak *.BAK *.orig *.rej .del-* *.a *.olb *.o *.obj *.so \
*.exe *.Z *.elc *.ln core .svn/ .git/ .hg/ .bzr/";

/// The template of `-C`'s list and of `:C` files: exclude patterns split on whitespace.
const CVS_TEMPLATE: Template = Template {
    kind: Some(RuleKind::Exclude),
    word_split: true,
    cvs: true,
};

/// rsync's CVS ignore list from its default names alone.
fn default_cvs_rules() -> &'static [Rule] {
    static RULES: std::sync::OnceLock<Vec<Rule>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        let mut rules = Vec::new();
        apply_items(&mut rules, cvs_items(DEFAULT_CVSIGNORE));
        rules
    })
}

fn cvs_items(words: &[u8]) -> Vec<MergeItem> {
    // The template reads no rule syntax, so nothing in it can fail.
    parse_merge_contents(words, CVS_TEMPLATE).unwrap_or_default()
}

fn apply_items(rules: &mut Vec<Rule>, items: Vec<MergeItem>) {
    for item in items {
        match item {
            MergeItem::Clear => rules.clear(),
            MergeItem::Add(rule) => rules.push(rule),
            // The CVS template reads no rule syntax.
            MergeItem::DirMerge(_) => {}
        }
    }
}

/// The rules of a merge file read with `template`: lines (LF, CR or CR LF) or, with
/// `word_split`, whitespace-separated words; blank ones skipped, and in line mode those
/// starting with `#` or `;`. Each is a pattern of the template's kind or a rule in full
/// syntax.
///
/// # Errors
/// A rule [`parse_filter_rule`] refuses, a `.` merge rule (fimsum reads no further file
/// from a merge file), or a line longer than 5119 bytes. A dir-merge rule is handed back
/// as written ([`MergeItem::DirMerge`]).
pub fn parse_merge_contents(
    contents: &[u8],
    template: Template,
) -> Result<Vec<MergeItem>, PatternError> {
    let mut items = Vec::new();
    let pieces: Vec<&[u8]> = if template.word_split {
        contents
            .split(|b| b.is_ascii_whitespace() || *b == 0x0b)
            .collect()
    } else {
        contents.split(|b| *b == b'\n' || *b == b'\r').collect()
    };
    for piece in pieces {
        if piece.len() > MAX_LINE_LEN {
            return Err(PatternError::new(piece, "filter line too long"));
        }
        let piece = piece.split(|&b| b == 0).next().unwrap_or_default();
        if piece.is_empty() || (!template.word_split && matches!(piece[0], b';' | b'#')) {
            continue;
        }
        match template.kind {
            Some(_) if template.cvs && piece == b"!" => items.push(MergeItem::Clear),
            Some(kind) => {
                if piece.len() >= MAX_PATTERN_LEN {
                    return Err(PatternError::new(
                        piece,
                        "filter pattern too long (rsync would discard it)",
                    ));
                }
                items.push(MergeItem::Add(Rule::new(kind, piece)));
            }
            None => match parse_filter_rule(piece)? {
                FilterRule::Clear => items.push(MergeItem::Clear),
                FilterRule::Add(rule) => items.push(MergeItem::Add(rule)),
                FilterRule::Cvs => items.push(MergeItem::Add(Rule::link(Link::Cvs, piece))),
                FilterRule::Inert => {}
                FilterRule::DirMerge { .. } => items.push(MergeItem::DirMerge(piece.to_vec())),
                FilterRule::Merge { .. } => {
                    return Err(PatternError::new(
                        piece,
                        "a merge rule inside a merge file is not emulated by fimsum",
                    ))
                }
            },
        }
    }
    Ok(items)
}

/// What one old-style rule string asks for.
enum Directive {
    Nothing,
    Clear,
    Add(Rule),
}

/// How the rules in a `--*-from` file are separated.
#[derive(Clone, Copy)]
enum Separator {
    /// Newline, carriage return or CR LF (rsync's default).
    Lines,
    /// NUL bytes (rsync's `--from0`).
    Nul,
}

impl Filter {
    /// An empty filter, which excludes nothing.
    pub fn new() -> Filter {
        Filter::default()
    }

    /// `--exclude PATTERN`; a `"+ "` prefix turns it into an include.
    ///
    /// # Errors
    /// A bare `"- "`/`"+ "` (rsync: "unexpected end of filter rule", exit
    /// code 1), a NUL byte, or a pattern of 4096+ bytes. The filter is left
    /// unchanged.
    pub fn exclude(&mut self, pattern: &[u8]) -> Result<(), PatternError> {
        self.add_option(pattern, RuleKind::Exclude)
    }

    /// `--include PATTERN`; a `"- "` prefix turns it into an exclude.
    ///
    /// # Errors
    /// As for [`Filter::exclude`].
    pub fn include(&mut self, pattern: &[u8]) -> Result<(), PatternError> {
        self.add_option(pattern, RuleKind::Include)
    }

    /// `--exclude-from`: file contents; blank lines and lines starting with
    /// ';' or '#' skipped, as rsync does. Lines end at LF, CR or CR LF; each
    /// line is then treated like an `--exclude` argument (so `"+ "` lines
    /// include and a `"!"` line clears all rules so far).
    ///
    /// # Errors
    /// A line that [`Filter::exclude`] would reject, or a line longer than
    /// 5119 bytes. The rules of the lines before it have been applied, but
    /// rsync would have stopped, so the filter should not be used.
    pub fn exclude_from(&mut self, contents: &[u8]) -> Result<(), PatternError> {
        self.add_file(contents, RuleKind::Exclude, Separator::Lines)
    }

    /// `--include-from`: like [`Filter::exclude_from`] with include as the
    /// default kind.
    ///
    /// # Errors
    /// As for [`Filter::exclude_from`].
    pub fn include_from(&mut self, contents: &[u8]) -> Result<(), PatternError> {
        self.add_file(contents, RuleKind::Include, Separator::Lines)
    }

    /// `--exclude-from` combined with `--from0`: rules end at NUL bytes only.
    ///
    /// # Errors
    /// As for [`Filter::exclude_from`].
    pub fn exclude_from0(&mut self, contents: &[u8]) -> Result<(), PatternError> {
        self.add_file(contents, RuleKind::Exclude, Separator::Nul)
    }

    /// `--include-from` combined with `--from0`.
    ///
    /// # Errors
    /// As for [`Filter::exclude_from`].
    pub fn include_from0(&mut self, contents: &[u8]) -> Result<(), PatternError> {
        self.add_file(contents, RuleKind::Include, Separator::Nul)
    }

    /// True when no rule is in force (nothing can be excluded).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules in force, in the order they are tried.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Is this entry excluded? `name` is the path exactly as rsync's %n
    /// prints it relative to the transfer root but WITHOUT a trailing slash
    /// and unescaped (raw bytes), e.g. b"sub/file" for source `src/`, or
    /// b"src/sub/file" for source `src` (no slash). `is_dir` says whether it
    /// is a directory (a symlink to one is not: rsync -a does not follow it).
    /// The root entry "." is never passed in (rsync never filters it); for a
    /// source without trailing slash the top entry b"src" itself must be
    /// asked, as rsync filters it too, and `/src/...` patterns match below it.
    ///
    /// The first matching rule decides; an excluded directory's contents
    /// must not be offered at all (rsync never looks inside it).
    pub fn is_excluded(&self, name: &[u8], is_dir: bool) -> bool {
        self.is_excluded_in(name, is_dir, &[] as &[Vec<Rule>], b"")
    }

    /// [`Filter::is_excluded`] in a directory of the walk: `per_dir[i]` holds the rules
    /// in force there for dir-merge rule `i` ([`Filter::dir_merges`]; missing ones are
    /// empty), and `base` is the absolute path the names are relative to, without its
    /// leading slash (for rules matched on absolute paths).
    pub fn is_excluded_in<L: AsRef<[Rule]>>(
        &self,
        name: &[u8],
        is_dir: bool,
        per_dir: &[L],
        base: &[u8],
    ) -> bool {
        self.decide(&self.rules, name, is_dir, per_dir, base) == Some(RuleKind::Exclude)
    }

    /// rsync's `check_filter`: the first rule of `rules` that matches, a placeholder's
    /// list tried in its place.
    fn decide<L: AsRef<[Rule]>>(
        &self,
        rules: &[Rule],
        name: &[u8],
        is_dir: bool,
        per_dir: &[L],
        base: &[u8],
    ) -> Option<RuleKind> {
        for rule in rules {
            let found = match rule.link {
                Link::None => rule.matches_at(name, is_dir, base).then_some(rule.kind),
                Link::DirMerge(i) => per_dir
                    .get(i)
                    .and_then(|list| self.decide(list.as_ref(), name, is_dir, per_dir, base)),
                Link::Cvs => self.decide(self.cvs_rules(), name, is_dir, per_dir, base),
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// A `!` rule: every rule so far goes, dir-merge rules too (rsync then reads their
    /// files no more, and may be given the same name again).
    fn clear(&mut self) {
        self.rules.clear();
        self.dir_merges.clear();
    }

    /// The dir-merge rules given, in order: the walk reads their files.
    pub fn dir_merges(&self) -> &[DirMerge] {
        &self.dir_merges
    }

    /// `-C`'s list: rsync's default names, then those of `$HOME/.cvsignore` and
    /// `$CVSIGNORE` if [`Filter::cvs_environment`] gave them.
    pub fn cvs_rules(&self) -> &[Rule] {
        self.cvs.as_deref().unwrap_or_else(|| default_cvs_rules())
    }

    /// The names `-C` adds from the environment (`$HOME/.cvsignore`'s contents, then
    /// `$CVSIGNORE`, whitespace-separated; a `!` clears the list so far), resolved when
    /// the scan was asked for so that a check uses the same list.
    pub fn cvs_environment(&mut self, words: &[u8]) {
        let mut rules = default_cvs_rules().to_vec();
        apply_items(&mut rules, cvs_items(words));
        self.cvs = Some(rules);
    }

    /// `--filter='. FILE'` (or `merge` with modifiers) with the file's `contents`.
    ///
    /// # Errors
    /// As for [`Filter::merge`], and a rule that is not a merge rule.
    pub fn merge_rule(&mut self, rule: &[u8], contents: &[u8]) -> Result<(), PatternError> {
        match parse_filter_rule(rule)? {
            FilterRule::Merge {
                file,
                kind,
                word_split,
                exclude_self,
            } => {
                if exclude_self {
                    self.rules
                        .push(Rule::new(RuleKind::Exclude, last_component(&file)));
                }
                let template = Template {
                    kind,
                    word_split,
                    cvs: false,
                };
                let items = parse_merge_contents(contents, template)?;
                for item in items {
                    match item {
                        MergeItem::Clear => self.clear(),
                        MergeItem::Add(rule) => self.rules.push(rule),
                        MergeItem::DirMerge(text) => self.filter_rule(&text)?,
                    }
                }
                Ok(())
            }
            _ => Err(PatternError::new(rule, "not a merge rule")),
        }
    }

    /// `--filter RULE` (`-f`), in rsync's full rule syntax. A merge rule cannot be given
    /// here: its file is read by the caller and handed to [`Filter::merge`].
    ///
    /// # Errors
    /// As for [`parse_filter_rule`], and a merge rule.
    pub fn filter_rule(&mut self, text: &[u8]) -> Result<(), PatternError> {
        match parse_filter_rule(text)? {
            FilterRule::Clear => self.clear(),
            FilterRule::Add(rule) => self.rules.push(rule),
            FilterRule::Inert => {}
            FilterRule::Cvs => self.rules.push(Rule::link(Link::Cvs, text)),
            FilterRule::DirMerge {
                merge,
                exclude_self,
            } => {
                if exclude_self {
                    self.rules.push(Rule::new(RuleKind::Exclude, merge.name()));
                }
                // rsync's add_rule: a file name already read per directory is not added
                // again.
                if !self.dir_merges.iter().any(|m| m.name() == merge.name()) {
                    let link = Link::DirMerge(self.dir_merges.len());
                    self.rules.push(Rule::link(link, text));
                    self.dir_merges.push(merge);
                }
            }
            FilterRule::Merge { .. } => {
                return Err(PatternError::new(
                    text,
                    "a merge rule needs its file's contents",
                ))
            }
        }
        Ok(())
    }

    /// The contents of a merge rule's file (`--filter='. FILE'`), in the rule's place:
    /// lines ending at LF or CR, blank ones and those starting with `#` or `;` skipped;
    /// each a rule in full syntax, or with `kind` a pattern of that kind.
    ///
    /// # Errors
    /// A line [`Filter::filter_rule`] refuses, a merge rule inside (fimsum reads no file
    /// from here), or a line longer than 5119 bytes.
    pub fn merge(&mut self, contents: &[u8], kind: Option<RuleKind>) -> Result<(), PatternError> {
        for line in contents.split(|b| *b == b'\n' || *b == b'\r') {
            if line.len() > MAX_LINE_LEN {
                return Err(PatternError::new(line, "filter line too long"));
            }
            let line = line.split(|&b| b == 0).next().unwrap_or_default();
            if matches!(line.first(), None | Some(b';' | b'#')) {
                continue;
            }
            match kind {
                Some(kind) => {
                    if line.len() >= MAX_PATTERN_LEN {
                        return Err(PatternError::new(
                            line,
                            "filter pattern too long (rsync would discard it)",
                        ));
                    }
                    self.rules.push(Rule::new(kind, line));
                }
                None => match parse_filter_rule(line)? {
                    FilterRule::Merge { .. } => {
                        return Err(PatternError::new(
                            line,
                            "a merge rule inside a merge file is not emulated by fimsum",
                        ))
                    }
                    _ => self.filter_rule(line)?,
                },
            }
        }
        Ok(())
    }

    fn add_option(&mut self, pattern: &[u8], default: RuleKind) -> Result<(), PatternError> {
        if pattern.contains(&0) {
            return Err(PatternError::new(pattern, "pattern contains a NUL byte"));
        }
        self.apply(pattern, default)
    }

    fn add_file(
        &mut self,
        contents: &[u8],
        default: RuleKind,
        separator: Separator,
    ) -> Result<(), PatternError> {
        let is_end = |b: &u8| match separator {
            Separator::Lines => *b == b'\n' || *b == b'\r',
            Separator::Nul => *b == 0,
        };
        for line in contents.split(is_end) {
            if line.len() > MAX_LINE_LEN {
                return Err(PatternError::new(line, "filter line too long"));
            }
            // rsync handles each line as a C string: a NUL ends it.
            let line = line.split(|&b| b == 0).next().unwrap_or_default();
            if matches!(line.first(), None | Some(b';' | b'#')) {
                continue;
            }
            self.apply(line, default)?;
        }
        Ok(())
    }

    fn apply(&mut self, text: &[u8], default: RuleKind) -> Result<(), PatternError> {
        match parse_old_style(text, default)? {
            Directive::Nothing => {}
            Directive::Clear => self.clear(),
            Directive::Add(rule) => self.rules.push(rule),
        }
        Ok(())
    }
}

/// One `--filter` rule as rsync's `parse_rule_tok` (exclude.c) reads it, for what it does
/// to the sender's listing.
#[derive(Debug)]
pub enum FilterRule {
    /// `!` or `clear`: every rule so far is dropped.
    Clear,
    /// `-`, `+`, `hide`, `show` (and their long names): a rule the listing follows.
    Add(Rule),
    /// A rule that does not change what the sender lists: `protect` and `risk`, any rule
    /// with the `r` (receiver side) modifier, and `x` (xattr name) rules.
    Inert,
    /// `.`/`merge FILE`: the file's rules, read now, take this rule's place. `kind` is the
    /// `-` or `+` modifier: every line is then a pattern of that kind.
    Merge {
        /// The file, as given.
        file: Vec<u8>,
        /// All lines are patterns of this kind (`.-`, `.+`); `None`: full rule syntax.
        kind: Option<RuleKind>,
        /// `w`: the rules are split on whitespace.
        word_split: bool,
        /// `e`: the file's own name is excluded, by a rule before its rules.
        exclude_self: bool,
    },
    /// `:`/`dir-merge FILE`: FILE is read in every directory listed, its rules tried here.
    DirMerge {
        /// The rule.
        merge: DirMerge,
        /// `e`: the file's name is excluded, by a rule before this one.
        exclude_self: bool,
    },
    /// `-C` (`exclude,C`): rsync's CVS ignore list is tried here.
    Cvs,
}

/// Parses one `--filter` rule (rsync's syntax: a rule letter or word, modifiers, then one
/// space or `_` before the pattern).
///
/// # Errors
/// What rsync refuses ("Unknown filter rule", "invalid modifier", "unexpected end of
/// filter rule", "'!' rule has trailing characters"). The modifiers of merge rules (`-`, `+`,
/// `e`, `n`, `w`, `C`) and the `/` (absolute path) modifier are read as rsync reads them.
pub fn parse_filter_rule(text: &[u8]) -> Result<FilterRule, PatternError> {
    let err = |reason: &str| PatternError::new(text, reason);
    if text.contains(&0) {
        return Err(err("pattern contains a NUL byte"));
    }
    if text.is_empty() {
        return Err(err("unexpected end of filter rule"));
    }
    // The rule's letter, and the index of the last byte of the word naming it.
    let word = |name: &[u8]| -> Option<usize> {
        let rest = text.strip_prefix(name)?;
        match rest.first() {
            None | Some(b'_') => Some(name.len() - 1),
            Some(b) if b.is_ascii_whitespace() => Some(name.len() - 1),
            Some(b',') => Some(name.len()),
            _ => None,
        }
    };
    let named = match text[0] {
        b'c' => word(b"clear").map(|i| (b'!', i)),
        b'd' => word(b"dir-merge").map(|i| (b':', i)),
        b'e' => word(b"exclude").map(|i| (b'-', i)),
        b'h' => word(b"hide").map(|i| (b'H', i)),
        b'i' => word(b"include").map(|i| (b'+', i)),
        b'm' => word(b"merge").map(|i| (b'.', i)),
        b'p' => word(b"protect").map(|i| (b'P', i)),
        b'r' => word(b"risk").map(|i| (b'R', i)),
        b's' => word(b"show").map(|i| (b'S', i)),
        c => Some((c, if text.get(1) == Some(&b',') { 1 } else { 0 })),
    };
    let (letter, mut i) = named.ok_or_else(|| err("Unknown filter rule"))?;
    let (mut kind, mut side_given, mut receiver, merge) = match letter {
        b'-' => (RuleKind::Exclude, false, false, false),
        b'+' => (RuleKind::Include, false, false, false),
        b'H' => (RuleKind::Exclude, true, false, false),
        b'S' => (RuleKind::Include, true, false, false),
        b'P' => (RuleKind::Exclude, true, true, false),
        b'R' => (RuleKind::Include, true, true, false),
        b'.' | b':' => (RuleKind::Exclude, false, false, true),
        b'!' => {
            // No modifiers; one separator byte, then nothing.
            let rest = text.get(1..).unwrap_or_default();
            let rest = if named == Some((b'!', 4)) {
                text.get(5..).unwrap_or_default()
            } else {
                rest
            };
            let pattern = rest.get(1..).unwrap_or_default();
            if !pattern.is_empty() {
                return Err(err("'!' rule has trailing characters"));
            }
            return Ok(FilterRule::Clear);
        }
        _ => return Err(err("Unknown filter rule")),
    };
    let per_dir = letter == b':';
    let side_prefix = side_given;
    let mut no_prefixes = false;
    let (mut negate, mut inert) = (false, false);
    let (mut abs, mut cvs, mut word_split, mut no_inherit, mut exclude_self) =
        (false, false, false, false, false);
    loop {
        i += 1;
        let Some(&m) = text.get(i) else { break };
        if m == b' ' || m == b'_' {
            break;
        }
        match m {
            b'-' | b'+' if merge && !no_prefixes => {
                no_prefixes = true;
                kind = if m == b'+' {
                    RuleKind::Include
                } else {
                    RuleKind::Exclude
                };
            }
            b'!' if !merge => negate = true,
            b'p' => {}
            b'r' if !side_given => {
                receiver = true;
                side_given = true;
            }
            b's' if !side_given => side_given = true,
            b'x' => inert = true,
            b'/' => abs = true,
            b'C' if !no_prefixes && !side_prefix => {
                (cvs, no_prefixes, word_split, no_inherit) = (true, true, true, true);
            }
            b'e' if merge => exclude_self = true,
            b'n' if merge => no_inherit = true,
            b'w' if merge => word_split = true,
            _ => return Err(err("invalid modifier in filter rule")),
        }
    }
    // One separator byte, if any, then the pattern.
    let pattern = text.get(i + 1..).unwrap_or_default();
    if pattern.is_empty() && !cvs {
        return Err(err("unexpected end of filter rule"));
    }
    if merge {
        // rsync's parse_filter_str: a merge rule without a name (only `C` allows one)
        // reads `.cvsignore`.
        let file = if pattern.is_empty() {
            b".cvsignore".to_vec()
        } else {
            pattern.to_vec()
        };
        let kind = no_prefixes.then_some(kind);
        if per_dir {
            return Ok(FilterRule::DirMerge {
                merge: DirMerge {
                    file,
                    template: Template {
                        kind,
                        word_split,
                        cvs,
                    },
                    no_inherit,
                },
                exclude_self,
            });
        }
        return Ok(FilterRule::Merge {
            file,
            kind,
            word_split,
            exclude_self,
        });
    }
    if cvs && !receiver && !inert {
        return Ok(FilterRule::Cvs);
    }
    if pattern.len() >= MAX_PATTERN_LEN {
        return Err(PatternError::new(
            pattern,
            "filter pattern too long (rsync would discard it)",
        ));
    }
    if receiver || inert {
        return Ok(FilterRule::Inert);
    }
    let mut rule = Rule::new(kind, pattern);
    rule.negate = negate;
    rule.abs = abs;
    Ok(FilterRule::Add(rule))
}

/// Parses one `--exclude`/`--include` argument the way rsync's
/// "old prefixes" mode does: only `"- "`, `"+ "` and a bare `"!"` are special.
fn parse_old_style(text: &[u8], default: RuleKind) -> Result<Directive, PatternError> {
    let (kind, pattern) = match text {
        [] => return Ok(Directive::Nothing),
        [b'!'] => return Ok(Directive::Clear),
        [b'-', b' ', rest @ ..] => (RuleKind::Exclude, rest),
        [b'+', b' ', rest @ ..] => (RuleKind::Include, rest),
        _ => (default, text),
    };
    if pattern.is_empty() {
        return Err(PatternError::new(text, "unexpected end of filter rule"));
    }
    if pattern.len() >= MAX_PATTERN_LEN {
        return Err(PatternError::new(
            pattern,
            "filter pattern too long (rsync would discard it)",
        ));
    }
    Ok(Directive::Add(Rule::new(kind, pattern)))
}

/// How a rule's pattern is compared with a name; chosen once per rule so that
/// matching never allocates.
#[derive(Clone, Debug)]
enum Matcher {
    /// No wildcard and no `/`: equal to the final path component.
    LiteralName(Vec<u8>),
    /// No wildcard, leading `/` (removed here): equal to the whole path.
    LiteralPath(Vec<u8>),
    /// No wildcard, unanchored, contains `/`: equal to a run of trailing
    /// whole components.
    LiteralTail(Vec<u8>),
    /// Wildcard pattern.
    Wild(WildPattern),
    /// A malformed wildcard pattern (unclosed `[`, unknown `[:class:]`,
    /// trailing `\`): rsync's matcher gives up on it for every name.
    Never,
}

/// A compiled wildcard pattern plus where in the name it is applied.
#[derive(Clone, Debug)]
struct WildPattern {
    tokens: Vec<Token>,
    scope: Scope,
    /// Pattern starts with `**`: match against "/" + name, so that `**/x`
    /// also matches a top-level `x`.
    lead_slash: bool,
    /// Pattern ends with `***`: match directories as name + "/", so that
    /// `dir/***` also matches `dir` itself.
    dir_trail_slash: bool,
    /// For the common `prefix*suffix` shape (`*.o`, `foo*`) applied to the
    /// final component: the literal halves, compared without backtracking.
    split_star: Option<(Vec<u8>, Vec<u8>)>,
}

/// Which part of the name a wildcard pattern must match, from its start to
/// its end.
#[derive(Clone, Copy, Debug)]
enum Scope {
    /// The final component (pattern has no `/` and no `**`).
    LastComponent,
    /// The whole name (anchored, or starting with `**`).
    Whole,
    /// The last N components (unanchored, has `/`, no `**`); names with fewer
    /// components never match.
    LastComponents(usize),
    /// The name from its start or from just after any `/` (unanchored with a
    /// `**` somewhere after the start).
    AnyComponentStart,
}

/// One element of a compiled wildcard pattern.
#[derive(Clone, Debug)]
enum Token {
    /// A literal byte (possibly backslash-escaped in the pattern).
    Byte(u8),
    /// `?`: any byte but `/`.
    AnyByte,
    /// `*`: any run of bytes without `/`.
    Star,
    /// `**` (or more stars): any run of bytes.
    StarStar,
    /// `[...]`: one byte from the set (never `/`).
    Class(ByteSet),
}

impl Token {
    /// Does this single-byte token accept `byte`? (Stars are handled by
    /// `match_star`.)
    fn accepts(&self, byte: u8) -> bool {
        match self {
            Token::Byte(want) => byte == *want,
            Token::AnyByte => byte != b'/',
            Token::Class(set) => set.contains(byte),
            Token::Star | Token::StarStar => false,
        }
    }
}

impl Matcher {
    /// `pattern` has its directory-only trailing slash already removed.
    /// The flags are derived from the raw text, not from the tokens, just as
    /// rsync does: an escaped `\**` still counts as containing `**`.
    fn compile(pattern: &[u8]) -> Matcher {
        let slashes = pattern.iter().filter(|&&b| b == b'/').count();
        let anchored = pattern.first() == Some(&b'/');
        let body = if anchored { &pattern[1..] } else { pattern };
        let is_wild = pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'['));
        if !is_wild {
            return if anchored {
                Matcher::LiteralPath(body.to_vec())
            } else if slashes == 0 {
                Matcher::LiteralName(body.to_vec())
            } else {
                Matcher::LiteralTail(body.to_vec())
            };
        }
        let star2 = pattern.windows(2).position(|w| w == b"**");
        let has_star2 = star2.is_some();
        let starts_star2 = star2 == Some(0);
        let scope = if slashes == 0 && !has_star2 {
            Scope::LastComponent
        } else if anchored || starts_star2 {
            Scope::Whole
        } else if !has_star2 {
            Scope::LastComponents(slashes + 1)
        } else {
            Scope::AnyComponentStart
        };
        match tokenize(body) {
            Some(tokens) => Matcher::Wild(WildPattern {
                split_star: match scope {
                    Scope::LastComponent => split_at_single_star(&tokens),
                    _ => None,
                },
                tokens,
                scope,
                lead_slash: starts_star2,
                dir_trail_slash: has_star2 && pattern.ends_with(b"***"),
            }),
            None => Matcher::Never,
        }
    }

    /// Compares the final path component only, whatever the rest of the name.
    fn last_component_only(&self) -> bool {
        match self {
            Matcher::LiteralName(_) => true,
            Matcher::Wild(wild) => matches!(wild.scope, Scope::LastComponent),
            _ => false,
        }
    }

    fn matches(&self, name: &[u8], is_dir: bool) -> bool {
        match self {
            Matcher::LiteralName(lit) => same_bytes(last_component(name), lit),
            Matcher::LiteralPath(lit) => same_bytes(name, lit),
            Matcher::LiteralTail(lit) => ends_with_components(name, lit),
            Matcher::Wild(wild) => wild.matches(name, is_dir),
            Matcher::Never => false,
        }
    }
}

impl WildPattern {
    fn matches(&self, name: &[u8], is_dir: bool) -> bool {
        let trail_slash = self.dir_trail_slash && is_dir;
        match self.scope {
            Scope::LastComponent => {
                let last = last_component(name);
                match &self.split_star {
                    Some((head, tail)) => {
                        last.len() >= head.len() + tail.len()
                            && same_bytes(&last[..head.len()], head)
                            && same_bytes(&last[last.len() - tail.len()..], tail)
                    }
                    None => match_here(&self.tokens, last, 0) == Outcome::Match,
                }
            }
            Scope::LastComponents(count) => trailing_components(name, count)
                .is_some_and(|tail| match_here(&self.tokens, tail, 0) == Outcome::Match),
            // Only these two scopes can need the virtual slashes; the plain
            // slice keeps the common case free of their bookkeeping.
            Scope::Whole if self.lead_slash || trail_slash => {
                let text = Padded::new(self.lead_slash, name, trail_slash);
                match_here(&self.tokens, text, 0) == Outcome::Match
            }
            Scope::Whole => match_here(&self.tokens, name, 0) == Outcome::Match,
            Scope::AnyComponentStart if trail_slash => {
                match_at_any_component(&self.tokens, Padded::new(false, name, true))
            }
            Scope::AnyComponentStart => match_at_any_component(&self.tokens, name),
        }
    }
}

/// `[literal bytes..., *, literal bytes...]` as its two literal halves.
fn split_at_single_star(tokens: &[Token]) -> Option<(Vec<u8>, Vec<u8>)> {
    let star = tokens.iter().position(|t| matches!(t, Token::Star))?;
    let literal = |part: &[Token]| -> Option<Vec<u8>> {
        part.iter()
            .map(|t| match t {
                Token::Byte(b) => Some(*b),
                _ => None,
            })
            .collect()
    };
    Some((literal(&tokens[..star])?, literal(&tokens[star + 1..])?))
}

/// The text a wildcard pattern is matched against, read byte by byte.
trait Text: Copy {
    fn len(self) -> usize;
    fn at(self, index: usize) -> Option<u8>;

    fn has_slash_from(self, start: usize) -> bool {
        (start..self.len()).any(|i| self.at(i) == Some(b'/'))
    }
}

impl Text for &[u8] {
    fn len(self) -> usize {
        <[u8]>::len(self)
    }

    fn at(self, index: usize) -> Option<u8> {
        self.get(index).copied()
    }
}

/// A name with a virtual "/" before and/or after it, which is how rsync lets
/// `**/x` match a top-level `x` and `dir/***` match `dir` itself, without
/// allocating a copy per call.
#[derive(Clone, Copy)]
struct Padded<'a> {
    lead: usize,
    body: &'a [u8],
    trail_slash: bool,
}

impl<'a> Padded<'a> {
    fn new(lead_slash: bool, body: &'a [u8], trail_slash: bool) -> Padded<'a> {
        Padded {
            lead: usize::from(lead_slash),
            body,
            trail_slash,
        }
    }
}

impl Text for Padded<'_> {
    fn len(self) -> usize {
        self.lead + self.body.len() + usize::from(self.trail_slash)
    }

    fn at(self, index: usize) -> Option<u8> {
        let Some(index) = index.checked_sub(self.lead) else {
            return Some(b'/');
        };
        match self.body.get(index) {
            Some(&b) => Some(b),
            None if self.trail_slash && index == self.body.len() => Some(b'/'),
            None => None,
        }
    }
}

/// Result of matching a pattern tail at one position. The two abort values
/// prune hopeless backtracking (they keep matching polynomial, like rsync's
/// matcher, whose results they must reproduce):
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Match,
    NoMatch,
    /// The text ran out: no later start position can match either.
    AbortAll,
    /// A single `*` hit a `/`: only an enclosing `**` may still succeed by
    /// consuming more.
    AbortToStarStar,
}

/// Matches all of `tokens` against `text` from `pos` to its end.
fn match_here<T: Text>(tokens: &[Token], text: T, mut pos: usize) -> Outcome {
    for (index, token) in tokens.iter().enumerate() {
        let cross_slash = match token {
            Token::Star => false,
            Token::StarStar => true,
            _ => {
                let Some(byte) = text.at(pos) else {
                    return Outcome::AbortAll;
                };
                if !token.accepts(byte) {
                    return Outcome::NoMatch;
                }
                pos += 1;
                continue;
            }
        };
        return match_star(&tokens[index + 1..], text, pos, cross_slash);
    }
    if pos == text.len() {
        Outcome::Match
    } else {
        Outcome::NoMatch
    }
}

/// A `*` (`cross_slash == false`) or `**` at `pos`, followed by `rest`: try
/// every length of the starred run, shortest first.
fn match_star<T: Text>(rest: &[Token], text: T, mut pos: usize, cross_slash: bool) -> Outcome {
    if rest.is_empty() {
        return if cross_slash || !text.has_slash_from(pos) {
            Outcome::Match
        } else {
            Outcome::NoMatch
        };
    }
    // Cheap pre-check of the byte after the starred run: most positions fail
    // right there, and skipping the call is what makes `**/x` fast.
    let next_is_star = matches!(rest.first(), Some(Token::Star | Token::StarStar));
    while let Some(byte) = text.at(pos) {
        let outcome = if next_is_star || rest.first().is_some_and(|t| t.accepts(byte)) {
            match_here(rest, text, pos)
        } else {
            Outcome::NoMatch
        };
        match outcome {
            Outcome::NoMatch if !cross_slash && byte == b'/' => return Outcome::AbortToStarStar,
            Outcome::NoMatch => {}
            Outcome::AbortToStarStar if cross_slash => {}
            done => return done,
        }
        pos += 1;
    }
    Outcome::AbortAll
}

/// Unanchored `**` patterns: try the start of the name, then after each `/`.
fn match_at_any_component<T: Text>(tokens: &[Token], text: T) -> bool {
    let mut outcome = match_here(tokens, text, 0);
    let mut pos = 0;
    while !matches!(outcome, Outcome::Match | Outcome::AbortAll) {
        let Some(slash) = (pos..text.len()).find(|&i| text.at(i) == Some(b'/')) else {
            return false;
        };
        pos = slash + 1;
        outcome = match_here(tokens, text, pos);
    }
    outcome == Outcome::Match
}

/// Slice equality as a plain loop. The patterns' literals are short, and on
/// some CPUs glibc's vectorised memcmp (what `==` calls) costs ~100 ns per
/// call on such short inputs, which dominated `is_excluded`.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn last_component(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b'/') {
        Some(slash) => &name[slash + 1..],
        None => name,
    }
}

/// The last `count` slash-separated components of `name`, or None if it has
/// fewer.
fn trailing_components(name: &[u8], count: usize) -> Option<&[u8]> {
    let mut seen = 0;
    for (index, &b) in name.iter().enumerate().rev() {
        if b == b'/' {
            seen += 1;
            if seen == count {
                return Some(&name[index + 1..]);
            }
        }
    }
    (seen + 1 == count).then_some(name)
}

/// Does `name` end with `tail`, starting at a component boundary?
fn ends_with_components(name: &[u8], tail: &[u8]) -> bool {
    let Some(start) = name.len().checked_sub(tail.len()) else {
        return false;
    };
    same_bytes(&name[start..], tail) && (start == 0 || name[start - 1] == b'/')
}

/// Splits a wildcard pattern into tokens; None if rsync's matcher would
/// reject it whenever it got that far, i.e. the pattern can never match.
fn tokenize(pattern: &[u8]) -> Option<Vec<Token>> {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut i = 0;
    while let Some(&b) = pattern.get(i) {
        i += 1;
        let token = match b {
            b'\\' => {
                let escaped = *pattern.get(i)?;
                i += 1;
                Token::Byte(escaped)
            }
            b'?' => Token::AnyByte,
            b'*' => {
                let run = pattern[i..].iter().take_while(|&&c| c == b'*').count();
                i += run;
                if run == 0 {
                    Token::Star
                } else {
                    Token::StarStar
                }
            }
            b'[' => {
                let (set, next) = parse_class(pattern, i)?;
                i = next;
                Token::Class(set)
            }
            _ => Token::Byte(b),
        };
        tokens.push(token);
    }
    Some(tokens)
}

/// A set of bytes, one bit each.
#[derive(Clone, Copy, Debug, Default)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    fn insert_range(&mut self, low: u8, high: u8) {
        for b in low..=high {
            self.insert(b);
        }
    }

    fn insert_where(&mut self, pred: fn(u8) -> bool) {
        for b in 0..=u8::MAX {
            if pred(b) {
                self.insert(b);
            }
        }
    }

    fn remove(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] &= !(1 << (b & 63));
    }

    fn invert(&mut self) {
        for word in &mut self.0 {
            *word = !*word;
        }
    }

    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }
}

/// Parses a bracket expression whose `[` precedes `start`; returns the set and
/// the index just past the closing `]`, or None if it is malformed.
///
/// rsync's rules: `!` or `^` first negates; a `]` right after that is literal;
/// `\` escapes; `a-z` is a range unless the `-` is first or last (a reversed
/// range is empty); `[:name:]` is a POSIX class and an unknown name is an
/// error; a `[:` without a closing `:]` is just a literal `[`. The result never
/// contains `/`.
fn parse_class(pattern: &[u8], start: usize) -> Option<(ByteSet, usize)> {
    let mut set = ByteSet::default();
    let mut i = start;
    let negated = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    // The previous single byte, which a following '-' may extend to a range.
    let mut prev: Option<u8> = None;
    loop {
        let b = *pattern.get(i)?;
        prev = match b {
            b'\\' => {
                i += 1;
                let escaped = *pattern.get(i)?;
                set.insert(escaped);
                Some(escaped)
            }
            b'-' if prev.is_some() && !matches!(pattern.get(i + 1), None | Some(b']')) => {
                i += 1;
                let mut high = *pattern.get(i)?;
                if high == b'\\' {
                    i += 1;
                    high = *pattern.get(i)?;
                }
                let low = prev.unwrap_or(high);
                if low <= high {
                    set.insert_range(low, high);
                }
                None
            }
            b'[' if pattern.get(i + 1) == Some(&b':') => match posix_class(pattern, i + 2)? {
                BracketColon::Class(test, close) => {
                    set.insert_where(test);
                    i = close;
                    None
                }
                BracketColon::Literal => {
                    set.insert(b'[');
                    Some(b'[')
                }
            },
            _ => {
                set.insert(b);
                Some(b)
            }
        };
        i += 1;
        if *pattern.get(i)? == b']' {
            break;
        }
    }
    if negated {
        set.invert();
    }
    set.remove(b'/');
    Some((set, i + 1))
}

/// What a `[:` inside a bracket expression turned out to be.
enum BracketColon {
    /// No `:]` before the next `]`: the `[` is an ordinary member.
    Literal,
    /// A POSIX class: its membership test and the index of its closing `]`.
    Class(fn(u8) -> bool, usize),
}

/// Looks at a `[:name:]` whose name starts at `start`. None means the pattern
/// is malformed: no `]` follows, or the class name is unknown.
fn posix_class(pattern: &[u8], start: usize) -> Option<BracketColon> {
    let close = start + pattern.get(start..)?.iter().position(|&b| b == b']')?;
    if close == start || pattern[close - 1] != b':' {
        return Some(BracketColon::Literal);
    }
    let test: fn(u8) -> bool = match &pattern[start..close - 1] {
        b"alnum" => |b| b.is_ascii_alphanumeric(),
        b"alpha" => |b| b.is_ascii_alphabetic(),
        b"blank" => |b| b == b' ' || b == b'\t',
        b"cntrl" => |b| b.is_ascii_control(),
        b"digit" => |b| b.is_ascii_digit(),
        b"graph" => |b| b.is_ascii_graphic(),
        b"lower" => |b| b.is_ascii_lowercase(),
        b"print" => |b| b == b' ' || b.is_ascii_graphic(),
        b"punct" => |b| b.is_ascii_punctuation(),
        // C's isspace() includes the vertical tab, unlike is_ascii_whitespace.
        b"space" => |b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
        b"upper" => |b| b.is_ascii_uppercase(),
        b"xdigit" => |b| b.is_ascii_hexdigit(),
        _ => return None,
    };
    Some(BracketColon::Class(test, close))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a filter from `(kind, pattern)` pairs, `'-'` for exclude.
    fn filter(rules: &[(char, &str)]) -> Filter {
        let mut f = Filter::new();
        for &(kind, pattern) in rules {
            let result = match kind {
                '+' => f.include(pattern.as_bytes()),
                _ => f.exclude(pattern.as_bytes()),
            };
            if let Err(e) = result {
                panic!("rule {kind} {pattern:?} rejected: {e}");
            }
        }
        f
    }

    fn excludes(pattern: &str, name: &str, is_dir: bool) -> bool {
        filter(&[('-', pattern)]).is_excluded(name.as_bytes(), is_dir)
    }

    /// Asserts which of `names` (files unless they end in '/') one exclude
    /// pattern hits.
    fn check(pattern: &str, hit: &[&str], miss: &[&str]) {
        for (names, want) in [(hit, true), (miss, false)] {
            for name in names {
                let (name, is_dir) = match name.strip_suffix('/') {
                    Some(dir) => (dir, true),
                    None => (*name, false),
                };
                assert_eq!(
                    excludes(pattern, name, is_dir),
                    want,
                    "pattern {pattern:?} on {name:?} (dir: {is_dir})"
                );
            }
        }
    }

    #[test]
    fn empty_filter_excludes_nothing() {
        let f = Filter::new();
        assert!(f.is_empty());
        assert!(!f.is_excluded(b"a", false));
        assert!(!filter(&[('-', "a")]).is_empty());
    }

    #[test]
    fn literal_without_slash_matches_last_component() {
        check(
            "foo",
            &["foo", "a/foo", "a/b/foo/", "foo/"],
            &["foox", "xfoo", "foo/a", "a/foo/b"],
        );
    }

    #[test]
    fn literal_anchored_matches_whole_path() {
        check("/foo", &["foo", "foo/"], &["a/foo", "foo/a"]);
        check("/a/foo", &["a/foo"], &["b/a/foo", "foo"]);
        check("/src/sub", &["src/sub/"], &["sub", "x/src/sub"]);
    }

    #[test]
    fn literal_with_slash_matches_trailing_components() {
        check(
            "foo/bar",
            &["foo/bar", "x/foo/bar", "x/y/foo/bar/"],
            &["xfoo/bar", "foo/bar/z", "bar"],
        );
    }

    #[test]
    fn trailing_slash_means_directories_only() {
        check("foo/", &["foo/", "a/foo/"], &["foo", "a/foo"]);
        check("a/foo/", &["a/foo/", "x/a/foo/"], &["a/foo"]);
        check("/foo/", &["foo/"], &["foo", "a/foo/"]);
        check("f*/", &["foo/"], &["foo"]);
    }

    #[test]
    fn lone_slashes_match_nothing() {
        check("/", &[], &["a", "a/"]);
        check("//", &[], &["a", "a/"]);
    }

    #[test]
    fn single_star_stays_within_a_component() {
        check("*.o", &["a.o", "x/a.o", ".o"], &["a.c", "a.o/b", "a.od"]);
        check("a*", &["a", "abc", "d/ab"], &["ba"]);
        check("a/*", &["a/b", "x/a/b/"], &["a/b/c", "a"]);
        check("/a/*", &["a/b"], &["x/a/b", "a/b/c"]);
        check("*/b", &["a/b", "x/a/b"], &["b"]);
    }

    #[test]
    fn double_star_crosses_slashes() {
        check("a/**", &["a/b", "a/b/c", "x/a/b"], &["a", "xa/b"]);
        check("/a/**", &["a/b", "a/b/c/"], &["x/a/b", "a"]);
        check("**/b", &["b", "a/b", "a/c/b"], &["ab", "b/c"]);
        check("**b", &["b", "ab", "a/xb"], &["b/c"]);
        check("a**", &["a", "abc", "x/abc", "a/b/c"], &["ba", "x/ba"]);
        check("**", &["a", "a/b/"], &[]);
        // "**" needs the slashes around it, so no zero-directory match.
        check("/a/**/b", &["a/x/b", "a/x/y/b"], &["a/b"]);
        check("a/**/b", &["a/x/b", "z/a/x/y/b/"], &["a/b", "za/x/b"]);
        // Any run of stars of length >= 2 is "**".
        check("a***b", &["a/x/b", "ab"], &[]);
    }

    #[test]
    fn triple_star_suffix_matches_dir_and_contents() {
        check(
            "sub/***",
            &["sub/", "sub/a", "sub/a/b/", "x/sub/", "x/sub/a"],
            &["sub", "xsub/a"],
        );
        check("/sub/***", &["sub/", "sub/a"], &["x/sub/", "sub"]);
        check("***", &["a", "a/b/"], &[]);
    }

    #[test]
    fn question_mark_is_one_non_slash_byte() {
        check("?", &["a", "x/b"], &["ab", ""]);
        check("a?c", &["abc"], &["ac", "abbc"]);
        check("a?b/c", &["axb/c", "d/axb/c"], &["ax/b/c", "a/b/c"]);
        check("/a?b", &[], &["a/b"]);
        // é is two bytes in UTF-8.
        check("?", &[], &["é"]);
        check("??", &["é"], &[]);
    }

    #[test]
    fn character_classes() {
        check("[abc]", &["a", "c"], &["d", "ab"]);
        check("[a-c]x", &["bx"], &["dx"]);
        check("[!a-c]", &["d", "-"], &["a", "b"]);
        check("[^a-c]", &["d"], &["c"]);
        check("[]a]", &["]", "a"], &["b"]);
        check("[!]a]", &["b"], &["]", "a"]);
        check("[a-]", &["a", "-"], &["b"]);
        check("[-a]", &["a", "-"], &["b"]);
        // The "c" itself is a member before the (empty) range is seen.
        check("[c-a]", &["c"], &["a", "b"]);
        check("[a\\]]", &["a", "]"], &["\\"]);
        check("[\\a-c]", &["b"], &["\\"]);
        check("[a-\\c]", &["b"], &["d"]);
        check("[a-c-e]", &["b", "-", "e"], &["d"]);
        check("[!a]", &["b"], &["a", "é"]);
        check("a[/]b", &[], &["a/b"]);
        // A '/' inside brackets still counts as a component separator when
        // deciding how many trailing components an unanchored pattern needs.
        check("su[b/]", &[], &["sub", "x/sub", "x/su/"]);
        check("/su[b/]", &["sub"], &["x/sub"]);
        check("a[!x]b", &[], &["a/b"]);
    }

    #[test]
    fn posix_classes_are_ascii_only() {
        check("[[:alpha:]]", &["a", "Z"], &["1", "_", "é"]);
        check("[[:digit:]x]", &["5", "x"], &["a"]);
        check("[![:alnum:]]", &["_", " "], &["a", "1"]);
        check("[[:space:]]", &[" ", "\t", "\u{b}"], &["a"]);
        check("[[:blank:]]", &[" ", "\t"], &["\u{b}"]);
        check("[[:punct:]]", &["!", "~"], &["a", " "]);
        check("[[:print:]]", &[" ", "~"], &["\u{7f}"]);
        check("[[:graph:]]", &["~"], &[" "]);
        check("[[:cntrl:]]", &["\u{1}", "\u{7f}"], &["a"]);
        check("[[:upper:][:lower:]]", &["a", "A"], &["1"]);
        check("[[:xdigit:]]", &["f", "F", "0"], &["g"]);
        let mut f = Filter::new();
        assert!(f.exclude(b"[[:alpha:][:print:]]").is_ok());
        assert!(!f.is_excluded(b"\xe9", false));
        assert!(f.is_excluded(b"e", false));
    }

    #[test]
    fn bracket_colon_without_closing_colon_is_literal() {
        // "[[:x]" is the set {'[', ':', 'x'}.
        check("[[:x]", &["[", ":", "x"], &["]"]);
        check("[[:]", &["[", ":"], &["]"]);
    }

    #[test]
    fn malformed_patterns_never_match() {
        check("[abc", &[], &["[abc", "a"]);
        check("*[", &[], &["x["]);
        check("[[:foo:]]", &[], &["f", "[[:foo:]]"]);
        check("[[::]]", &[], &[":"]);
        check("[a-\\", &[], &["a"]);
        check("*\\", &[], &["a\\", "a"]);
    }

    #[test]
    fn backslash_escapes_only_in_wildcard_patterns() {
        check("a\\b", &["a\\b"], &["ab"]);
        check("a\\b*", &["ab", "abc"], &["a\\b"]);
        check("star\\*", &["star*"], &["starx"]);
        check("\\[lit]", &["[lit]"], &["l"]);
        check("[lit]", &["l", "t"], &["[lit]"]);
        // An escaped "**" still makes rsync treat the pattern as a "**" one.
        check("\\**x", &["*ax", "d/*ax"], &["ax", "*a/bx"]);
    }

    #[test]
    fn prefixes_and_clear() {
        let f = filter(&[('-', "+ a.o"), ('-', "*")]);
        assert!(!f.is_excluded(b"a.o", false));
        assert!(f.is_excluded(b"b.o", false));
        let f = filter(&[('+', "- a.o")]);
        assert!(f.is_excluded(b"a.o", false));
        // Only "- " and "+ " with exactly one space are prefixes.
        check("-", &["-"], &["a"]);
        check("-a", &["-a"], &["a"]);
        check("- - a", &["- a"], &["a"]);
        check("-  a", &[" a"], &["a"]);
        check("!x", &["!x"], &["x"]);
        check("- !", &["!"], &["a"]);
        check("! ", &["! "], &["!"]);
        check(". FILE", &[". FILE"], &["FILE"]);
        check(": x", &[": x"], &["x"]);
        check("foo ", &["foo "], &["foo"]);
        let f = filter(&[('-', "a"), ('-', "!"), ('-', "b")]);
        assert_eq!(f.rules().len(), 1);
        assert!(!f.is_excluded(b"a", false));
        assert!(f.is_excluded(b"b", false));
        let f = filter(&[('-', "a"), ('+', "!")]);
        assert!(f.is_empty());
    }

    #[test]
    fn first_match_wins() {
        let f = filter(&[('+', "*.c"), ('-', "*")]);
        assert!(!f.is_excluded(b"x/a.c", false));
        assert!(f.is_excluded(b"x/a.h", false));
        let f = filter(&[('-', "*"), ('+', "*.c")]);
        assert!(f.is_excluded(b"a.c", false));
        let f = filter(&[('+', "*/"), ('+', "*.c"), ('-', "*")]);
        assert!(!f.is_excluded(b"dir", true));
        assert!(f.is_excluded(b"dir", false));
    }

    #[test]
    fn rejected_rules() {
        let mut f = Filter::new();
        assert!(f.exclude(b"").is_ok());
        assert!(f.is_empty());
        for bad in [&b"- "[..], b"+ ", b"a\0b"] {
            assert!(f.exclude(bad).is_err(), "{bad:?}");
            assert!(f.include(bad).is_err(), "{bad:?}");
        }
        assert!(f.exclude(&[b'q'; MAX_PATTERN_LEN - 1]).is_ok());
        assert!(f.exclude(&[b'q'; MAX_PATTERN_LEN]).is_err());
        let mut long = b"- ".to_vec();
        long.extend([b'q'; MAX_PATTERN_LEN - 1]);
        assert!(f.exclude(&long).is_ok());
        assert_eq!(f.rules().len(), 2);
        let e = PatternError::new(b"- ", "unexpected end of filter rule");
        assert_eq!(e.to_string(), "unexpected end of filter rule: \"- \"");
    }

    #[test]
    fn exclude_from_lines() {
        let mut f = Filter::new();
        let file = b"a.o\r\n\n;comment\n#comment\r  sub\n+ keep\nb\0ignored\n! \n*.x\n";
        assert!(f.exclude_from(file).is_ok());
        let patterns: Vec<&[u8]> = f.rules().iter().map(Rule::pattern).collect();
        assert_eq!(
            patterns,
            [&b"a.o"[..], b"  sub", b"keep", b"b", b"! ", b"*.x"]
        );
        assert_eq!(f.rules()[2].kind(), RuleKind::Include);
        assert!(f.is_excluded(b"d/a.o", false));
        assert!(!f.is_excluded(b"sub", true));
        assert!(!f.is_excluded(b"ignored", false));
        assert_eq!(f.rules()[0].to_string(), "- a.o");
    }

    #[test]
    fn rule_files_clear_and_fail_like_rsync() {
        let mut f = filter(&[('-', "sub")]);
        assert!(f.exclude_from(b"a\n!\nb\n").is_ok());
        assert_eq!(f.rules().len(), 1);
        let mut f = Filter::new();
        assert!(f.exclude_from(b"a\n- \nb\n").is_err());
        let mut f = Filter::new();
        let mut long = vec![b'#'; MAX_LINE_LEN + 1];
        long.push(b'\n');
        assert!(f.exclude_from(&long).is_err());
        assert!(
            f.exclude_from(&long[1..]).is_ok(),
            "a comment of the maximum length"
        );
        let mut f = Filter::new();
        assert!(f.include_from(b"a\n- b\n").is_ok());
        assert_eq!(f.rules()[0].kind(), RuleKind::Include);
        assert_eq!(f.rules()[1].kind(), RuleKind::Exclude);
    }

    #[test]
    fn from0_splits_on_nul_only() {
        let mut f = Filter::new();
        assert!(f.exclude_from0(b"a.o\0b\nc\0#x\0+ y\0").is_ok());
        let patterns: Vec<&[u8]> = f.rules().iter().map(Rule::pattern).collect();
        assert_eq!(patterns, [&b"a.o"[..], b"b\nc", b"y"]);
        let mut f = Filter::new();
        assert!(f.include_from0(b"a\0").is_ok());
        assert_eq!(f.rules()[0].kind(), RuleKind::Include);
    }

    #[test]
    fn names_are_bytes() {
        let mut f = Filter::new();
        assert!(f.exclude(b"\xff*").is_ok());
        assert!(f.exclude(b"d\xfe/?").is_ok());
        assert!(f.is_excluded(b"x/\xffabc", false));
        assert!(f.is_excluded(b"d\xfe/\x80", false));
        assert!(!f.is_excluded(b"x/\xfeabc", false));
    }

    #[test]
    fn empty_name_never_matches() {
        assert!(!excludes("**", "", false));
        assert!(!excludes("*", "", true));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let name = "a".repeat(60);
        let start = std::time::Instant::now();
        assert!(!excludes("*a*a*a*a*a*a*a*a*b", &name, false));
        assert!(!excludes("**a**a**a**a**a**a**a**b", &name, false));
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    fn rules(texts: &[&str]) -> Filter {
        let mut f = Filter::new();
        for text in texts {
            if let Err(e) = f.filter_rule(text.as_bytes()) {
                panic!("rule {text:?} rejected: {e}");
            }
        }
        f
    }

    #[test]
    fn filter_rule_syntax() {
        let f = rules(&[
            "+_keep.o",
            "- *.o",
            "exclude b",
            "include,! c*",
            "hide h",
            "show s",
        ]);
        assert_eq!(f.rules().len(), 6);
        assert!(f.is_excluded(b"a.o", false));
        assert!(!f.is_excluded(b"x/keep.o", false));
        assert!(f.is_excluded(b"b", true));
        // "include,! c*": everything not starting with c is included from here on.
        assert!(!f.is_excluded(b"h", false));
        assert!(!f.is_excluded(b"s", false));
        let f = rules(&["+ c*", "include,! c*", "- *"]);
        assert!(!f.is_excluded(b"d", false));
        assert!(!f.is_excluded(b"cat", false));
        let f = rules(&["-! */", "+ *"]);
        assert!(
            f.is_excluded(b"file", false),
            "negated dir-only rule on a file"
        );
        assert!(!f.is_excluded(b"dir", true));
        // Receiver-side and xattr rules do not touch the listing.
        let f = rules(&["P keep", "protect x", "R y", "risk z", "-r a", "-x user.*"]);
        assert!(f.is_empty());
        assert!(rules(&["-s a"]).is_excluded(b"a", false));
        assert!(rules(&["-p a"]).is_excluded(b"a", false));
        assert!(rules(&["- a", "!"]).is_empty());
        assert!(rules(&["- a", "clear"]).is_empty());
        assert!(rules(&["-,s a"]).is_excluded(b"a", false));
    }

    #[test]
    fn filter_rule_errors_like_rsync() {
        let reason = |text: &str| {
            parse_filter_rule(text.as_bytes())
                .map(|_| String::new())
                .unwrap_or_else(|e| e.reason)
        };
        assert_eq!(reason("x foo"), "Unknown filter rule");
        assert_eq!(reason("excludes foo"), "Unknown filter rule");
        assert_eq!(reason("-foo"), "invalid modifier in filter rule");
        assert_eq!(reason("- "), "unexpected end of filter rule");
        assert_eq!(reason("-"), "unexpected end of filter rule");
        assert_eq!(reason("! x"), "'!' rule has trailing characters");
        assert!(reason("H! a").is_empty());
        assert_eq!(reason("Hs a"), "invalid modifier in filter rule");
        assert_eq!(reason(".! f"), "invalid modifier in filter rule");
        assert_eq!(reason(".C- f"), "invalid modifier in filter rule");
        assert_eq!(reason("HC"), "invalid modifier in filter rule");
        assert_eq!(reason("-e f"), "invalid modifier in filter rule");
        assert_eq!(reason(":"), "unexpected end of filter rule");
        match parse_filter_rule(b".- list") {
            Ok(FilterRule::Merge { file, kind, .. }) => {
                assert_eq!(file, b"list");
                assert_eq!(kind, Some(RuleKind::Exclude));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_filter_rule(b"merge f"),
            Ok(FilterRule::Merge { kind: None, .. })
        ));
    }

    #[test]
    fn merge_files_in_place() {
        let mut f = rules(&["+ first"]);
        assert!(f.merge(b"# c\n- a\n\n+ b\r\n!\n- c\n", None).is_ok());
        assert_eq!(f.rules().len(), 1, "the '!' line clears the rules so far");
        assert!(f.is_excluded(b"c", false));
        let mut f = Filter::new();
        assert!(f.merge(b"x y\n+ z\n", Some(RuleKind::Include)).is_ok());
        let patterns: Vec<&[u8]> = f.rules().iter().map(Rule::pattern).collect();
        assert_eq!(patterns, [&b"x y"[..], b"+ z"]);
        assert!(Filter::new().merge(b". other\n", None).is_err());
        assert!(Filter::new().merge(b"-foo\n", None).is_err());
    }

    #[test]
    fn trailing_components_counts_whole_components() {
        assert_eq!(trailing_components(b"a/b/c", 1), Some(&b"c"[..]));
        assert_eq!(trailing_components(b"a/b/c", 2), Some(&b"b/c"[..]));
        assert_eq!(trailing_components(b"a/b/c", 3), Some(&b"a/b/c"[..]));
        assert_eq!(trailing_components(b"a/b/c", 4), None);
    }
}

#[cfg(test)]
mod dir_merge_tests {
    use super::*;

    fn dir_merge(text: &str) -> (DirMerge, bool) {
        match parse_filter_rule(text.as_bytes()) {
            Ok(FilterRule::DirMerge {
                merge,
                exclude_self,
            }) => (merge, exclude_self),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn dir_merge_modifiers_as_rsync_reads_them() {
        let (m, e) = dir_merge(": .rsync-filter");
        assert_eq!(
            (m.file.as_slice(), m.template, m.no_inherit, e),
            (&b".rsync-filter"[..], Template::default(), false, false)
        );
        let (m, e) = dir_merge("dir-merge,-ne_.x");
        assert_eq!(m.template.kind, Some(RuleKind::Exclude));
        assert!(m.no_inherit && e && !m.template.word_split);
        let (m, _) = dir_merge(":w+ sub/.y");
        assert_eq!(
            (m.template.kind, m.template.word_split),
            (Some(RuleKind::Include), true)
        );
        assert_eq!(m.name(), b".y");
        // `:C` alone is `.cvsignore`, split on whitespace, not inherited.
        let (m, _) = dir_merge(":C");
        assert_eq!(m.file, b".cvsignore");
        assert!(m.no_inherit && m.template.word_split && m.template.cvs);
        assert!(matches!(parse_filter_rule(b"-C"), Ok(FilterRule::Cvs)));
        assert!(matches!(
            parse_filter_rule(b"exclude,C"),
            Ok(FilterRule::Cvs)
        ));
    }

    #[test]
    fn a_dir_merge_rule_tries_the_directory_rules_in_its_place() {
        let mut f = Filter::new();
        for rule in ["+ first", ":e .f", ": sub/.f", "- *"] {
            f.filter_rule(rule.as_bytes()).unwrap();
        }
        // The second `.f` is the same file name: rsync does not add it again.
        assert_eq!(f.dir_merges().len(), 1);
        let here: Vec<Arc<[Rule]>> = vec![Arc::from(vec![
            Rule::new(RuleKind::Include, b"keep"),
            Rule::new(RuleKind::Exclude, b"first"),
        ])];
        assert!(!f.is_excluded_in(b"first", false, &here, b""));
        assert!(!f.is_excluded_in(b"keep", false, &here, b""));
        assert!(f.is_excluded_in(b".f", false, &here, b""));
        assert!(f.is_excluded_in(b"other", false, &here, b""));
        assert!(f.is_excluded_in(b"keep", false, &[] as &[Arc<[Rule]>], b""));
    }

    #[test]
    fn absolute_rules_match_the_path_below_the_base() {
        let mut f = Filter::new();
        f.filter_rule(b"-/ /r/m/a.txt").unwrap();
        f.filter_rule(b"-/ x/y").unwrap();
        let none: &[Arc<[Rule]>] = &[];
        assert!(f.is_excluded_in(b"a.txt", false, none, b"r/m"));
        assert!(!f.is_excluded_in(b"a.txt", false, none, b"r"));
        assert!(f.is_excluded_in(b"y", false, none, b"r/x"));
        let anchored = Rule::new(RuleKind::Exclude, b"/d/f").anchored_at(b"/r/m");
        assert!(anchored.matches_at(b"d/f", false, b"r/m"));
        assert!(!anchored.matches_at(b"s/d/f", false, b"r/m"));
    }

    #[test]
    fn cvs_lists_split_on_whitespace_and_clear_on_a_bang() {
        let mut f = Filter::new();
        f.filter_rule(b"-C").unwrap();
        assert!(f.is_excluded(b"x.o", false));
        assert!(f.is_excluded(b".git", true));
        assert!(!f.is_excluded(b".git", false));
        f.cvs_environment(b"extra one\n! only");
        assert!(!f.is_excluded(b"x.o", false));
        assert!(f.is_excluded(b"only", false));
        let items = parse_merge_contents(b"a  b\tc\n#d", CVS_TEMPLATE).unwrap();
        assert_eq!(items.len(), 4, "{items:?}");
    }
}
