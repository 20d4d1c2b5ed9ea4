//! `fimsum::rsync::filter::Filter`: any sequence of `--exclude`, `--include` and `--*-from`
//! arguments, then `is_excluded` on arbitrary names; nothing may panic. A rejected
//! `--exclude`/`--include` leaves the rules unchanged, as documented.
#![no_main]

use fimsum::rsync::filter::{Filter, RuleKind};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Arg<'a> {
    Exclude(&'a [u8]),
    Include(&'a [u8]),
    ExcludeFrom(&'a [u8]),
    IncludeFrom(&'a [u8]),
    ExcludeFrom0(&'a [u8]),
    IncludeFrom0(&'a [u8]),
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    args: Vec<Arg<'a>>,
    names: Vec<(&'a [u8], bool)>,
}

fuzz_target!(|input: Input<'_>| {
    let mut filter = Filter::new();
    for arg in &input.args {
        let before = filter.rules().len();
        let result = match *arg {
            Arg::Exclude(p) => filter.exclude(p),
            Arg::Include(p) => filter.include(p),
            Arg::ExcludeFrom(c) => filter.exclude_from(c),
            Arg::IncludeFrom(c) => filter.include_from(c),
            Arg::ExcludeFrom0(c) => filter.exclude_from0(c),
            Arg::IncludeFrom0(c) => filter.include_from0(c),
        };
        match (arg, result) {
            (Arg::Exclude(p) | Arg::Include(p), Err(_)) => {
                assert_eq!(
                    filter.rules().len(),
                    before,
                    "rejected {p:?} changed the rules"
                )
            }
            (Arg::Exclude(b"!") | Arg::Include(b"!"), Ok(())) => assert!(filter.is_empty()),
            _ => {}
        }
    }
    for &(name, is_dir) in &input.names {
        let excluded = filter.is_excluded(name, is_dir);
        let first = filter.rules().iter().find(|r| r.matches(name, is_dir));
        assert_eq!(
            excluded,
            first.is_some_and(|r| r.kind() == RuleKind::Exclude)
        );
        if name.is_empty() {
            assert!(!excluded);
        }
        for rule in filter.rules() {
            let _ = rule.to_string();
        }
    }
});
