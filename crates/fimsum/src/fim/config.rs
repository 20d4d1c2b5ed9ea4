//! The config file of `fimsum init`, `check` and `update` (`--config FILE`, by default
//! /etc/fimsum.toml): what to scan, where the baseline lives, and the policy that
//! [`crate::fim::policy`] compiles from its `[[rule]]` tables.
//!
//! Strict on purpose: in a security tool a misspelt key must not silently leave a default
//! in force, so an unknown key, a bad value or a pattern that can never match is an error
//! naming the file, line and column. A key left out keeps its built-in value, the one in
//! [`Config::default_text`] (what `fimsum config --default` prints); a key that is given
//! replaces that value whole.

use std::fmt;
use std::io;
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;

use crate::fim::pattern::Pattern;
use crate::fim::severity::{self, Attribute, Attributes, Severity};
use crate::hash::Algorithm;
use crate::rsync::filter::Filter;
use crate::scan::fs_types;

/// Where the config is read from when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/fimsum.toml";

/// Digests that `digests` may name: the kinds that lists of known-bad (and known-good)
/// files are keyed on. rsync's other checksums identify nothing outside rsync.
pub(crate) const EXTRA_DIGESTS: [&str; 3] = ["md5", "sha1", "sha256"];

/// The most earlier baselines `keep` may ask for: `update` renames each of them every
/// time, so a number that large is a mistake, and a huge one would keep it renaming for ever.
pub(crate) const MAX_KEEP: usize = 1000;

/// How the built-in config is named in messages.
const BUILTIN_NAME: &str = "(built-in config)";

/// A parsed and checked config. Paths are absolute or, for relative ones in the file,
/// already joined to the config file's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// rsync source arguments, absolute; a trailing `/` means "the contents of".
    pub roots: Vec<String>,
    /// rsync `--exclude` rules, relative to each root as rsync's are; `"+ "` includes.
    pub exclude: Vec<String>,
    /// rsync `--filter` rules, tried after `exclude` (rsync's rule syntax; no merge rules).
    pub filters: Vec<String>,
    /// rsync's `--max-size`: regular files larger than this many bytes are not scanned.
    pub max_size: Option<u64>,
    /// rsync's `--min-size`: regular files smaller than this many bytes are not scanned.
    pub min_size: Option<u64>,
    /// Filesystem types not entered: names of `fs_types::FS_TYPES` or `0x...` numbers.
    pub skip_fs: Vec<String>,
    /// rsync's `-x`.
    pub one_file_system: bool,
    /// rsync's `-R`: entries are named by their path from `/` (`etc/passwd`), the
    /// directories above each root listed too. The roots are then anchored at `/`
    /// (`/etc` is kept as `/./etc`, rsync's spelling of it) unless they hold a `/./`: a
    /// baseline's names are relative, and the rules' patterns match them as for a root
    /// of `/`.
    pub relative: bool,
    /// rsync's `--files-from` (with `-r`): only the names this file lists, relative to
    /// the one root.
    pub files_from: Option<PathBuf>,
    /// Record security attributes (capabilities, inode flags, ACLs, SELinux label, xattrs).
    pub attrs: bool,
    /// The checksum algorithm (rsync's `--checksum-choice`).
    pub checksum: Algorithm,
    /// Extra digests, lowercase names from `EXTRA_DIGESTS`, none twice nor equal to
    /// `checksum`.
    pub digests: Vec<String>,
    /// Files of known-bad digests.
    pub ioc: Vec<PathBuf>,
    /// Check changed package-owned files against the package manager's digests.
    pub packages: bool,
    /// The baseline `init`, `check` and `update` use.
    pub baseline: PathBuf,
    /// Earlier baselines that `update` keeps (`baseline.fimsum.1`, ...), at most
    /// `MAX_KEEP`.
    pub keep: usize,
    /// The secret key `init` and `update` sign the baseline with, if any.
    pub sign_key: Option<PathBuf>,
    /// The public key `check` and `update` require the baseline's signature to verify
    /// with, if any.
    pub verify_key: Option<PathBuf>,
    /// The `[[rule]]` tables in file order; the last matching one decides.
    pub rules: Vec<RuleConfig>,
}

/// One `[[rule]]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleConfig {
    /// `pattern = "..."` or `patterns = [...]`; never empty once parsed.
    pub patterns: Vec<String>,
    /// The severity of a change to a matching entry.
    pub severity: Severity,
    /// `attributes`, groups expanded; all of them when the key is left out.
    pub attributes: Attributes,
    /// Whether matching files may grow without a report (logs): see [`crate::fim::policy`].
    pub growing: bool,
    /// `diff = true` keeps a snapshot of matching files' content for a later diff,
    /// `diff = false` stops a broader rule's; `None` when the rule does not say, and the
    /// rules before it decide (see [`crate::fim::policy::Policy::content_rule`]).
    pub diff: Option<bool>,
    /// `secret = true`: matching files hold secrets, and keep only line digests, whatever
    /// later rules say.
    pub secret: bool,
    /// False for a rule without `severity`, which gives only `diff` or `secret`: it takes no
    /// part in deciding severities and attributes (its `severity` and `attributes` are then
    /// placeholders), so it can be appended at the end without overriding the rules above.
    pub judges: bool,
    /// Line of the `[[rule]]` header, for reports that say which rule decided.
    pub line: Option<usize>,
}

/// Why a config could not be used: the file, the position when there is one, and what.
#[derive(Debug)]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// 1-based line and column (in characters).
    pub line: Option<usize>,
    /// The column, with `line`.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    source: Option<io::Error>,
}

impl ConfigError {
    /// The error came from reading the file, not from what it says.
    pub(crate) fn io_error(&self) -> Option<&io::Error> {
        self.source.as_ref()
    }
}

impl fmt::Display for ConfigError {
    /// `FILE:LINE:COLUMN: MESSAGE`, the form editors and compilers use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Default for Config {
    /// The built-in policy: exactly [`Config::default_text`] parsed.
    fn default() -> Config {
        builtin().clone()
    }
}

fn builtin() -> &'static Config {
    static BUILTIN: OnceLock<Config> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        // A constant of this crate, parsed by the tests: failing here is a build defect.
        parse_with(DEFAULT_TEXT, Path::new(BUILTIN_NAME), None)
            .unwrap_or_else(|e| panic!("the built-in config is invalid: {e}"))
    })
}

impl Config {
    /// The built-in policy as the commented TOML document `fimsum config --default`
    /// prints; [`Config::default`] is its parse.
    pub fn default_text() -> &'static str {
        DEFAULT_TEXT
    }

    /// Parses a config read from `path` (used in messages and to resolve relative paths).
    ///
    /// # Errors
    /// TOML syntax, an unknown key, a value of the wrong type or out of range, a pattern
    /// that rsync would reject or that can never match; the error gives the position.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        parse_with(text, path, Some(builtin()))
    }

    /// Reads and parses the config file at `path`.
    ///
    /// # Errors
    /// As [`Config::parse`], or the file cannot be read, or others than its owner may
    /// write it: whoever can edit the policy can switch the monitoring off.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read_trusted(path)?;
        Config::parse(&text, path)
    }

    /// The config that `init`, `check` and `update` use: `explicit` (`--config FILE`),
    /// which must exist; else [`DEFAULT_PATH`] if it exists; else the built-in policy.
    ///
    /// # Errors
    /// As [`Config::load`]; a [`DEFAULT_PATH`] that exists but cannot be read is an error
    /// too, not a reason to fall back silently.
    pub fn load_or_default(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        match explicit {
            Some(path) => Config::load(path),
            None => match Config::load(Path::new(DEFAULT_PATH)) {
                Err(e) if e.io_error().map(io::Error::kind) == Some(io::ErrorKind::NotFound) => {
                    Ok(Config::default())
                }
                result => result,
            },
        }
    }
}

fn read_trusted(path: &Path) -> Result<String, ConfigError> {
    let io_error = |e: io::Error| ConfigError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message: e.to_string(),
        source: Some(e),
    };
    let file = crate::input::open_file(path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    let euid = rustix::process::geteuid().as_raw();
    let problem = if meta.mode() & 0o022 != 0 {
        Some("is writable by its group or by others")
    } else if meta.uid() != euid && meta.uid() != 0 {
        Some("is owned by another user")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(ConfigError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message: format!("{problem}: whoever can edit the policy can switch it off"),
            source: None,
        });
    }
    let data =
        crate::input::read_bounded(file, CONFIG_FILE_LIMIT, "config file").map_err(io_error)?;
    String::from_utf8(data).map_err(|_| {
        io_error(io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })
}

/// The largest config file read: a million rules fit in it many times over.
const CONFIG_FILE_LIMIT: u64 = 64 << 20;

/// The file as written, each key optional so that a missing one can take its default,
/// values that need checking spanned so that errors can point at them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    roots: Option<Spanned<Vec<Spanned<String>>>>,
    exclude: Option<Vec<Spanned<String>>>,
    filters: Option<Vec<Spanned<String>>>,
    max_size: Option<Spanned<String>>,
    min_size: Option<Spanned<String>>,
    skip_fs: Option<Vec<Spanned<String>>>,
    one_file_system: Option<bool>,
    relative: Option<bool>,
    files_from: Option<Spanned<String>>,
    attrs: Option<bool>,
    checksum: Option<Spanned<String>>,
    digests: Option<Vec<Spanned<String>>>,
    ioc: Option<Vec<Spanned<String>>>,
    packages: Option<bool>,
    baseline: Option<Spanned<String>>,
    keep: Option<Spanned<usize>>,
    sign_key: Option<Spanned<String>>,
    verify_key: Option<Spanned<String>>,
    rule: Option<Vec<Spanned<RawRule>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    pattern: Option<Spanned<String>>,
    patterns: Option<Spanned<Vec<Spanned<String>>>>,
    severity: Option<Severity>,
    attributes: Option<Vec<Spanned<String>>>,
    growing: Option<Spanned<bool>>,
    diff: Option<bool>,
    secret: Option<bool>,
}

/// The text being parsed, to turn byte offsets into positions.
struct Source<'a> {
    text: &'a str,
    lines: Lines,
    path: &'a Path,
    /// Values for keys the file leaves out; `None` while parsing the built-in config,
    /// which must give them all.
    defaults: Option<&'a Config>,
}

impl Source<'_> {
    fn error(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ConfigError {
        let (line, column) = match span {
            Some(span) => {
                let (line, column) = self.lines.position(self.text, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        ConfigError {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
            source: None,
        }
    }

    fn at<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        self.error(Some(value.span()), message)
    }

    fn default_of<T>(&self, key: &str, value: impl FnOnce(&Config) -> T) -> Result<T, ConfigError> {
        match self.defaults {
            Some(defaults) => Ok(value(defaults)),
            None => Err(self.error(None, format!("missing key `{key}`"))),
        }
    }

    /// A path from the file: relative ones are taken from the file's directory, so that a
    /// config means the same wherever fimsum is started from.
    fn path_value(&self, key: &str, value: &Spanned<String>) -> Result<PathBuf, ConfigError> {
        let text = value.get_ref();
        if text.is_empty() || text.contains('\0') {
            return Err(self.at(value, format!("{key}: {text:?} is not a path")));
        }
        let path = Path::new(text);
        Ok(match self.path.parent() {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        })
    }
}

/// Where each line of a text starts, found once: every `[[rule]]` is given its line, and
/// counting the newlines before each anew would make a config of many rules take time
/// quadratic in its length.
struct Lines {
    /// Byte offsets of the line starts, ascending; the first is 0.
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines { starts }
    }

    /// 1-based line and column (in characters) of a byte offset into `text`, the text this
    /// was made from. An offset inside a character counts as that character's; one past the
    /// end as the end.
    fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        // Lines that start at or before the offset: never zero, as the first starts at 0.
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line - 1];
        (line, text[start..offset].chars().count() + 1)
    }
}

/// 1-based line and column (in characters) of a byte offset.
#[cfg(test)]
fn position(text: &str, offset: usize) -> (usize, usize) {
    Lines::new(text).position(text, offset)
}

fn parse_with(text: &str, path: &Path, defaults: Option<&Config>) -> Result<Config, ConfigError> {
    let src = Source {
        text,
        lines: Lines::new(text),
        path,
        defaults,
    };
    let raw: RawConfig =
        toml::from_str(text).map_err(|e| src.error(e.span(), e.message().trim_end()))?;

    let roots = match raw.roots {
        Some(list) => parse_roots(&src, list)?,
        None => src.default_of("roots", |c| c.roots.clone())?,
    };
    let exclude = match raw.exclude {
        Some(list) => parse_exclude(&src, list)?,
        None => src.default_of("exclude", |c| c.exclude.clone())?,
    };
    let filters = match raw.filters {
        Some(list) => parse_filters(&src, list)?,
        None => src.default_of("filters", |c| c.filters.clone())?,
    };
    // Not given by the built-in config (TOML has no "none"): no limit unless a file says so.
    let size = |key: &str, value: Option<Spanned<String>>, default: fn(&Config) -> Option<u64>| {
        match value {
            Some(text) => crate::rsync::size::parse_size(text.get_ref(), &key.replace('_', "-"))
                .map(Some)
                .map_err(|e| src.at(&text, format!("{key}: {e}"))),
            None => Ok(src.defaults.and_then(default)),
        }
    };
    let max_size = size("max_size", raw.max_size, |c| c.max_size)?;
    let min_size = size("min_size", raw.min_size, |c| c.min_size)?;
    let skip_fs = match raw.skip_fs {
        Some(list) => parse_skip_fs(&src, list)?,
        None => src.default_of("skip_fs", |c| c.skip_fs.clone())?,
    };
    let checksum = match raw.checksum {
        Some(name) => name
            .get_ref()
            .parse::<Algorithm>()
            .map_err(|e| src.at(&name, format!("checksum: {e}")))?,
        None => src.default_of("checksum", |c| c.checksum)?,
    };
    let digests = match raw.digests {
        Some(list) => parse_digests(&src, list, checksum)?,
        None => src.default_of("digests", |c| c.digests.clone())?,
    };
    let ioc = match raw.ioc {
        Some(list) => list
            .iter()
            .map(|p| src.path_value("ioc", p))
            .collect::<Result<_, _>>()?,
        None => src.default_of("ioc", |c| c.ioc.clone())?,
    };
    let baseline = match raw.baseline {
        Some(path) => src.path_value("baseline", &path)?,
        None => src.default_of("baseline", |c| c.baseline.clone())?,
    };
    // Not given by the built-in config (TOML has no "none"): no key unless a file says so.
    let key_path =
        |key: &str, value: Option<Spanned<String>>, default: fn(&Config) -> Option<PathBuf>| {
            match value {
                Some(path) => src.path_value(key, &path).map(Some),
                None => Ok(src.defaults.and_then(default)),
            }
        };
    let sign_key = key_path("sign_key", raw.sign_key, |c| c.sign_key.clone())?;
    let verify_key = key_path("verify_key", raw.verify_key, |c| c.verify_key.clone())?;
    // Not given by the built-in config: off unless a file says so.
    let relative = raw
        .relative
        .unwrap_or_else(|| src.defaults.is_some_and(|c| c.relative));
    let roots = match relative {
        true => roots
            .into_iter()
            .map(|root| match root.contains("/./") {
                true => root,
                false => format!("/.{root}"),
            })
            .collect(),
        false => roots,
    };
    let files_from = key_path("files_from", raw.files_from, |c| c.files_from.clone())?;
    if files_from.is_some() && roots.len() != 1 {
        return Err(src.error(
            None,
            "files_from takes one root: the directory its names are relative to",
        ));
    }
    let rules = match raw.rule {
        Some(tables) => tables
            .into_iter()
            .map(|table| parse_rule(&src, table))
            .collect::<Result<_, _>>()?,
        None => src.default_of("rule", |c| c.rules.clone())?,
    };
    Ok(Config {
        roots,
        exclude,
        filters,
        max_size,
        min_size,
        skip_fs,
        one_file_system: match raw.one_file_system {
            Some(value) => value,
            None => src.default_of("one_file_system", |c| c.one_file_system)?,
        },
        relative,
        files_from,
        attrs: match raw.attrs {
            Some(value) => value,
            None => src.default_of("attrs", |c| c.attrs)?,
        },
        checksum,
        digests,
        ioc,
        packages: match raw.packages {
            Some(value) => value,
            None => src.default_of("packages", |c| c.packages)?,
        },
        baseline,
        keep: match raw.keep {
            Some(value) if *value.get_ref() > MAX_KEEP => {
                return Err(src.at(
                    &value,
                    format!("keep: {} is more than {MAX_KEEP}", value.get_ref()),
                ));
            }
            Some(value) => value.into_inner(),
            None => src.default_of("keep", |c| c.keep)?,
        },
        sign_key,
        verify_key,
        rules,
    })
}

fn parse_roots(
    src: &Source,
    list: Spanned<Vec<Spanned<String>>>,
) -> Result<Vec<String>, ConfigError> {
    if list.get_ref().is_empty() {
        return Err(src.at(&list, "roots: nothing to scan"));
    }
    list.into_inner()
        .into_iter()
        .map(|root| {
            // Relative roots would depend on the directory fimsum is started from, and
            // rules match absolute paths.
            if !root.get_ref().starts_with('/') || root.get_ref().contains('\0') {
                return Err(src.at(
                    &root,
                    format!("roots: {:?} is not an absolute path", root.get_ref()),
                ));
            }
            Ok(root.into_inner())
        })
        .collect()
}

fn parse_exclude(src: &Source, list: Vec<Spanned<String>>) -> Result<Vec<String>, ConfigError> {
    // Compiled here only to be checked, each with rsync's own rules, so that the walk
    // cannot fail on them later.
    let mut filter = Filter::new();
    list.into_iter()
        .map(|rule| {
            filter
                .exclude(rule.get_ref().as_bytes())
                .map_err(|e| src.at(&rule, format!("exclude: {e}")))?;
            Ok(rule.into_inner())
        })
        .collect()
}

fn parse_filters(src: &Source, list: Vec<Spanned<String>>) -> Result<Vec<String>, ConfigError> {
    // Checked here with rsync's own rules, as `exclude` is. A merge rule would read a file
    // of rules at every scan, which a config does better by listing them; a dir-merge rule
    // would take rules from files in the checked tree, so that whoever can write a
    // directory under a root could leave files out of the check.
    use crate::rsync::filter::{parse_filter_rule, FilterRule};
    let mut filter = Filter::new();
    list.into_iter()
        .map(|rule| {
            let why = match parse_filter_rule(rule.get_ref().as_bytes()) {
                Ok(FilterRule::Merge { .. }) => {
                    Some("filters: a merge rule has no place here: list its rules")
                }
                Ok(FilterRule::DirMerge { .. }) => Some(
                    "filters: a dir-merge rule would take rules from files in the checked \
                     tree, which anyone who can write a directory there could use to hide \
                     files: list the rules",
                ),
                _ => None,
            };
            if let Some(why) = why {
                return Err(src.at(&rule, why.to_string()));
            }
            filter
                .filter_rule(rule.get_ref().as_bytes())
                .map_err(|e| src.at(&rule, format!("filters: {e}")))?;
            Ok(rule.into_inner())
        })
        .collect()
}

fn parse_skip_fs(src: &Source, list: Vec<Spanned<String>>) -> Result<Vec<String>, ConfigError> {
    list.into_iter()
        .map(|name| match fs_types::fs_type_magics(name.get_ref()) {
            Ok(_) => Ok(name.into_inner()),
            Err(e) => Err(src.at(&name, format!("skip_fs: {e}"))),
        })
        .collect()
}

fn parse_digests(
    src: &Source,
    list: Vec<Spanned<String>>,
    checksum: Algorithm,
) -> Result<Vec<String>, ConfigError> {
    let mut digests: Vec<String> = Vec::new();
    for name in list {
        let lower = name.get_ref().to_ascii_lowercase();
        if !EXTRA_DIGESTS.contains(&lower.as_str()) {
            let known = EXTRA_DIGESTS.join(", ");
            return Err(src.at(
                &name,
                format!("digests: unknown digest {:?} ({known})", name.get_ref()),
            ));
        }
        if lower == checksum.name() || digests.contains(&lower) {
            return Err(src.at(&name, format!("digests: {lower} is already recorded")));
        }
        digests.push(lower);
    }
    Ok(digests)
}

fn parse_rule(src: &Source, table: Spanned<RawRule>) -> Result<RuleConfig, ConfigError> {
    let span = table.span();
    let line = src.lines.position(src.text, span.start).0;
    let raw = table.into_inner();
    let patterns = match (raw.pattern, raw.patterns) {
        (Some(one), None) => vec![one],
        (None, Some(list)) if list.get_ref().is_empty() => {
            return Err(src.at(&list, "rule: `patterns` is empty"));
        }
        (None, Some(list)) => list.into_inner(),
        (Some(one), Some(_)) => {
            return Err(src.at(&one, "rule: give `pattern` or `patterns`, not both"));
        }
        (None, None) => {
            return Err(src.error(Some(span), "rule: missing `pattern` or `patterns`"));
        }
    };
    for pattern in &patterns {
        Pattern::compile(pattern.get_ref())
            .map(drop)
            .map_err(|e| src.at(pattern, format!("rule: {e}")))?;
    }
    let attributes_given = raw.attributes.is_some();
    let attributes = match raw.attributes {
        Some(names) => names.iter().try_fold(Attributes::NONE, |set, name| {
            severity::parse_attribute_name(name.get_ref())
                .map(|more| set.union(more))
                .map_err(|e| src.at(name, format!("rule: {e}")))
        })?,
        None => Attributes::ALL,
    };
    let growing = match raw.growing {
        Some(flag) => {
            let judges_nothing =
                !attributes.contains(Attribute::Content) && !attributes.contains(Attribute::Size);
            if *flag.get_ref() && judges_nothing {
                return Err(src.at(
                    &flag,
                    "rule: `growing` judges content and size, and neither is in `attributes`",
                ));
            }
            flag.into_inner()
        }
        None => false,
    };
    let judges = raw.severity.is_some();
    if !judges && (raw.diff.is_none() && raw.secret.is_none() || attributes_given || growing) {
        return Err(src.error(
            Some(span),
            "rule: missing `severity` (only a rule that gives nothing but `diff` or `secret` \
             may leave it out)",
        ));
    }
    Ok(RuleConfig {
        patterns: patterns.into_iter().map(Spanned::into_inner).collect(),
        severity: raw.severity.unwrap_or(Severity::Medium),
        attributes,
        growing,
        diff: raw.diff,
        secret: raw.secret.unwrap_or(false),
        judges,
        line: Some(line),
    })
}

/// The built-in policy for a Linux server, as `fimsum config --default` prints it. It must
/// give every key: it is where a config file's left-out keys take their values from.
///
/// The text is written once, in `fimsum.toml` beside this file; scripts/gen-dist.sh copies
/// it to dist/fimsum.toml, the package's /etc/fimsum.toml, and tests/dist.rs fails when
/// the copy is out of date. It lives inside the crate, not in dist/, because `cargo package` ships
/// only the crate's own folder: an `include_str!` reaching outside it would not build from
/// the published package.
const DEFAULT_TEXT: &str = include_str!("fimsum.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/fimsum.toml"))
    }

    fn ok(text: &str) -> Config {
        match parse(text) {
            Ok(config) => config,
            Err(e) => panic!("rejected: {e}"),
        }
    }

    /// Parses `text`, which must fail; returns the error's line and its display.
    fn error(text: &str) -> (Option<usize>, String) {
        match parse(text) {
            Ok(config) => panic!("accepted: {text}\n{config:?}"),
            Err(e) => (e.line, e.to_string()),
        }
    }

    const TWO_RULES: &str = "\
roots = [\"/\"]

[[rule]]
pattern = \"/etc/***\"
severity = \"medium\"

[[rule]]
patterns = [\"/etc/shadow\", \"/etc/passwd\"]
severity = \"critical\"
";

    #[test]
    fn unknown_top_level_key_names_key_and_line() {
        let (line, message) = error("roots = [\"/\"]\n\nbasline = \"/b\"\n");
        assert_eq!(line, Some(3));
        assert!(
            message.starts_with("/etc/fimsum.toml:3:1: unknown field `basline`"),
            "{message}"
        );
        assert!(message.contains("`baseline`"), "lists the keys: {message}");
    }

    #[test]
    fn unknown_rule_key_names_key_and_line() {
        let text = format!("{TWO_RULES}colour = \"red\"\n");
        let (line, message) = error(&text);
        assert_eq!(line, Some(10));
        assert!(message.contains("unknown field `colour`"), "{message}");
        assert!(message.contains("`severity`"), "{message}");
        let (line, message) =
            error("[[rule]]\npattern = \"/x\"\nseverity = \"low\"\nignore = true\n");
        assert_eq!(line, Some(4));
        assert!(message.contains("`ignore`"), "{message}");
    }

    #[test]
    fn filters_and_size_limits() {
        let config = ok("filters = [\"- *.o\", \"hide,! */\", \"P keep\"]\nmax_size = \"1.5k\"\nmin_size = \"1kb\"\n");
        assert_eq!(config.filters, ["- *.o", "hide,! */", "P keep"]);
        assert_eq!(config.max_size, Some(1536));
        assert_eq!(config.min_size, Some(1000));
        let default = Config::default();
        assert!(default.filters.is_empty());
        assert_eq!((default.max_size, default.min_size), (None, None));
        for (text, said) in [
            ("filters = [\"-foo\"]\n", "invalid modifier"),
            ("filters = [\". rules\"]\n", "merge rule"),
            ("filters = [\": .rsync-filter\"]\n", "dir-merge rule"),
            ("filters = [\"dir-merge,- .ignore\"]\n", "dir-merge rule"),
            ("max_size = \"1x\"\n", "--max-size=1x is invalid"),
            ("min_size = \"-1\"\n", "--min-size=-1 is invalid"),
        ] {
            let (line, message) = error(text);
            assert_eq!(line, Some(1), "{text}: {message}");
            assert!(message.contains(said), "{text}: {message}");
        }
    }

    #[test]
    fn bad_severity_names_value_and_line() {
        let text = TWO_RULES.replace("\"critical\"", "\"urgent\"");
        let (line, message) = error(&text);
        assert_eq!(line, Some(9));
        assert!(
            message.contains(":9:12: unknown severity \"urgent\""),
            "{message}"
        );
        let (line, message) = error("[[rule]]\npattern = \"/x\"\n");
        assert_eq!(line, Some(1), "the rule's header");
        assert!(message.contains("missing `severity`"), "{message}");
        let (_, message) = error("[[rule]]\npattern = \"/x\"\nseverity = 3\n");
        assert!(message.contains(":3:12:"), "{message}");
    }

    #[test]
    fn diff_and_secret_options() {
        let config = ok("[[rule]]\npattern = \"/etc/***\"\nseverity = \"high\"\n\
             [[rule]]\npattern = \"/etc/**\"\ndiff = true\n\
             [[rule]]\npattern = \"/etc/x\"\nsecret = true\ndiff = false\n");
        let r = &config.rules;
        assert_eq!((r[0].diff, r[0].secret, r[0].judges), (None, false, true));
        assert_eq!(
            (r[1].diff, r[1].secret, r[1].judges),
            (Some(true), false, false)
        );
        assert_eq!(
            (r[2].diff, r[2].secret, r[2].judges),
            (Some(false), true, false)
        );
        // Without a severity a rule may say nothing else.
        for bad in [
            "[[rule]]\npattern = \"/x\"\ndiff = true\nattributes = [\"mode\"]\n",
            "[[rule]]\npattern = \"/x\"\ndiff = true\ngrowing = true\n",
        ] {
            let (line, message) = error(bad);
            assert_eq!(line, Some(1), "{bad}");
            assert!(message.contains("missing `severity`"), "{message}");
        }
        let (_, message) = error("[[rule]]\npattern = \"/x\"\nseverity = \"low\"\ndiff = 1\n");
        assert!(message.contains("invalid type"), "{message}");
    }

    #[test]
    fn bad_attribute_names_value_and_line() {
        let text = "[[rule]]\npattern = \"/x\"\nseverity = \"high\"\nattributes = [\n  \"mode\",\n  \"md5\",\n]\n";
        let (line, message) = error(text);
        assert_eq!(line, Some(6));
        assert!(
            message.contains(":6:3: rule: unknown attribute \"md5\""),
            "{message}"
        );
        assert!(message.contains("groups: all, perms, data"), "{message}");
    }

    #[test]
    fn attributes_expand_groups_and_default_to_all() {
        let config = ok("[[rule]]\npattern = \"/a\"\nseverity = \"low\"\n\
             [[rule]]\npattern = \"/b\"\nseverity = \"low\"\nattributes = [\"perms\", \"content\"]\n\
             [[rule]]\npattern = \"/c\"\nseverity = \"low\"\nattributes = []\n");
        assert_eq!(config.rules[0].attributes, Attributes::ALL);
        assert_eq!(
            config.rules[1].attributes.to_string(),
            "type,content,mode,owner,group,caps,flags,acl,selinux"
        );
        assert_eq!(config.rules[2].attributes, Attributes::NONE);
    }

    #[test]
    fn rule_pattern_forms_and_lines() {
        let config = ok(TWO_RULES);
        assert_eq!(config.rules.len(), 2);
        assert_eq!(config.rules[0].patterns, ["/etc/***"]);
        assert_eq!(config.rules[1].patterns, ["/etc/shadow", "/etc/passwd"]);
        assert_eq!(config.rules[0].line, Some(3));
        assert_eq!(config.rules[1].line, Some(7));
        assert_eq!(config.rules[1].severity, Severity::Critical);
        assert!(!config.rules[1].growing);

        let both = "[[rule]]\npattern = \"/a\"\npatterns = [\"/b\"]\nseverity = \"low\"\n";
        assert!(error(both).1.contains("not both"));
        let neither = "\n[[rule]]\nseverity = \"low\"\n";
        let (line, message) = error(neither);
        assert_eq!(line, Some(2));
        assert!(
            message.contains("missing `pattern` or `patterns`"),
            "{message}"
        );
        let empty = "[[rule]]\npatterns = []\nseverity = \"low\"\n";
        assert!(error(empty).1.contains("`patterns` is empty"));
    }

    #[test]
    fn patterns_that_cannot_match_are_errors_with_their_line() {
        let text =
            "[[rule]]\npatterns = [\n  \"/etc/***\",\n  \"/etc/[abc\",\n]\nseverity = \"low\"\n";
        let (line, message) = error(text);
        assert_eq!(line, Some(4));
        assert!(message.contains("never closed"), "{message}");
        let (_, message) = error("[[rule]]\npattern = \"/\"\nseverity = \"low\"\n");
        assert!(message.contains("matches nothing"), "{message}");
        let long = format!(
            "[[rule]]\npattern = \"/{}\"\nseverity = \"low\"\n",
            "a".repeat(4100)
        );
        assert!(error(&long).1.contains("too long"));
    }

    #[test]
    fn growing_flag() {
        let config = ok("[[rule]]\npattern = \"/var/log/***\"\nseverity = \"low\"\n\
             attributes = [\"perms\", \"size\"]\ngrowing = true\n");
        assert!(config.rules[0].growing);
        let text = "[[rule]]\npattern = \"/var/log/***\"\nseverity = \"low\"\n\
                    attributes = [\"perms\"]\ngrowing = true\n";
        let (line, message) = error(text);
        assert_eq!(line, Some(5));
        assert!(message.contains("`growing`"), "{message}");
        let (_, message) =
            error("[[rule]]\npattern = \"/l\"\nseverity = \"low\"\ngrowing = \"yes\"\n");
        assert!(message.contains(":4:11:"), "{message}");
    }

    #[test]
    fn default_text_parses_to_the_default_config() {
        let parsed = ok(Config::default_text());
        assert_eq!(parsed, Config::default());
        // Every key is in the text: the built-in config is parsed without fallbacks.
        let strict = parse_with(Config::default_text(), Path::new("x"), None);
        assert!(strict.is_ok());
        let config = Config::default();
        assert_eq!(config.roots, ["/"]);
        assert_eq!(
            config.baseline,
            Path::new("/var/lib/fimsum/baseline.fimsum")
        );
        assert_eq!(config.checksum, Algorithm::Md5);
        assert_eq!(config.keep, 1);
        assert!(config.rules.len() >= 10);
        assert!(config.rules.iter().all(|r| r.line.is_some()));
        for name in fs_types::VIRTUAL_FS {
            assert!(config.skip_fs.iter().any(|s| s == name), "{name}");
        }
        assert!(
            !config.skip_fs.iter().any(|s| s == "tmpfs"),
            "would skip /dev"
        );
        assert!(crate::fim::policy::Policy::new(&config).is_ok());
    }

    #[test]
    fn default_excludes_keep_ssh_keys_in_home() {
        let mut filter = Filter::new();
        for rule in &Config::default().exclude {
            assert!(filter.exclude(rule.as_bytes()).is_ok(), "{rule}");
        }
        let excluded = |name: &str, is_dir: bool| filter.is_excluded(name.as_bytes(), is_dir);
        assert!(excluded("proc", true));
        assert!(excluded("var/tmp", true));
        assert!(excluded("swapfile", false));
        assert!(!excluded("proc", false), "a file named proc is not /proc/");
        assert!(!excluded("home", true));
        assert!(!excluded("home/ann", true));
        assert!(!excluded("home/ann/.ssh", true));
        assert!(!excluded("home/ann/.ssh/authorized_keys", false));
        assert!(excluded("home/ann/.bashrc", false));
        assert!(excluded("home/ann/src", true));
        assert!(!excluded("etc/passwd", false));
    }

    #[test]
    fn left_out_keys_keep_their_default_and_given_ones_replace_it() {
        let config = ok("baseline = \"/srv/fim/base.fimsum\"\n");
        let default = Config::default();
        assert_eq!(config.baseline, Path::new("/srv/fim/base.fimsum"));
        assert_eq!(config.rules, default.rules);
        assert_eq!(config.exclude, default.exclude);
        let config = ok("rule = []\nexclude = []\nroots = [\"/etc/\", \"/usr/bin\"]\nkeep = 3\n");
        assert!(config.rules.is_empty() && config.exclude.is_empty());
        assert_eq!(config.roots, ["/etc/", "/usr/bin"]);
        assert_eq!(config.keep, 3);
        assert_eq!(config.skip_fs, default.skip_fs);
    }

    #[test]
    fn relative_paths_are_taken_from_the_config_directory() {
        let text = "baseline = \"base.fimsum\"\nioc = [\"bad/md5.txt\", \"/abs/ioc\"]\n";
        let config = match Config::parse(text, Path::new("/srv/fim/fimsum.toml")) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(config.baseline, Path::new("/srv/fim/base.fimsum"));
        assert_eq!(
            config.ioc,
            [Path::new("/srv/fim/bad/md5.txt"), Path::new("/abs/ioc")]
        );
        assert!(error("baseline = \"\"\n").1.contains("not a path"));
    }

    #[test]
    fn scalar_and_list_values_are_checked() {
        let (line, message) = error("\nroots = [\"/\", \"srv/\"]\n");
        assert_eq!(line, Some(2));
        assert!(
            message.contains("\"srv/\" is not an absolute path"),
            "{message}"
        );
        assert!(error("roots = []\n").1.contains("nothing to scan"));
        assert!(error("keep = -1\n").1.contains(":1:8:"));
        assert!(error("checksum = \"sha256\"\n")
            .1
            .contains("not one of rsync's checksum algorithms"));
        assert!(error("checksum = \"sha3\"\n")
            .1
            .contains("unknown checksum algorithm"));
        assert_eq!(ok("checksum = \"XXH128\"\n").checksum, Algorithm::Xxh128);
        assert_eq!(
            ok("digests = [\"SHA256\", \"sha1\"]\n").digests,
            ["sha256", "sha1"]
        );
        assert!(error("digests = [\"sha3\"]\n").1.contains("unknown digest"));
        assert!(error("digests = [\"xxh128\"]\n")
            .1
            .contains("(md5, sha1, sha256)"));
        assert!(error("digests = [\"md5\"]\n")
            .1
            .contains("already recorded"));
        assert!(error("digests = [\"sha1\", \"sha1\"]\n")
            .1
            .contains("already recorded"));
        let (_, message) = error("skip_fs = [\"proc\", \"zfs\"]\n");
        assert!(
            message.contains(":1:20: skip_fs: unknown filesystem type \"zfs\""),
            "{message}"
        );
        assert_eq!(ok("skip_fs = [\"0x2fc12fc1\"]\n").skip_fs, ["0x2fc12fc1"]);
        let (_, message) = error("exclude = [\"/proc/\", \"- \"]\n");
        assert!(
            message.contains(":1:22: exclude: unexpected end of filter rule"),
            "{message}"
        );
        assert!(error("packages = \"yes\"\n").1.contains(":1:12:"));
        assert!(error("roots = [\"/\"]\nroots = [\"/\"]\n")
            .1
            .contains(":2:"));
        assert!(
            error("roots = [\"/\"\n").0.is_some(),
            "syntax errors have a position"
        );
    }

    #[test]
    fn positions_count_lines_and_characters() {
        assert_eq!(position("abc", 0), (1, 1));
        assert_eq!(position("a\nbc", 3), (2, 2));
        assert_eq!(position("é\né=x", 5), (2, 2), "columns in characters");
        assert_eq!(position("é", 1), (1, 1), "inside a character");
        assert_eq!(position("ab", 99), (1, 3));
        let (_, message) = error("# é\n\"ünknown\" = 1\n");
        assert!(
            message.contains(":2:1: unknown field `ünknown`"),
            "{message}"
        );
    }

    #[test]
    fn absurd_keep_is_refused_with_its_line() {
        assert_eq!(ok("keep = 1000\n").keep, 1000);
        assert_eq!(ok("keep = 0\n").keep, 0);
        for huge in ["1001", "18446744073709551615"] {
            let (line, message) = error(&format!("# old ones\nkeep = {huge}\n"));
            assert_eq!(line, Some(2), "{message}");
            assert!(message.contains("keep"), "{message}");
        }
    }

    /// How positions were found before the line index: by counting the newlines before the
    /// offset, for each offset anew.
    fn position_by_rescan(text: &str, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        (line, before[line_start..].chars().count() + 1)
    }

    #[test]
    fn config_position_index_gives_the_positions_of_a_rescan() {
        let texts = [
            "",
            "\n",
            "\n\n\nx",
            "abc",
            "a\nbc\n",
            "é\né=x\n\n[[rule]]\npattern = \"/€/***\"\n",
            Config::default_text(),
        ];
        for text in texts {
            let lines = Lines::new(text);
            // Every offset of the short texts, a sample of the default's.
            let step = if text.len() > 100 { 7 } else { 1 };
            for offset in (0..=text.len() + 2).step_by(step) {
                assert_eq!(
                    lines.position(text, offset),
                    position_by_rescan(text, offset),
                    "{text:?} at {offset}"
                );
            }
        }
    }

    /// Every rule is given its line: with the newlines counted anew for each, 100,000 rules
    /// took about a minute to load.
    #[test]
    fn config_of_100000_rules_loads_with_each_rule_s_line() {
        let mut text = String::new();
        for i in 0..100_000 {
            text.push_str(&format!(
                "[[rule]]\npattern = \"/srv/d{i}/***\"\nseverity = \"low\"\n\n"
            ));
        }
        let config = ok(&text);
        assert_eq!(config.rules.len(), 100_000);
        assert_eq!(config.rules[0].line, Some(1));
        assert_eq!(config.rules[99_999].line, Some(4 * 99_999 + 1));
    }

    #[test]
    fn load_reads_owned_files_and_refuses_writable_ones() {
        use std::fs;
        use std::os::unix::fs::PermissionsExt;
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("fimsum.toml");
        let write = |text: &str, mode: u32| {
            fs::write(&path, text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        };
        write("keep = 2\nbaseline = \"b.fimsum\"\n", 0o644);
        let config = Config::load(&path).unwrap();
        assert_eq!(config.keep, 2);
        assert_eq!(config.baseline, dir.path().join("b.fimsum"));
        assert_eq!(Config::load_or_default(Some(&path)).unwrap(), config);
        write("keep = 2\n", 0o664);
        let e = Config::load(&path).unwrap_err();
        assert!(
            e.to_string().contains("writable by its group or by others"),
            "{e}"
        );
        write("keep = 2\nkep = 3\n", 0o600);
        let e = Config::load(&path).unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(1)));
        assert!(e
            .to_string()
            .starts_with(&format!("{}:2:1: ", path.display())));
        let missing = dir.path().join("none.toml");
        let e = Config::load_or_default(Some(&missing)).unwrap_err();
        assert_eq!(
            e.io_error().map(io::Error::kind),
            Some(io::ErrorKind::NotFound)
        );
        assert!(e.line.is_none());
    }

    #[test]
    fn relative_and_files_from() {
        let default = Config::default();
        assert!(!default.relative && default.files_from.is_none());
        let config = ok("roots = [\"/etc\", \"/usr/bin/\", \"/srv/./www\"]\nrelative = true\n");
        assert!(config.relative);
        assert_eq!(config.roots, ["/./etc", "/./usr/bin/", "/srv/./www"]);
        let config = ok("roots = [\"/srv\"]\nfiles_from = \"names.txt\"\n");
        assert_eq!(config.files_from, Some(PathBuf::from("/etc/names.txt")));
        let (_, message) = error("roots = [\"/a\", \"/b\"]\nfiles_from = \"n\"\n");
        assert!(message.contains("files_from takes one root"), "{message}");
        let (line, message) = error("relative = \"yes\"\n");
        assert_eq!(line, Some(1), "{message}");
    }
}
