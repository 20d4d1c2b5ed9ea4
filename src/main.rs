//! The `fimsum` binary: parse the command line, run the command, map the outcome to an
//! exit code. Everything else lives in the library.

mod cli;
mod commands;
mod man;
mod progress;
mod report;

use clap::{ArgMatches, CommandFactory, FromArgMatches};
use fimsum::exit::Fatal;
use fimsum::scan::walk::FilterArg;

fn main() {
    std::process::exit(real_main());
}

fn real_main() -> i32 {
    let matches = match cli::Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return clap_exit(e),
    };
    let mut parsed = match cli::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return clap_exit(e),
    };
    let filters = match matches.subcommand() {
        Some((_, sub)) => match ordered_filters(sub) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("fimsum: {e}");
                return e.fatal().code();
            }
        },
        None => Vec::new(),
    };
    if let (cli::Command::Scan(args), Some((_, sub))) = (&mut parsed.command, matches.subcommand())
    {
        args.listing = ordered_listing(sub, args.walk.files_from.is_some());
        args.walk.hard_links.resolved = last_given(sub, "hard_links", "no_hard_links");
    }
    match commands::run(parsed.command, filters) {
        Ok(status) => status.code(),
        // `fimsum scan / | head`: the reader has gone, which is not an error.
        Err(e) if e.is_broken_pipe() => 0,
        Err(e) => {
            eprintln!("fimsum: {e}");
            e.fatal().code()
        }
    }
}

/// clap's own exit code (2) must not leak into the bitmask range: usage errors exit 64.
fn clap_exit(e: clap::Error) -> i32 {
    let _ = e.print();
    if e.use_stderr() {
        Fatal::Usage.code()
    } else {
        0 // --help, --version
    }
}

/// `--exclude`, `--include` and `--exclude-from` in the order they were given: rsync applies
/// the first rule that matches, so their relative order matters and clap keeps one list per
/// option.
fn ordered_filters(m: &ArgMatches) -> fimsum::error::Result<Vec<FilterArg>> {
    use std::os::unix::ffi::OsStrExt;
    let mut rules: Vec<(usize, FilterArg)> = Vec::new();
    let from0 = matches!(m.try_get_one::<bool>("from0"), Ok(Some(true)));
    for id in [
        "exclude",
        "include",
        "exclude_from",
        "include_from",
        "filter",
    ] {
        // try_get_raw first: the id is not defined for every subcommand.
        let Ok(Some(values)) = m.try_get_raw(id) else {
            continue;
        };
        let indices = m.indices_of(id).into_iter().flatten();
        for (index, value) in indices.zip(values) {
            let bytes = value.as_bytes().to_vec();
            let arg = match id {
                "exclude" => FilterArg::Exclude(bytes),
                "include" => FilterArg::Include(bytes),
                "filter" => filter_arg(bytes)?,
                _ => {
                    let path = std::path::Path::new(value);
                    let contents = read_filter_file(path)?;
                    match (id, from0) {
                        ("exclude_from", false) => FilterArg::ExcludeFrom(contents),
                        ("exclude_from", true) => FilterArg::ExcludeFrom0(contents),
                        (_, false) => FilterArg::IncludeFrom(contents),
                        (_, true) => FilterArg::IncludeFrom0(contents),
                    }
                }
            };
            rules.push((index, arg));
        }
    }
    // -F at its place: rsync's options.c turns the first into a dir-merge rule, the second
    // into an exclude of the files themselves.
    if let Ok(Some(&given)) = m.try_get_one::<u8>("rsync_filter") {
        let spelled = [": /.rsync-filter", "- .rsync-filter"];
        // One index for all the -F given: the second's rule follows the first's.
        let index = m.index_of("rsync_filter").unwrap_or_default();
        for rule in spelled.into_iter().take(usize::from(given)) {
            rules.push((index, FilterArg::Rule(rule.as_bytes().to_vec())));
        }
    }
    rules.sort_by_key(|(i, _)| *i);
    let mut filters: Vec<FilterArg> = rules.into_iter().map(|(_, a)| a).collect();
    // -C: rsync's send_filter_list appends these after every other rule.
    if matches!(m.try_get_one::<bool>("cvs_exclude"), Ok(Some(true))) {
        filters.push(FilterArg::Rule(b":C".to_vec()));
        filters.push(FilterArg::Rule(b"-C".to_vec()));
    }
    if filters.iter().any(uses_cvs_list) {
        filters.insert(0, FilterArg::CvsEnvironment(cvs_environment()));
    }
    Ok(filters)
}

/// Does this filter argument try `-C`'s CVS ignore list?
fn uses_cvs_list(arg: &FilterArg) -> bool {
    use fimsum::rsync::filter::{parse_filter_rule, FilterRule};
    matches!(arg, FilterArg::Rule(rule) if matches!(parse_filter_rule(rule), Ok(FilterRule::Cvs)))
}

/// What rsync's get_cvs_excludes adds to the default CVS ignore list: `$HOME/.cvsignore`
/// (if it can be read), then `$CVSIGNORE`.
fn cvs_environment() -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut words = Vec::new();
    if let Some(home) = std::env::var_os("HOME") {
        let path = std::path::Path::new(&home).join(".cvsignore");
        if let Ok(contents) = read_filter_file(&path) {
            words.extend_from_slice(&contents);
        }
    }
    words.push(b'\n');
    if let Some(more) = std::env::var_os("CVSIGNORE") {
        words.extend_from_slice(more.as_bytes());
    }
    words
}

/// A `--filter` rule; a merge rule's file is read now, and kept with the rule.
fn filter_arg(rule: Vec<u8>) -> fimsum::error::Result<FilterArg> {
    use fimsum::rsync::filter::{parse_filter_rule, FilterRule};
    use std::os::unix::ffi::OsStrExt;
    match parse_filter_rule(&rule) {
        Ok(FilterRule::Merge { file, .. }) => {
            let path = std::path::Path::new(std::ffi::OsStr::from_bytes(&file));
            let contents = read_filter_file(path)?;
            Ok(FilterArg::Merge { rule, contents })
        }
        Ok(_) => Ok(FilterArg::Rule(rule)),
        Err(e) => Err(fimsum::error::Error::Usage(format!("--filter: {e}"))),
    }
}

/// rsync's listing options (`-a`, `-r`, `-l`, `-D`, `--no-l`...) applied in the order they
/// were given, as rsync applies them; `None` when none was given, which means `-a`. With
/// `--files-from`, `-a` does not imply `-r` (rsync's rule).
fn ordered_listing(m: &ArgMatches, files_from: bool) -> Option<fimsum::scan::walk::Listing> {
    use fimsum::scan::walk::Listing;
    const IDS: [&str; 16] = [
        "archive",
        "recursive",
        "no_recursive",
        "links",
        "no_links",
        "devices_specials",
        "no_devices_specials",
        "devices",
        "no_devices",
        "specials",
        "no_specials",
        "times",
        "perms",
        "group",
        "owner",
        "one_file_system",
    ];
    let mut given: Vec<(usize, &str)> = Vec::new();
    for id in &IDS[..15] {
        if let Ok(Some(count)) = m.try_get_one::<u8>(id) {
            if *count > 0 {
                given.extend(m.indices_of(id).into_iter().flatten().map(|i| (i, *id)));
            }
        }
    }
    if given.is_empty() {
        return files_from.then_some(Listing {
            recursive: false,
            ..Listing::ARCHIVE
        });
    }
    given.sort_unstable();
    let mut listing = Listing::NONE;
    for (_, id) in given {
        let l = &mut listing;
        match id {
            "archive" => {
                *l = Listing {
                    recursive: l.recursive || !files_from,
                    ..Listing::ARCHIVE
                }
            }
            "recursive" => l.recursive = true,
            "no_recursive" => l.recursive = false,
            "links" => l.links = true,
            "no_links" => l.links = false,
            "devices_specials" => (l.devices, l.specials) = (true, true),
            "no_devices_specials" => (l.devices, l.specials) = (false, false),
            "devices" => l.devices = true,
            "no_devices" => l.devices = false,
            "specials" => l.specials = true,
            "no_specials" => l.specials = false,
            "times" => l.times = true,
            "perms" => l.perms = true,
            "group" => l.group = true,
            _ => l.owner = true,
        }
    }
    Some(listing)
}

/// Whether the option `on` was given after the last `off` (rsync's -H and --no-H).
fn last_given(m: &ArgMatches, on: &str, off: &str) -> bool {
    let last = |id: &str| {
        (m.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
            .then(|| m.indices_of(id).and_then(|i| i.max()))
            .flatten()
    };
    match (last(on), last(off)) {
        (Some(on), Some(off)) => on > off,
        (on, _) => on.is_some(),
    }
}

/// The largest `--exclude-from` file read: millions of rules, far more than rsync itself could
/// use in reasonable time.
const FILTER_FILE_LIMIT: u64 = 256 << 20;

/// The contents of an `--exclude-from` file, which must be a regular file: a FIFO would
/// block the run before it starts, a device would never end.
fn read_filter_file(path: &std::path::Path) -> fimsum::error::Result<Vec<u8>> {
    let no_input = |source| fimsum::error::Error::NoInput {
        path: path.to_path_buf(),
        source,
    };
    fimsum::input::open_file(path)
        .and_then(|file| fimsum::input::read_bounded(file, FILTER_FILE_LIMIT, "filter file"))
        .map_err(no_input)
}
