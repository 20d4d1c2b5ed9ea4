//! Differential tests against live rsync: the set of names `Filter` lets through must
//! equal the set the installed rsync transfers, for the same rules and the same tree.
//! (The recorded filter cases in baselines/rsync check the same without rsync.)
//!
//! Skipped (with a notice) when no `rsync` is on PATH. Set
//! `FIMSUM_FUZZ_CASES` to run more random rule sets than the default 150, and
//! `FIMSUM_FUZZ_SEED` (a u64) to draw a different set.

use fimsum::rsync::escape::unescape;
use fimsum::rsync::filter::{parse_filter_rule, Filter, FilterRule};
use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::util::{rsync_available, stderr, Rng};

type Names = BTreeSet<Vec<u8>>;

/// One filter option, as given to rsync and to `Filter`.
#[derive(Clone, Debug)]
enum Opt {
    Exclude(Vec<u8>),
    Include(Vec<u8>),
    ExcludeFrom(Vec<u8>),
    IncludeFrom(Vec<u8>),
    /// `--from0 --exclude-from` (so use it alone: --from0 affects every file).
    ExcludeFrom0(Vec<u8>),
    /// `--filter RULE`, in rsync's full rule syntax.
    Rule(Vec<u8>),
    /// `--filter 'MERGE FILE'`: the rule's letter and modifiers (`.`, `.-`, `merge,+`),
    /// and the file's contents.
    Merge(&'static str, Vec<u8>),
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> io::Result<TempDir> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "fimsum-filter-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        fs::create_dir(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Files, directories (trailing '/') and symlinks ("name -> target") that
/// exercise every rule kind, plus names with spaces, wildcard characters,
/// control characters and non-UTF-8 bytes.
const TREE: &[&[u8]] = &[
    b"a.o",
    b"b.c",
    b"README",
    b".hidden/",
    b".hidden/x.o",
    b"sub/",
    b"sub/a.o",
    b"sub/b.c",
    b"sub/deep/",
    b"sub/deep/a.o",
    b"sub/deep/z",
    b"sub/deep/more/",
    b"sub/deep/more/b.c",
    b"foo/",
    b"foo/bar/",
    b"foo/bar/z",
    b"foo/baz",
    b"x/",
    b"x/foo/",
    b"x/foo/bar/",
    b"x/foo/bar/q",
    b"x/foo/bar2",
    b"src/",
    b"src/x",
    b"a/",
    b"a/b/",
    b"a/b/c/",
    b"a/b/c/d",
    b"empty/",
    b"sp ace",
    b"[lit]",
    b"star*",
    b"q?",
    b"back\\slash",
    b"!bang",
    b"- dash",
    b". FILE",
    b": x",
    b"foo ",
    b"-",
    b"tab\there",
    b"nl\nname",
    b"\xe9t\xe9",
    b"caf\xc3\xa9",
    b"\xff",
    b"d\xfe/",
    b"d\xfe/a.o",
    b"lnk -> sub",
    b"flnk -> a.o",
];

fn build_tree(root: &Path) -> io::Result<()> {
    for entry in TREE {
        if let Some(arrow) = entry.windows(4).position(|w| w == b" -> ") {
            let link = root.join(OsStr::from_bytes(&entry[..arrow]));
            std::os::unix::fs::symlink(OsStr::from_bytes(&entry[arrow + 4..]), link)?;
        } else if let Some(dir) = entry.strip_suffix(b"/") {
            fs::create_dir(root.join(OsStr::from_bytes(dir)))?;
        } else {
            fs::write(root.join(OsStr::from_bytes(entry)), b"data")?;
        }
    }
    Ok(())
}

/// Walks `dir` the way rsync's sender does: an excluded entry is dropped and
/// an excluded directory is not entered.
fn walk(dir: &Path, prefix: &[u8], filter: &Filter, out: &mut Names) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let mut name = prefix.to_vec();
        if !name.is_empty() {
            name.push(b'/');
        }
        name.extend_from_slice(entry.file_name().as_bytes());
        let is_dir = entry.file_type()?.is_dir();
        if filter.is_excluded(&name, is_dir) {
            continue;
        }
        if is_dir {
            walk(&entry.path(), &name, filter, out)?;
        }
        out.insert(name);
    }
    Ok(())
}

/// What `Filter` says rsync will list for `root/` (or for `root` when
/// `top_dir` is true, where names start with the directory's own name).
fn expected(root: &Path, filter: &Filter, top_dir: bool) -> io::Result<Names> {
    let mut names = Names::new();
    if !top_dir {
        walk(root, b"", filter, &mut names)?;
        return Ok(names);
    }
    let base = root
        .file_name()
        .map(|n| n.as_bytes().to_vec())
        .unwrap_or_default();
    if !filter.is_excluded(&base, true) {
        walk(root, &base, filter, &mut names)?;
        names.insert(base);
    }
    Ok(names)
}

/// Runs rsync into a fresh destination; Err(stderr) if it fails.
fn run_rsync(work: &Path, opts: &[Opt], source: &OsStr) -> Result<Names, String> {
    let dest = work.join(format!("dest{}", run_id()));
    let mut cmd = Command::new("rsync");
    cmd.env("LC_ALL", "C")
        .args(["-a", "--checksum", "--out-format=%n"]);
    for (index, opt) in opts.iter().enumerate() {
        let (flag, value) = match opt {
            Opt::Exclude(p) => ("--exclude=", p.clone()),
            Opt::Include(p) => ("--include=", p.clone()),
            Opt::Rule(r) => ("--filter=", r.clone()),
            Opt::Merge(rule, c) => {
                let file = work.join(format!("merge{}-{index}", run_id()));
                fs::write(&file, c).map_err(|e| e.to_string())?;
                let mut value = format!("{rule} ").into_bytes();
                value.extend(file.into_os_string().into_vec());
                ("--filter=", value)
            }
            Opt::ExcludeFrom(c) | Opt::IncludeFrom(c) | Opt::ExcludeFrom0(c) => {
                let file = work.join(format!("rules{}-{index}", run_id()));
                fs::write(&file, c).map_err(|e| e.to_string())?;
                let flag = match opt {
                    Opt::IncludeFrom(_) => "--include-from=",
                    Opt::ExcludeFrom0(_) => {
                        cmd.arg("--from0");
                        "--exclude-from="
                    }
                    _ => "--exclude-from=",
                };
                (flag, file.into_os_string().into_vec())
            }
        };
        let mut arg = flag.as_bytes().to_vec();
        arg.extend(value);
        cmd.arg(OsString::from_vec(arg));
    }
    let mut dest_arg = dest.clone().into_os_string();
    dest_arg.push("/");
    let output = cmd.arg(source).arg(&dest_arg).output();
    // Only the listing matters; keep the work dir small across many runs.
    let _ = fs::remove_dir_all(&dest);
    let output = output.map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(stderr(&output));
    }
    Ok(output
        .stdout
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let name = unescape(line);
            name.strip_suffix(b"/").map(<[u8]>::to_vec).unwrap_or(name)
        })
        .filter(|name| name != b".")
        .collect())
}

fn run_id() -> usize {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    RUNS.fetch_add(1, Ordering::Relaxed)
}

fn build_filter(opts: &[Opt]) -> Result<Filter, String> {
    let mut filter = Filter::new();
    for opt in opts {
        match opt {
            Opt::Exclude(p) => filter.exclude(p),
            Opt::Include(p) => filter.include(p),
            Opt::ExcludeFrom(c) => filter.exclude_from(c),
            Opt::IncludeFrom(c) => filter.include_from(c),
            Opt::ExcludeFrom0(c) => filter.exclude_from0(c),
            Opt::Rule(r) => filter.filter_rule(r),
            Opt::Merge(rule, c) => {
                let kind = match parse_filter_rule(format!("{rule} f").as_bytes()) {
                    Ok(FilterRule::Merge { kind, .. }) => kind,
                    other => return Err(format!("{rule}: not a merge rule: {other:?}")),
                };
                filter.merge(c, kind)
            }
        }
        .map_err(|e| e.to_string())?;
    }
    Ok(filter)
}

fn show(names: &Names) -> Vec<String> {
    names
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect()
}

/// The outcome of one differential case.
enum Verdict {
    /// Both accepted the rules and agreed on the `listed` names.
    Same { listed: usize },
    /// Both rejected the rules.
    BothRejected,
    /// A description of the disagreement.
    Differ(String),
}

fn compare(work: &Path, root: &Path, opts: &[Opt], top_dir: bool) -> Verdict {
    let mut source = root.as_os_str().to_owned();
    if !top_dir {
        source.push("/");
    }
    let rsync = run_rsync(work, opts, &source);
    let ours = build_filter(opts);
    let diff = match (rsync, ours) {
        (Err(_), Err(_)) => return Verdict::BothRejected,
        (Err(e), Ok(_)) => format!("rsync failed but Filter accepted the rules: {e}"),
        (Ok(_), Err(e)) => format!("Filter rejected rules that rsync accepted: {e}"),
        (Ok(theirs), Ok(filter)) => match expected(root, &filter, top_dir) {
            Err(e) => format!("walk failed: {e}"),
            Ok(ours) if ours == theirs => return Verdict::Same { listed: ours.len() },
            Ok(ours) => format!(
                "only rsync: {:?}\n  only Filter: {:?}",
                show(&theirs.difference(&ours).cloned().collect()),
                show(&ours.difference(&theirs).cloned().collect())
            ),
        },
    };
    Verdict::Differ(format!("{opts:?} (source {source:?}):\n  {diff}"))
}

/// Runs all cases, prints how many filtered something, and fails on any
/// disagreement.
fn check_all(tag: &str, cases: &[(Vec<Opt>, bool)]) -> io::Result<()> {
    let work = TempDir::new(tag)?;
    let root = work.0.join("root");
    fs::create_dir(&root)?;
    build_tree(&root)?;
    let unfiltered = expected(&root, &Filter::new(), false)?.len();
    let (mut filtered, mut rejected, mut failures) = (0, 0, Vec::new());
    for (opts, top_dir) in cases {
        match compare(&work.0, &root, opts, *top_dir) {
            Verdict::Same { listed } => {
                filtered += usize::from(listed < unfiltered + usize::from(*top_dir))
            }
            Verdict::BothRejected => rejected += 1,
            Verdict::Differ(message) => failures.push(message),
        }
    }
    println!(
        "{tag}: {} cases: {filtered} excluded something, {rejected} rejected by both, {} differ",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

fn ex(p: &[u8]) -> Opt {
    Opt::Exclude(p.to_vec())
}

fn inc(p: &[u8]) -> Opt {
    Opt::Include(p.to_vec())
}

/// Hand-picked rule sets, each aimed at one rsync rule or quirk. The bool
/// says whether the source is given without a trailing slash.
fn cases() -> Vec<(Vec<Opt>, bool)> {
    vec![
        (vec![], false),
        (vec![ex(b"*.o")], false),
        (vec![ex(b"sub")], false),
        (vec![ex(b"sub/"), ex(b"lnk/"), ex(b"flnk/")], false),
        (vec![ex(b"/foo")], false),
        (vec![ex(b"foo/bar")], false),
        (vec![ex(b"/foo/bar")], false),
        (vec![ex(b"foo/*")], false),
        (vec![ex(b"/sub/**/b.c")], false),
        (vec![ex(b"**/bar"), ex(b"**c")], false),
        (vec![ex(b"sub/***")], false),
        (vec![inc(b"*/"), inc(b"*.c"), ex(b"*")], false),
        (vec![inc(b"/sub/"), inc(b"/sub/deep/***"), ex(b"*")], false),
        (vec![ex(b"?"), ex(b"??")], false),
        (vec![ex(b"[[:upper:]]*"), ex(b"[[:punct:]]*")], false),
        (vec![ex(b"[!a-z]*")], false),
        (vec![ex(b"[^.a-s]*")], false),
        (vec![ex(b"star\\*"), ex(b"\\[lit]"), ex(b"q\\?")], false),
        (vec![ex(b"back\\slash"), ex(b"[lit]")], false),
        (vec![ex(b"!bang"), ex(b"- - dash"), ex(b"- -")], false),
        (vec![ex(b"+ a.o"), ex(b"*.o")], false),
        (vec![ex(b"a.o"), ex(b"!"), ex(b"b.c")], false),
        (vec![ex(b"a.o"), inc(b"!"), inc(b"- b.c")], false),
        (vec![ex(b". FILE"), ex(b": x"), ex(b"foo ")], false),
        (vec![ex(b"\xe9*"), ex(b"caf?"), ex(b"d\xfe/")], false),
        (vec![ex(b"caf??"), ex(b"\xff")], false),
        (vec![ex(b"sub**"), ex(b"**o")], false),
        (vec![ex(b"deep/**/b.c"), ex(b"*/deep/z")], false),
        (vec![ex(b"/x/*/bar"), ex(b"a/*/c")], false),
        (vec![ex(b"[abc"), ex(b"[[:foo:]]*"), ex(b"*\\")], false),
        (
            vec![ex(b"tab[[:space:]]here"), ex(b"nl[[:cntrl:]]name")],
            false,
        ),
        (vec![ex(b"[]a]*"), ex(b"[[:x]*")], false),
        (
            vec![ex(b"su[b/]"), ex(b"/fo[o/]"), ex(b"/sub[!a]deep")],
            false,
        ),
        (vec![ex(b"**/README"), ex(b"**/sub/deep/more")], false),
        (vec![ex(b"/"), ex(b"//"), ex(b"sub/***/")], false),
        (vec![ex(b"x/**/"), ex(b"- a/b/")], false),
        (vec![ex(b"- ")], false),
        (vec![inc(b"+ ")], false),
        (
            vec![Opt::ExcludeFrom(
                b"# comment\r\n;comment\n\n*.o\r\n+ b.c\n  sub\nfoo\0bar\n!bang\n- */\n".to_vec(),
            )],
            false,
        ),
        (
            vec![
                ex(b"README"),
                Opt::IncludeFrom(b"*/\n*.c\n!\n- /a/\n".to_vec()),
            ],
            false,
        ),
        (vec![Opt::ExcludeFrom(b"a.o\n- \n".to_vec())], false),
        (
            vec![Opt::ExcludeFrom0(
                b"a.o\0b.c\r\n\0#x\0;y\0\0+ sub\0- */\0".to_vec(),
            )],
            false,
        ),
        (vec![ex(b"/root/sub"), ex(b"/foo")], true),
        (vec![ex(b"root")], true),
        (vec![ex(b"/root/")], true),
        (vec![inc(b"/root/"), inc(b"/root/foo/***"), ex(b"*")], true),
        (vec![ex(b"root/***")], true),
        (vec![ex(b"**/sub"), ex(b"root/a/*")], true),
    ]
}

#[test]
fn filter_matches_rsync_on_chosen_rules() -> io::Result<()> {
    if !rsync_available("the rsync parity test") {
        return Ok(());
    }
    check_all("chosen", &cases())
}

/// Wildcard fragments and name pieces for random patterns.
const PIECES: &[&[u8]] = &[
    b"a",
    b"b",
    b"c",
    b"o",
    b".",
    b"sub",
    b"deep",
    b"foo",
    b"bar",
    b"x",
    b"z",
    b"*",
    b"*",
    b"**",
    b"***",
    b"?",
    b"/",
    b"/",
    b"[a-c]",
    b"[!a]",
    b"[[:alpha:]]",
    b"\\*",
    b"[]a]",
    b"\xe9",
    b"root",
    b"-",
    b" ",
    b"[",
    b"]",
    b"\\",
    b"[/]",
    b"!",
    b"^",
    b"[[:",
    b":]",
];

/// A random rule: optionally prefixed, then either a tree name with some
/// bytes and components turned into wildcards (so that it often matches) or
/// a free mix of pieces (to reach the odd corners), optionally anchored and
/// directory-only.
/// The rule letters, words and modifiers of `--filter` that change what the sender lists
/// (and some that do not: protect, risk, receiver-side, xattr), each with its separator.
const RULE_PREFIXES: &[&str] = &[
    "- ",
    "+ ",
    "-_",
    "+_",
    "-! ",
    "+! ",
    "H ",
    "S ",
    "H! ",
    "P ",
    "R ",
    "-r ",
    "-s ",
    "+s ",
    "-p ",
    "-x ",
    "hide ",
    "show ",
    "exclude ",
    "include ",
    "include,! ",
    "exclude,s ",
    "protect ",
    "risk ",
    "-,p ",
];

/// A random `--filter` rule: a prefix of [`RULE_PREFIXES`] and a pattern, or a clear.
fn random_rule(rng: &mut Rng) -> Vec<u8> {
    match rng.below(16) {
        0 => return b"!".to_vec(),
        1 => return b"clear".to_vec(),
        _ => {}
    }
    let mut rule = rng.pick(RULE_PREFIXES).as_bytes().to_vec();
    let mut body = random_pattern(rng);
    // An old-style prefix in a --filter pattern is just part of the pattern; keep a few.
    if body == b"!" || (rng.below(2) == 0 && (body.starts_with(b"- ") || body.starts_with(b"+ "))) {
        body.drain(..1);
    }
    rule.extend(body);
    rule
}

/// A random merge file: lines of rules (full syntax) or of bare patterns.
fn random_merge(rng: &mut Rng) -> Opt {
    let (rule, bare) = rng.pick(&[
        (".", false),
        ("merge", false),
        (".-", true),
        ("merge,+", true),
    ]);
    let mut contents = Vec::new();
    for _ in 0..=rng.below(3) {
        if rng.below(5) == 0 {
            contents.extend_from_slice(b"# comment");
        } else if bare {
            contents.extend(random_pattern(rng));
        } else {
            contents.extend(random_rule(rng));
        }
        contents.push(if rng.below(4) == 0 { b'\r' } else { b'\n' });
    }
    Opt::Merge(rule, contents)
}

fn random_pattern(rng: &mut Rng) -> Vec<u8> {
    let mut pattern = match rng.below(12) {
        0 => b"- ".to_vec(),
        1 => b"+ ".to_vec(),
        2 => return b"!".to_vec(),
        _ => Vec::new(),
    };
    if rng.below(4) == 0 {
        pattern.push(b'/');
    }
    if rng.below(3) == 0 {
        for _ in 0..=rng.below(4) {
            pattern.extend_from_slice(rng.pick(PIECES));
        }
    } else {
        pattern.extend(mutated_name(rng));
    }
    match rng.below(8) {
        0 | 1 => pattern.push(b'/'),
        2 => pattern.extend_from_slice(b"/***"),
        _ => {}
    }
    pattern
}

/// A trailing run of components of a random tree entry, mutated.
fn mutated_name(rng: &mut Rng) -> Vec<u8> {
    let entry = TREE[rng.below(TREE.len())];
    let entry = entry.split(|&b| b == b' ').next().unwrap_or(entry);
    let entry = entry.strip_suffix(b"/").unwrap_or(entry);
    let slashes: Vec<usize> = (0..entry.len()).filter(|&i| entry[i] == b'/').collect();
    let start = match rng.below(slashes.len() + 1) {
        0 => 0,
        n => slashes[n - 1] + 1,
    };
    let mut out = Vec::new();
    for &b in &entry[start..] {
        match (b, rng.below(14)) {
            (b'/', 0) => out.extend_from_slice(b"/**/"),
            (b'/', 1) => out.extend_from_slice(b"**"),
            (_, 0) => out.push(b'?'),
            (_, 1) => out.push(b'*'),
            (_, 2) => out.extend([b'[', b, b'x', b']']),
            (_, 3) => out.extend([b'\\', b]),
            (_, 4) => {}
            _ => out.push(b),
        }
    }
    out
}

#[test]
fn filter_matches_rsync_on_random_rules() -> io::Result<()> {
    if !rsync_available("the rsync parity test") {
        return Ok(());
    }
    let count = std::env::var("FIMSUM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let seed = std::env::var("FIMSUM_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15_u64);
    let mut rng = Rng::new(seed);
    let cases: Vec<(Vec<Opt>, bool)> = (0..count)
        .map(|_| {
            let opts = (0..=rng.below(3))
                .map(|_| match rng.below(8) {
                    0 | 1 => Opt::Rule(random_rule(&mut rng)),
                    2 => random_merge(&mut rng),
                    _ => {
                        let pattern = random_pattern(&mut rng);
                        if rng.below(3) == 0 {
                            Opt::Include(pattern)
                        } else {
                            Opt::Exclude(pattern)
                        }
                    }
                })
                .collect();
            (opts, rng.below(3) == 0)
        })
        .collect();
    check_all("random", &cases)
}

/// The dir-merge rules the random per-directory cases draw from: each modifier, a name
/// with a `/` (so that the directory above the source is read first), and a name given
/// twice.
const DIR_MERGE_RULES: &[(&str, Template)] = &[
    (": .dm", Template::Rules),
    (":e .dm", Template::Rules),
    (":n .dm", Template::Rules),
    ("dir-merge,ne_.dm", Template::Rules),
    (":- .dm", Template::Patterns),
    (":+ .dm", Template::Patterns),
    (":en- .dm", Template::Patterns),
    (":w- .dm", Template::Words),
    (":w .dm", Template::WordRules),
    (": /.dm", Template::Rules),
    (": ../.dm", Template::Rules),
    (":C", Template::Cvs),
];

/// How a random per-directory file is written.
#[derive(Clone, Copy, Debug)]
enum Template {
    /// Lines of rules in full syntax.
    Rules,
    /// Lines of bare patterns.
    Patterns,
    /// Patterns separated by spaces, tabs and newlines.
    Words,
    /// Rules (with `_` as separator) separated by whitespace.
    WordRules,
    /// A `.cvsignore`: words.
    Cvs,
}

/// The directories that may get a per-directory file ("" is the source itself, ".." the
/// directory above it).
const MERGE_DIRS: &[&str] = &["..", "", "sub", "sub/deep", "foo", "a/b", "x/foo"];

/// One random per-directory file's contents.
fn random_dir_file(rng: &mut Rng, template: Template) -> Vec<u8> {
    let mut contents = Vec::new();
    for _ in 0..=rng.below(3) {
        match template {
            Template::Rules => {
                if rng.below(6) == 0 {
                    contents.extend_from_slice(b"# comment");
                } else {
                    contents.extend(random_rule(rng));
                }
                contents.push(if rng.below(4) == 0 { b'\r' } else { b'\n' });
            }
            Template::Patterns => {
                contents.extend(random_pattern(rng));
                contents.push(b'\n');
            }
            Template::Words | Template::Cvs | Template::WordRules => {
                let mut word = random_pattern(rng);
                word.retain(|b| !b.is_ascii_whitespace());
                if word.is_empty() {
                    continue;
                }
                if let Template::WordRules = template {
                    let prefix: &[u8] = rng.pick(&[&b"-_"[..], b"+_", b"H_", b"-!_"]);
                    word.splice(0..0, prefix.iter().copied());
                }
                contents.extend(word);
                contents.push(rng.pick(b" \t\n"));
            }
        }
    }
    contents
}

/// What the fimsum binary lists for `source` with these `--filter` rules (`scan -rl`, the
/// names rsync -a lists), or Err when it reports a problem.
fn run_fimsum(source: &OsStr, rules: &[Vec<u8>]) -> Result<Names, String> {
    let mut cmd = crate::util::fimsum();
    cmd.env("LC_ALL", "C")
        .env("HOME", "/nonexistent")
        .env("CVSIGNORE", "")
        .args(["scan", "-rl", "--cc", "md5"]);
    for rule in rules {
        let mut arg = b"--filter=".to_vec();
        arg.extend_from_slice(rule);
        cmd.arg(OsString::from_vec(arg));
    }
    let output = cmd.arg(source).output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(stderr(&output));
    }
    Ok(output
        .stdout
        .split(|&b| b == b'\n')
        .filter(|line| line.len() > 33)
        // "%n %C": the md5 (or a directory's blanks) is the last 33 bytes.
        .map(|line| {
            let name = unescape(&line[..line.len() - 33]);
            name.strip_suffix(b"/").map(<[u8]>::to_vec).unwrap_or(name)
        })
        .filter(|name| name != b".")
        .collect())
}

/// Random per-directory merge files (each modifier, inheritance, `!` in a file, anchored
/// rules, the directory above the source) list in fimsum's walk what they list in rsync.
#[test]
fn dir_merge_files_match_rsync_on_random_rules() -> io::Result<()> {
    if !rsync_available("the rsync dir-merge parity test") {
        return Ok(());
    }
    let count = std::env::var("FIMSUM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let mut rng = Rng::new(0x51ed_270b_a3f1_c0de);
    let (mut same, mut rejected, mut failures) = (0, 0, Vec::new());
    for _ in 0..count {
        let work = TempDir::new("dirmerge")?;
        let root = work.0.join("root");
        fs::create_dir(&root)?;
        build_tree(&root)?;
        let (rule, template) = rng.pick(DIR_MERGE_RULES);
        let file = if let Template::Cvs = template {
            ".cvsignore"
        } else {
            ".dm"
        };
        let mut written = Vec::new();
        for dir in MERGE_DIRS {
            if rng.below(2) == 0 {
                let contents = random_dir_file(&mut rng, template);
                fs::write(root.join(dir).join(file), &contents)?;
                written.push((dir, String::from_utf8_lossy(&contents).into_owned()));
            }
        }
        let mut rules = vec![rule.as_bytes().to_vec()];
        for _ in 0..rng.below(3) {
            let other = random_rule(&mut rng);
            if rng.below(2) == 0 {
                rules.push(other);
            } else {
                rules.insert(0, other);
            }
        }
        let opts: Vec<Opt> = rules.iter().cloned().map(Opt::Rule).collect();
        let mut source = root.as_os_str().to_owned();
        // Without the slash the names start with "root/" and the top-level entry is the
        // directory itself, listed before its own file is read.
        let top_dir = rng.below(3) == 0;
        if !top_dir {
            source.push("/");
        }
        let theirs = run_rsync(&work.0, &opts, &source);
        let ours = run_fimsum(&source, &rules);
        let diff = match (theirs, ours) {
            (Err(_), Err(_)) => {
                rejected += 1;
                continue;
            }
            (Ok(theirs), Ok(ours)) if theirs == ours => {
                same += 1;
                continue;
            }
            (Ok(theirs), Ok(ours)) => format!(
                "only rsync: {:?}\n  only fimsum: {:?}",
                show(&theirs.difference(&ours).cloned().collect()),
                show(&ours.difference(&theirs).cloned().collect())
            ),
            (Err(e), Ok(_)) => format!("rsync failed, fimsum did not: {e}"),
            (Ok(_), Err(e)) => format!("fimsum failed, rsync did not: {e}"),
        };
        failures.push(format!("{rules:?} {source:?} files {written:?}:\n  {diff}"));
    }
    println!("dir-merge: {count} cases: {same} agree, {rejected} rejected by both");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}
