//! How much a change matters: the config's `[[rule]]` tables compiled for per-entry lookup,
//! and the filesystem types a scan does not enter (the table is `crate::scan::fs_types`).
//!
//! A rule pairs rsync patterns with a [`Severity`], the [`Attributes`] whose changes count,
//! and the `growing` flag for logs. Patterns are matched against an entry's absolute path by
//! fimsum's own rsync matcher ([`crate::rsync::filter`]), so a pattern means what it means in an
//! `--exclude`: `/etc/***` is /etc and everything below it, `/etc/**` only what is below
//! it, a trailing `/` restricts a pattern to directories, and a pattern without a leading
//! `/` matches at any depth (`authorized_keys`).
//!
//! **The last matching rule decides.** A policy reads from the general to the particular,
//! as AIDE's and Tripwire's files do (`/etc` first, `/etc/shadow` further down), and the
//! usual way to make an exception, appending a rule, then works without reordering
//! anything. This is the reverse of rsync's filters, where the first match wins; the
//! config's `exclude` list keeps rsync's order because it *is* an rsync filter.
//!
//! An entry that no rule matches gets `Verdict::UNMATCHED`: medium, every attribute. A
//! file where none was expected deserves a look; the default policy lowers the places that
//! change by design instead of raising the ones that should not.

use std::fmt;

use crate::fim::config::{Config, RuleConfig};
use crate::fim::pattern::Pattern;
use crate::fim::severity::{Attribute, Attributes, Severity};
use crate::scan::fs_types::fs_type_magics;

/// What the policy says about one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// How much a change to the entry matters.
    pub severity: Severity,
    /// The attributes whose changes are reported. Whether the entry was added or removed
    /// counts whatever they are.
    pub attributes: Attributes,
    /// The entry is a log that only grows. For a regular file whose new size is at least
    /// the old one and whose first old-size bytes still hash to the old checksum, changes
    /// of size, content, mtime and ctime are expected and not reported; a shrink, or a
    /// change within what was there before, is reported as a content change. (AIDE's
    /// `growing`, with the prefix check that Samhain's GrowingLogFiles adds.)
    pub growing: bool,
    /// Index in [`Config::rules`] of the rule that decided, for reports; `None` for
    /// `Verdict::UNMATCHED`.
    pub rule: Option<usize>,
}

impl Verdict {
    /// The verdict for an entry that no rule matches.
    pub(crate) const UNMATCHED: Verdict = Verdict {
        severity: Severity::Medium,
        attributes: Attributes::ALL,
        growing: false,
        rule: None,
    };

    pub(crate) fn is_ignored(self) -> bool {
        self.severity == Severity::Ignore
    }

    /// Is a change of `attribute` reported?
    pub fn counts(self, attribute: Attribute) -> bool {
        !self.is_ignored() && self.attributes.contains(attribute)
    }

    /// Does the check need this file's checksum? When not, a scan may skip reading it.
    pub fn needs_content(self) -> bool {
        self.counts(Attribute::Content)
    }
}

/// A rule or a `skip_fs` entry the policy cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// Index in [`Config::rules`]; `None` for a `skip_fs` entry.
    pub rule: Option<usize>,
    /// Line of the rule's `[[rule]]` header, when it came from a file.
    pub line: Option<usize>,
    /// What is wrong with the rule.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.rule, self.line) {
            (Some(_), Some(line)) => write!(f, "rule on line {line}: {}", self.message),
            (Some(index), None) => write!(f, "rule {}: {}", index + 1, self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for PolicyError {}

/// The rules of a [`Config`], ready for [`Policy::classify`], and its `skip_fs` list.
#[derive(Clone, Debug)]
pub struct Policy {
    /// One entry per pattern, in config order.
    patterns: Vec<RulePattern>,
    candidates: Candidates,
    skip_magics: Vec<u32>,
    skip_names: Vec<String>,
    /// The patterns of the rules that say `diff`, in config order, each with what it says.
    diff_patterns: Vec<(Pattern, bool)>,
    /// The patterns of the rules with `secret = true`.
    secret_patterns: Vec<Pattern>,
}

/// What the policy says about keeping a file's content ([`Policy::content_rule`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContentRule {
    /// Keep a snapshot for a diff.
    pub diff: bool,
    /// The file holds secrets: line digests only.
    pub secret: bool,
}

/// One pattern of a rule, and what the rule gives an entry it matches.
#[derive(Clone, Debug)]
struct RulePattern {
    pattern: Pattern,
    verdict: Verdict,
}

impl Policy {
    /// Compiles `config.rules` and `config.skip_fs`.
    ///
    /// # Errors
    /// A pattern that can never match or that rsync would reject, or an unknown
    /// filesystem type. [`Config::parse`] has already refused both, with their line.
    pub fn new(config: &Config) -> Result<Policy, PolicyError> {
        let mut patterns = Vec::new();
        let mut diff_patterns = Vec::new();
        let mut secret_patterns = Vec::new();
        for (index, rule) in config.rules.iter().enumerate() {
            let error = |message: String| PolicyError {
                rule: Some(index),
                line: rule.line,
                message,
            };
            if rule.patterns.is_empty() {
                return Err(error("no pattern".to_owned()));
            }
            let verdict = rule_verdict(rule, index);
            for text in &rule.patterns {
                let pattern = Pattern::compile(text).map_err(error)?;
                if let Some(diff) = rule.diff {
                    diff_patterns.push((pattern.clone(), diff));
                }
                if rule.secret {
                    secret_patterns.push(pattern.clone());
                }
                if rule.judges {
                    patterns.push(RulePattern { pattern, verdict });
                }
            }
        }
        let mut skip_magics = Vec::new();
        for name in &config.skip_fs {
            let magics = fs_type_magics(name).map_err(|message| PolicyError {
                rule: None,
                line: None,
                message: format!("skip_fs: {message}"),
            })?;
            skip_magics.extend(magics);
        }
        Ok(Policy {
            candidates: Candidates::new(&patterns),
            patterns,
            skip_magics,
            skip_names: config.skip_fs.clone(),
            diff_patterns,
            secret_patterns,
        })
    }

    /// Whether to keep the content of the file at `abs_path` for a diff, and whether it
    /// holds secrets. Unlike the verdict, these are not the last matching rule's: a rule
    /// that does not say `diff` leaves it to the rules before it (so `diff = true` on
    /// `/etc/***` holds for `/etc/passwd` under its own critical rule, and `diff = false`
    /// further down makes an exception), and `secret = true` on any matching rule counts,
    /// whatever comes after: no rule can make a secret file's text stored.
    pub fn content_rule(&self, abs_path: &[u8]) -> ContentRule {
        let name = abs_path.strip_prefix(b"/").unwrap_or(abs_path);
        let matches = |p: &Pattern| p.may_match(name) && p.matcher.matches(name, false);
        ContentRule {
            diff: self
                .diff_patterns
                .iter()
                .rev()
                .find(|(p, _)| matches(p))
                .is_some_and(|(_, diff)| *diff),
            secret: self.secret_patterns.iter().any(matches),
        }
    }

    /// Does any rule ask for diffs? Without one, a scan keeps no snapshots at all.
    pub fn asks_for_diffs(&self) -> bool {
        self.diff_patterns.iter().any(|(_, diff)| *diff)
    }

    /// Could a rule with `diff = true` match something at or below the absolute directory
    /// `dir`? As [`Policy::may_grow_under`]: a scan of /usr under a policy whose diff rules
    /// are all anchored in /etc keeps no snapshots and looks for none.
    pub(crate) fn may_diff_under(&self, dir: &[u8]) -> bool {
        let name = dir.strip_prefix(b"/").unwrap_or(dir);
        self.diff_patterns
            .iter()
            .filter(|(_, diff)| *diff)
            .any(|(p, _)| p.prefix.iter().zip(name).all(|(a, b)| a == b))
    }

    /// Could a rule with `growing` set match something at or below the absolute directory
    /// `dir` (e.g. `/usr/`)? False when every such pattern is anchored in another tree, so
    /// that `check` need not search the baseline for growing files under a policy whose
    /// only growing rule is `/var/log/**` when it checks `/usr`.
    pub(crate) fn may_grow_under(&self, dir: &[u8]) -> bool {
        let name = dir.strip_prefix(b"/").unwrap_or(dir);
        self.patterns
            .iter()
            .filter(|p| p.verdict.growing)
            .any(|p| p.pattern.prefix.iter().zip(name).all(|(a, b)| a == b))
    }

    /// The verdict for the entry at `abs_path` (raw bytes, e.g. `/etc/passwd`; a trailing
    /// `/` is ignored). `is_dir` says whether it is a directory, not a symlink to one, as
    /// for rsync's filters. The root directory `/` itself is matched by no rule, as rsync
    /// never filters a transfer root, and gets `Verdict::UNMATCHED`.
    pub fn classify(&self, abs_path: &[u8], is_dir: bool) -> Verdict {
        // The matcher takes names relative to a transfer root: here "/", so a pattern's
        // leading "/" anchors it at the root of the filesystem.
        let name = abs_path.strip_prefix(b"/").unwrap_or(abs_path);
        let name = name.strip_suffix(b"/").unwrap_or(name);
        self.candidates
            .of(name)
            .iter()
            .filter_map(|&index| self.patterns.get(index))
            .find(|p| p.pattern.may_match(name) && p.pattern.matcher.matches(name, is_dir))
            .map_or(Verdict::UNMATCHED, |p| p.verdict)
    }

    /// Should a scan stay out of a filesystem whose statfs(2) `f_type` is this? Pass
    /// `f_type` widened to i64 (`as i64`): only its low 32 bits are compared, since every
    /// magic number fits in them and 32-bit systems sign-extend the larger ones.
    ///
    /// devtmpfs reports the magic of tmpfs, so listing either skips both here; a caller
    /// that knows the type's name from /proc/self/mountinfo should ask
    /// [`Policy::skips_fs_name`] instead.
    pub fn skips_fs(&self, f_type: i64) -> bool {
        self.skip_magics.contains(&(f_type as u32))
    }

    /// Like [`Policy::skips_fs`], for a type name as /proc/self/mountinfo gives it.
    /// `fuseblk` and the FUSE subtypes (`fuse.sshfs`, ...) count as `fuse`, whose magic
    /// number they report.
    pub fn skips_fs_name(&self, fs_type: &str) -> bool {
        let base = match fs_type.split_once('.') {
            Some(("fuse", _)) => "fuse",
            _ if fs_type == "fuseblk" => "fuse",
            _ => fs_type,
        };
        self.skip_names.iter().any(|name| name == base)
    }
}

/// Which patterns may match a name, by the name's first byte and the first byte of its
/// second component: a pattern anchored in another tree is never even looked at. Most of
/// a policy's patterns are anchored in a few trees (/etc, /usr, /var), and without this
/// an unlisted file in /etc would be tried against every /etc pattern.
#[derive(Clone, Debug)]
struct Candidates {
    /// Distinct lists of indices into the patterns, each last first (the search order).
    lists: Vec<Vec<usize>>,
    /// `SECOND` entries per row: the list for each second-level byte, [`NO_SECOND`] for
    /// a name with a single component.
    table: Vec<usize>,
    /// The row of each first byte; row 0 serves bytes that start no anchored pattern.
    row_of: Vec<usize>,
}

const SECOND: usize = 257;
const NO_SECOND: usize = 256;

impl Candidates {
    fn new(patterns: &[RulePattern]) -> Candidates {
        // The (first, second-level) bytes a pattern's matches must start with, as far as
        // its literal prefix tells; the prefix of a match is exactly the pattern's prefix,
        // bar the trailing "/" of a directory-only pattern, which no second byte follows.
        let keys: Vec<(Option<u8>, Option<u8>)> = patterns
            .iter()
            .map(|p| {
                let prefix = &p.pattern.prefix;
                let second = prefix
                    .iter()
                    .position(|&b| b == b'/')
                    .and_then(|slash| prefix.get(slash + 1))
                    .copied();
                (prefix.first().copied(), second)
            })
            .collect();
        let may_match = |key: (Option<u8>, Option<u8>), first: Option<u8>, second: usize| match key
        {
            (None, _) => true,
            (Some(f), _) if Some(f) != first => false,
            (_, None) => true,
            (_, Some(s)) => usize::from(s) == second,
        };
        let mut lists: Vec<Vec<usize>> = Vec::new();
        let mut table = Vec::new();
        let mut row_of = vec![0; 256];
        let mut firsts: Vec<Option<u8>> = vec![None];
        firsts.extend(keys.iter().filter_map(|k| k.0).map(Some));
        firsts.sort_unstable();
        firsts.dedup();
        for (row, first) in firsts.into_iter().enumerate() {
            if let Some(first) = first {
                row_of[usize::from(first)] = row;
            }
            for second in 0..SECOND {
                let list: Vec<usize> = (0..patterns.len())
                    .rev()
                    .filter(|&i| may_match(keys[i], first, second))
                    .collect();
                let id = match lists.iter().position(|known| *known == list) {
                    Some(id) => id,
                    None => {
                        lists.push(list);
                        lists.len() - 1
                    }
                };
                table.push(id);
            }
        }
        Candidates {
            lists,
            table,
            row_of,
        }
    }

    /// The patterns that may match `name` (relative to "/"), in search order.
    fn of(&self, name: &[u8]) -> &[usize] {
        let Some(&first) = name.first() else {
            return &[];
        };
        let second = name
            .iter()
            .position(|&b| b == b'/')
            .and_then(|slash| name.get(slash + 1))
            .map_or(NO_SECOND, |&b| usize::from(b));
        let row = self.row_of[usize::from(first)];
        &self.lists[self.table[row * SECOND + second]]
    }
}

fn rule_verdict(rule: &RuleConfig, index: usize) -> Verdict {
    Verdict {
        severity: rule.severity,
        attributes: rule.attributes,
        growing: rule.growing,
        rule: Some(index),
    }
}

/// The absolute path of an entry that a scan of the rsync source `source` names `name`
/// (`%n`, without a directory's trailing `/`): `/etc/` and `passwd` give `/etc/passwd`,
/// `/usr/bin` and `bin/ls` give `/usr/bin/ls`, and a `dir/` source's own entry `.` is `dir`.
/// Written to `out`, which is cleared first, so that a caller can reuse one buffer.
pub(crate) fn entry_path(source: &[u8], name: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let trimmed = trim_trailing_slashes(source);
    let base = if source.ends_with(b"/") {
        trimmed
    } else {
        // `dir` without a slash: names start with dir's own name, so they hang off its parent.
        match trimmed.iter().rposition(|&b| b == b'/') {
            Some(slash) => trim_trailing_slashes(&trimmed[..slash]),
            None => &[],
        }
    };
    out.extend_from_slice(base);
    if name != b"." {
        out.push(b'/');
        out.extend_from_slice(name);
    } else if out.is_empty() {
        out.push(b'/');
    }
}

fn trim_trailing_slashes(path: &[u8]) -> &[u8] {
    let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    &path[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rsync::filter;

    fn rule(patterns: &[&str], severity: Severity, attributes: Attributes) -> RuleConfig {
        RuleConfig {
            patterns: patterns.iter().map(|p| p.to_string()).collect(),
            severity,
            attributes,
            growing: false,
            diff: None,
            secret: false,
            judges: true,
            line: None,
        }
    }

    fn policy(rules: Vec<RuleConfig>) -> Policy {
        let config = Config {
            rules,
            skip_fs: Vec::new(),
            ..Config::default()
        };
        match Policy::new(&config) {
            Ok(policy) => policy,
            Err(e) => panic!("policy rejected: {e}"),
        }
    }

    fn severity(policy: &Policy, path: &str) -> Severity {
        let (path, is_dir) = match path.strip_suffix('/') {
            Some(dir) if !dir.is_empty() => (dir, true),
            _ => (path, false),
        };
        policy.classify(path.as_bytes(), is_dir).severity
    }

    #[test]
    fn severity_names_order_and_parse() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::High > Severity::Medium);
        assert!(Severity::Medium > Severity::Low);
        assert!(Severity::Low > Severity::Ignore);
        for sev in Severity::ALL {
            assert_eq!(sev.name().parse::<Severity>(), Ok(sev));
            assert_eq!(sev.to_string(), sev.name());
        }
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        let err = "urgent".parse::<Severity>().unwrap_err();
        assert!(
            err.contains("\"urgent\"") && err.contains("critical"),
            "{err}"
        );
    }

    #[test]
    fn attribute_names_and_groups() {
        assert_eq!(Attributes::ALL.iter().count(), 17);
        assert_eq!(
            Attributes::PERMS.to_string(),
            "type,mode,owner,group,caps,flags,acl,selinux"
        );
        assert_eq!(Attributes::DATA.to_string(), "type,content,size,link");
        for a in Attribute::ALL {
            assert_eq!(
                Attributes::from_name(a.name()),
                Some([a].into_iter().collect())
            );
        }
        for (group, _) in Attributes::GROUPS {
            assert!(Attribute::ALL.iter().all(|a| a.name() != group));
        }
        let parsed: Attributes = "perms,content,ctime".parse().unwrap();
        assert!(parsed.contains(Attribute::Owner) && parsed.contains(Attribute::Ctime));
        assert!(!parsed.contains(Attribute::Mtime));
        assert_eq!("".parse::<Attributes>(), Ok(Attributes::NONE));
        let err = "mode,md5".parse::<Attributes>().unwrap_err();
        assert!(err.contains("\"md5\""), "{err}");
        assert_eq!(
            Attributes::ALL.without(Attributes::PERMS).to_string(),
            "content,size,link,mtime,ctime,inode,nlink,device,xattrs"
        );
    }

    #[test]
    fn last_matching_rule_wins() {
        let p = policy(vec![
            rule(&["/etc/***"], Severity::Medium, Attributes::ALL),
            rule(&["/etc/shadow"], Severity::Critical, Attributes::ALL),
            rule(&["/etc/*-"], Severity::Low, Attributes::PERMS),
        ]);
        assert_eq!(severity(&p, "/etc/hosts"), Severity::Medium);
        assert_eq!(severity(&p, "/etc/"), Severity::Medium);
        assert_eq!(severity(&p, "/etc/shadow"), Severity::Critical);
        assert_eq!(severity(&p, "/etc/shadow-"), Severity::Low);
        let v = p.classify(b"/etc/shadow", false);
        assert_eq!(v.rule, Some(1));
        // The same rules in the other order: the general rule now overrides the others.
        let p = policy(vec![
            rule(&["/etc/shadow"], Severity::Critical, Attributes::ALL),
            rule(&["/etc/***"], Severity::Medium, Attributes::ALL),
        ]);
        assert_eq!(severity(&p, "/etc/shadow"), Severity::Medium);
        assert_eq!(p.classify(b"/etc/shadow", false).rule, Some(1));
    }

    #[test]
    fn within_a_rule_any_pattern_matches() {
        let p = policy(vec![rule(
            &["/bin/***", "/usr/bin/***"],
            Severity::High,
            Attributes::ALL,
        )]);
        assert_eq!(p.classify(b"/usr/bin/ls", false).rule, Some(0));
        assert_eq!(p.classify(b"/bin/ls", false).rule, Some(0));
        assert_eq!(p.classify(b"/sbin/ls", false).rule, None);
    }

    #[test]
    fn unmatched_entries_get_the_documented_default() {
        let p = policy(vec![rule(&["/etc/***"], Severity::High, Attributes::PERMS)]);
        let v = p.classify(b"/srv/data", false);
        assert_eq!(v, Verdict::UNMATCHED);
        assert_eq!(v.severity, Severity::Medium);
        assert_eq!(v.attributes, Attributes::ALL);
        assert!(!v.growing && v.rule.is_none());
        // The root itself is never matched, even by a catch-all, as rsync never filters it.
        let p = policy(vec![rule(&["/**"], Severity::Low, Attributes::ALL)]);
        assert_eq!(p.classify(b"/", true), Verdict::UNMATCHED);
        assert_eq!(severity(&p, "/x"), Severity::Low);
    }

    #[test]
    fn directory_only_patterns() {
        let p = policy(vec![
            rule(&["/var/***"], Severity::Low, Attributes::ALL),
            rule(&["/var/log/"], Severity::High, Attributes::ALL),
            rule(&["/var/**/"], Severity::Medium, Attributes::PERMS),
        ]);
        assert_eq!(severity(&p, "/var/log/"), Severity::Medium);
        assert_eq!(severity(&p, "/var/log"), Severity::Low, "a file named log");
        assert_eq!(severity(&p, "/var/log/syslog"), Severity::Low);
        assert_eq!(severity(&p, "/var/log/apt/"), Severity::Medium);
        assert_eq!(
            severity(&p, "/var/"),
            Severity::Low,
            "** needs something below /var"
        );
        let p = policy(vec![rule(&["/var/log/"], Severity::High, Attributes::ALL)]);
        assert_eq!(severity(&p, "/var/log/"), Severity::High);
        assert_eq!(severity(&p, "/var/log/syslog"), Severity::Medium);
        // A trailing slash in the path itself is ignored.
        assert_eq!(p.classify(b"/var/log/", true).severity, Severity::High);
    }

    #[test]
    fn double_and_triple_star_patterns() {
        let p = policy(vec![
            rule(&["/etc/**"], Severity::High, Attributes::ALL),
            rule(&["/usr/**/__pycache__/***"], Severity::Low, Attributes::ALL),
            rule(&["/var/log/**.gz"], Severity::Ignore, Attributes::ALL),
        ]);
        assert_eq!(
            severity(&p, "/etc/"),
            Severity::Medium,
            "** is below /etc only"
        );
        assert_eq!(severity(&p, "/etc/ssh/sshd_config"), Severity::High);
        assert_eq!(severity(&p, "/etc/a/b/c/d/"), Severity::High);
        assert_eq!(severity(&p, "/etcetera/x"), Severity::Medium);
        assert_eq!(
            severity(&p, "/usr/lib/python3/dist-packages/x/__pycache__/"),
            Severity::Low
        );
        assert_eq!(
            severity(&p, "/usr/lib/python3/x/__pycache__/y.cpython-311.pyc"),
            Severity::Low
        );
        assert_eq!(severity(&p, "/usr/__pycache__/"), Severity::Medium);
        assert_eq!(
            severity(&p, "/var/log/apt/history.log.1.gz"),
            Severity::Ignore
        );
        assert_eq!(severity(&p, "/var/log/gz"), Severity::Medium);
    }

    #[test]
    fn unanchored_patterns_match_at_any_depth() {
        let p = policy(vec![
            rule(&["/home/***"], Severity::Low, Attributes::PERMS),
            rule(&["authorized_keys"], Severity::Critical, Attributes::ALL),
            rule(&[".ssh/"], Severity::High, Attributes::ALL),
        ]);
        assert_eq!(
            severity(&p, "/home/ann/.ssh/authorized_keys"),
            Severity::Critical
        );
        assert_eq!(
            severity(&p, "/root/.ssh/authorized_keys"),
            Severity::Critical
        );
        assert_eq!(severity(&p, "/home/ann/.ssh/"), Severity::High);
        assert_eq!(severity(&p, "/home/ann/.ssh/known_hosts"), Severity::Low);
        assert_eq!(severity(&p, "/home/ann/authorized_keys.bak"), Severity::Low);
    }

    #[test]
    fn growing_and_ignore_verdicts() {
        let mut log = rule(
            &["/var/log/***"],
            Severity::Low,
            Attributes::PERMS.union(Attributes::of(&[Attribute::Content, Attribute::Size])),
        );
        log.growing = true;
        let p = policy(vec![
            log,
            rule(&["/var/log/journal/***"], Severity::Ignore, Attributes::ALL),
        ]);
        let v = p.classify(b"/var/log/syslog", false);
        assert!(v.growing);
        assert_eq!(v.severity, Severity::Low);
        assert!(v.counts(Attribute::Size) && v.counts(Attribute::Content));
        assert!(!v.counts(Attribute::Mtime));
        assert!(v.needs_content());
        let v = p.classify(b"/var/log/journal/x/system.journal", false);
        assert!(v.is_ignored() && !v.growing);
        assert!(!v.counts(Attribute::Content), "ignored: nothing counts");
        assert!(!v.needs_content());
        assert!(!p.classify(b"/var/lib/x", false).growing);
    }

    #[test]
    fn diff_follows_the_last_rule_that_says_it_and_secret_any_rule() {
        let mut etc = rule(&["/etc/***"], Severity::Medium, Attributes::ALL);
        etc.diff = Some(true);
        let mut passwd = rule(&["/etc/passwd"], Severity::Critical, Attributes::ALL);
        passwd.secret = false;
        let mut cache = rule(&["/etc/*.cache"], Severity::Low, Attributes::ALL);
        cache.diff = Some(false);
        let mut keys = rule(&["/etc/keys/***"], Severity::High, Attributes::ALL);
        keys.secret = true;
        let mut only_diff = rule(&["/srv/**"], Severity::Ignore, Attributes::NONE);
        only_diff.diff = Some(true);
        only_diff.judges = false;
        let mut late = rule(&["/etc/keys/public"], Severity::Low, Attributes::ALL);
        late.diff = Some(true);
        let p = policy(vec![etc, passwd, cache, keys, only_diff, late]);
        let content = |path: &str| p.content_rule(path.as_bytes());
        assert_eq!(
            content("/etc/passwd"),
            ContentRule {
                diff: true,
                secret: false
            }
        );
        assert!(!content("/etc/ld.cache").diff);
        assert!(!content("/var/x").diff);
        assert!(content("/etc/keys/a").secret && content("/etc/keys/a").diff);
        // A later rule cannot take a secret back.
        assert!(content("/etc/keys/public").secret);
        // A rule that only gives `diff` decides nothing else.
        assert!(content("/srv/a").diff);
        assert_eq!(p.classify(b"/srv/a", false), Verdict::UNMATCHED);
        assert_eq!(p.classify(b"/etc/passwd", false).rule, Some(1));
        assert!(p.asks_for_diffs());
        assert!(!policy(vec![rule(&["/x"], Severity::Low, Attributes::ALL)]).asks_for_diffs());
        // Looked for only where a diff rule can match: /etc/ and /srv/, not /usr/.
        assert!(p.may_diff_under(b"/etc/"));
        assert!(p.may_diff_under(b"/"));
        assert!(p.may_diff_under(b"/srv/"));
        assert!(!p.may_diff_under(b"/usr/"));
        assert!(!p.may_diff_under(b"/var/"));
    }

    #[test]
    fn growing_rules_are_only_looked_for_where_they_can_match() {
        let mut log = rule(&["/var/log/***"], Severity::Low, Attributes::ALL);
        log.growing = true;
        let usr = rule(&["/usr/***"], Severity::High, Attributes::ALL);
        let p = policy(vec![log.clone(), usr.clone()]);
        assert!(!p.may_grow_under(b"/usr/"));
        assert!(!p.may_grow_under(b"/etc/"));
        assert!(p.may_grow_under(b"/var/"));
        assert!(p.may_grow_under(b"/var/log/apt/"));
        assert!(p.may_grow_under(b"/"));
        let mut anywhere = rule(&["*.log"], Severity::Low, Attributes::ALL);
        anywhere.growing = true;
        assert!(policy(vec![log, usr, anywhere]).may_grow_under(b"/usr/"));
    }

    #[test]
    fn patterns_that_match_nothing_are_refused() {
        for bad in ["", "/", "//", "/etc/[abc", "/etc/*\\", "/a/[!]", "/a\0b"] {
            assert!(Pattern::compile(bad).is_err(), "{bad:?}");
        }
        for good in [
            "/etc/[ab]c",
            "/a/[]]x*",
            "/a/[!]]",
            "/a/\\[x*",
            "/a\\",
            "[[:alpha:]]*",
        ] {
            assert!(Pattern::compile(good).is_ok(), "{good:?}");
        }
        let long = format!("/{}", "a".repeat(5000));
        assert!(Pattern::compile(&long).is_err());
        // Text that `--exclude` would take as a prefix or a clear stays a literal name.
        let p = policy(vec![rule(&["+ x", "!"], Severity::High, Attributes::ALL)]);
        assert_eq!(severity(&p, "/d/+ x"), Severity::High);
        assert_eq!(severity(&p, "/x"), Severity::Medium);
        assert_eq!(severity(&p, "/!"), Severity::High);
        let config = Config {
            rules: vec![rule(&[], Severity::High, Attributes::ALL)],
            ..Config::default()
        };
        let e = Policy::new(&config).unwrap_err();
        assert_eq!(
            (e.rule, e.to_string().as_str()),
            (Some(0), "rule 1: no pattern")
        );
        let config = Config {
            rules: vec![RuleConfig {
                line: Some(7),
                ..rule(&["/ok", "/bad["], Severity::High, Attributes::ALL)
            }],
            ..Config::default()
        };
        let e = Policy::new(&config).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("rule on line 7: pattern \"/bad[\""),
            "{e}"
        );
        let config = Config {
            skip_fs: vec!["zfs".into()],
            ..Config::default()
        };
        let e = Policy::new(&config).unwrap_err();
        assert_eq!(e.rule, None);
        assert!(
            e.to_string()
                .starts_with("skip_fs: unknown filesystem type"),
            "{e}"
        );
    }

    /// The prefix, suffix and bucket shortcuts must never reject a name the matcher
    /// accepts: every pattern of the default policy and some awkward ones, each its own
    /// rule, against names of every shape, compared with trying every rule in turn.
    #[test]
    fn shortcuts_agree_with_the_matcher() {
        let mut patterns: Vec<String> = Config::default()
            .rules
            .iter()
            .flat_map(|r| r.patterns.clone())
            .collect();
        patterns.extend(
            [
                "/etc/ssh/",
                "/a\\*b*",
                "/**",
                "/***",
                "/*/x",
                "/e[t]c/***",
                "/etc/[p]asswd",
                "/usr/lib*/**/security/***",
                "sshd_config",
                "foo/bar",
                "**/bin/",
                "ss?",
                "*.so",
                "/var/log/**/",
                "x\\]*",
                "/e\\tc",
            ]
            .map(String::from),
        );
        let rules: Vec<RuleConfig> = patterns
            .iter()
            .map(|p| rule(&[p.as_str()], Severity::High, Attributes::ALL))
            .collect();
        let p = policy(rules.clone());
        let matchers: Vec<filter::Rule> = patterns
            .iter()
            .map(|text| Pattern::compile(text).unwrap().matcher)
            .collect();
        let names = [
            "etc",
            "e",
            "etc/ssh",
            "etc/sshd",
            "etc/ssh/sshd_config",
            "etc/cron.d",
            "etc/crontab",
            "etc/cron.d/x",
            "etc/passwd",
            "etc/passwd-",
            "etc/x",
            "usr",
            "usr/lib",
            "usr/bin/ls",
            "usr/lib64/x/security/pam_unix.so",
            "usr/lib/security",
            "lib/security/pam_x.so",
            "var/log",
            "var/log/syslog.1",
            "var/log/a/b.gz",
            "var/log/journal/x",
            "a*bc",
            "a\\*bc",
            "x",
            "x]y",
            "bin",
            "lib64",
            "home/a/.ssh/authorized_keys",
            "root/.ssh",
            "dev/sda",
            "boot/grub/grubenv",
            "q/__pycache__",
            "q/__pycache__/m.pyc",
            "ss1",
            "opt/foo/bar",
            "a/x",
            "e\\tc",
            "e/x/y/z",
        ];
        // And every path of up to three components drawn from these.
        let parts = [
            "etc",
            "ssh",
            "bin",
            "lib",
            "x",
            "a*bc",
            "__pycache__",
            "security",
            "pam_x.so",
            "log",
            "y.gz",
            "1",
            "var",
            ".ssh",
            "authorized_keys",
            "sshd_config",
        ];
        let mut level: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
        let mut generated = level.clone();
        for _ in 0..2 {
            level = level
                .iter()
                .flat_map(|g| parts.iter().map(move |p| format!("{g}/{p}")))
                .collect();
            generated.extend(level.iter().cloned());
        }
        let names = names.iter().map(|n| n.to_string()).chain(generated);
        for name in names {
            for is_dir in [false, true] {
                let want = matchers
                    .iter()
                    .rposition(|m| m.matches(name.as_bytes(), is_dir));
                let path = format!("/{name}");
                let got = p.classify(path.as_bytes(), is_dir).rule;
                assert_eq!(got, want, "{name:?} (dir: {is_dir})");
            }
        }
    }

    #[test]
    fn entry_paths_follow_rsync_source_forms() {
        let mut out = Vec::new();
        let mut path = |source: &str, name: &str| {
            entry_path(source.as_bytes(), name.as_bytes(), &mut out);
            String::from_utf8(out.clone()).unwrap()
        };
        assert_eq!(path("/", "."), "/");
        assert_eq!(path("/", "etc/passwd"), "/etc/passwd");
        assert_eq!(path("/etc/", "."), "/etc");
        assert_eq!(path("/etc/", "passwd"), "/etc/passwd");
        assert_eq!(path("/etc//", "passwd"), "/etc/passwd");
        assert_eq!(path("/usr/bin", "bin"), "/usr/bin");
        assert_eq!(path("/usr/bin", "bin/ls"), "/usr/bin/ls");
        assert_eq!(path("/boot", "boot/vmlinuz"), "/boot/vmlinuz");
        assert_eq!(path("/usr//bin", "bin/ls"), "/usr/bin/ls");
    }

    #[test]
    fn policy_skips_listed_filesystems() {
        let config = Config {
            skip_fs: vec![
                "proc".into(),
                "cifs".into(),
                "fuse".into(),
                "0x2fc12fc1".into(),
            ],
            ..Config::default()
        };
        let p = Policy::new(&config).unwrap();
        assert!(p.skips_fs(0x9fa0));
        assert!(
            p.skips_fs(i64::from(0xfe53_4d42_u32 as i32)),
            "cifs, SMB2 dialect"
        );
        assert!(p.skips_fs(0x2fc1_2fc1), "zfs, by number");
        assert!(!p.skips_fs(0xef53));
        assert!(p.skips_fs_name("fuse.sshfs"));
        assert!(p.skips_fs_name("proc"));
        assert!(p.skips_fs_name("fuseblk"));
        assert!(!p.skips_fs_name("fusectl"));
        assert!(!p.skips_fs_name("ext4"));
        assert!(fs_type_magics("zfs").is_err());
        assert!(fs_type_magics("0xnope").is_err());
        assert_eq!(fs_type_magics("devtmpfs"), fs_type_magics("tmpfs"));
    }

    #[test]
    fn default_policy_verdicts() {
        let p = match Policy::new(&Config::default()) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let check = |path: &str, is_dir: bool, want: Severity| {
            let v = p.classify(path.as_bytes(), is_dir);
            assert_eq!(v.severity, want, "{path} (dir: {is_dir}): {v:?}");
            v
        };
        let v = check("/usr/bin/sudo", false, Severity::High);
        assert_eq!(v.attributes, Attributes::ALL);
        check("/usr/bin", true, Severity::High);
        check("/bin", false, Severity::Critical); // merged /usr: a symlink
        check("/bin", true, Severity::High);
        check(
            "/lib/x86_64-linux-gnu/security/pam_unix.so",
            false,
            Severity::Critical,
        );
        check("/usr/lib64/security/pam_unix.so", false, Severity::Critical);
        check(
            "/usr/lib/python3/dist-packages/__pycache__/x.pyc",
            false,
            Severity::Low,
        );
        check("/boot/vmlinuz-6.1.0", false, Severity::High);
        check("/boot/grub/grubenv", false, Severity::Low);
        for critical in [
            "/etc/shadow",
            "/etc/passwd",
            "/etc/sudoers.d/admins",
            "/etc/pam.d/sshd",
        ] {
            check(critical, false, Severity::Critical);
        }
        check("/etc/ssh/sshd_config", false, Severity::Critical);
        check("/etc/ssh/ssh_host_ed25519_key", false, Severity::High);
        check("/etc/shadow-", false, Severity::Low);
        check("/etc/ld.so.cache", false, Severity::Low);
        check("/etc/ld.so.preload", false, Severity::Critical);
        check("/etc/crontab", false, Severity::High);
        check("/etc/cron.d", true, Severity::High);
        check("/etc/cron.daily/logrotate", false, Severity::High);
        check(
            "/etc/systemd/system/multi-user.target.wants/x.service",
            false,
            Severity::High,
        );
        check("/var/spool/cron/crontabs/root", false, Severity::High);
        check("/root/.ssh/authorized_keys", false, Severity::Critical);
        check("/home/ann/.ssh/authorized_keys", false, Severity::Critical);
        check("/home/ann/.ssh/known_hosts", false, Severity::High);
        check("/home/ann", true, Severity::Low);
        check("/root/.bash_history", false, Severity::Low);
        check("/root/.bashrc", false, Severity::High);
        // Unlisted places get the unmatched default.
        assert_eq!(check("/etc/hosts", false, Severity::Medium).rule, None);
        assert_eq!(
            check("/opt/app/bin/server", false, Severity::Medium).rule,
            None
        );
        assert_eq!(check("/", true, Severity::Medium).rule, None);
        check("/var/www/html/index.php", false, Severity::Medium);
        let v = check("/var/lib/dpkg/status", false, Severity::Low);
        assert_eq!(v.attributes, Attributes::PERMS);
        let v = check("/var/log/auth.log", false, Severity::Low);
        assert!(v.growing && v.counts(Attribute::Content) && !v.counts(Attribute::Mtime));
        for rotated in [
            "/var/log/syslog.1",
            "/var/log/apt/term.log.2.gz",
            "/var/log/messages-20240101",
        ] {
            check(rotated, false, Severity::Ignore);
        }
        let v = check("/var/log/journal/abc/system.journal", false, Severity::Low);
        assert!(!v.growing && !v.needs_content());
        let v = check("/dev/sda", false, Severity::Medium);
        assert!(v.counts(Attribute::Device) && v.counts(Attribute::Mode));
        assert!(!v.counts(Attribute::Mtime) && !v.counts(Attribute::Inode));
        assert!(p.skips_fs(0x9fa0) && p.skips_fs_name("cgroup2"));
        assert!(!p.skips_fs(0x0102_1994), "tmpfs: /dev must be scanned");
        assert!(!p.skips_fs(0xef53));
    }

    /// Not a benchmark harness: a guard against a pathological slowdown, with the figure
    /// printed (`cargo test --release -- --nocapture classify_speed`).
    #[test]
    fn classify_speed() {
        let p = match Policy::new(&Config::default()) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let paths: Vec<Vec<u8>> = [
            "/usr/bin/ls",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/etc/ssh/sshd_config",
            "/etc/hosts",
            "/var/log/syslog",
            "/var/lib/dpkg/status",
            "/home/ann/.ssh/authorized_keys",
            "/usr/share/doc/bash/copyright",
            "/opt/app/bin/server",
            "/boot/vmlinuz",
        ]
        .iter()
        .map(|p| p.as_bytes().to_vec())
        .collect();
        let n = if cfg!(debug_assertions) {
            100_000
        } else {
            1_000_000
        };
        let start = std::time::Instant::now();
        let mut high = 0usize;
        for i in 0..n {
            let v = p.classify(&paths[i % paths.len()], false);
            high += usize::from(v.severity >= Severity::High);
        }
        let elapsed = start.elapsed();
        println!("{n} classify calls: {elapsed:?} ({high} high or critical)");
        assert!(high > 0);
        assert!(elapsed < std::time::Duration::from_secs(30));
    }
}
