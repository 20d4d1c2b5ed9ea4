//! `hunt` as a library call: an IOC retro-hunt over stored baselines. Every entry whose
//! recorded digest (its checksum, or an extra digest of `scan --digest`) is on one of the
//! lists is a hit, with the host, path and time of the baseline that recorded it. Nothing
//! is rescanned: the question is what the hosts had then, which a rescan cannot answer.
//!
//! The lookup is the one `check --ioc` makes ([`crate::fim::assess::ioc_hits`]), and the
//! rows are the export's ([`crate::export::row_of`]), so a hunt finds exactly the entries
//! that a join of the same lists with the exported table finds.
//!
//! A baseline that cannot be read, or that does not verify under the policy, is said so and
//! left out; the hunt goes on over the others and ends incomplete (exit bit 8), as does one
//! that records no digest of a kind a list holds (an xxh128 baseline and a sha256 list):
//! "no hit" must never stand for "could not look".

use std::path::{Path, PathBuf};

use crate::baseline::{self, Baseline};
use crate::commands::{ioc_error, ioc_kind};
use crate::error::Result;
use crate::exit::Bits;
use crate::export::{row_of, BaselineInfo, Row};
use crate::fim::assess::{ioc_hits, IocHit};
use crate::fim::ioc::IocSet;
use crate::hash::HashKind;
use crate::record::Timestamp;

/// A hunt, resolved from the command line.
pub struct HuntPlan {
    /// The baselines to search, in order.
    pub baselines: Vec<PathBuf>,
    /// The IOC lists.
    pub iocs: Vec<PathBuf>,
    /// Require each baseline's signature by this key (and its host and generation rules).
    pub verify: Option<baseline::Policy>,
}

/// One entry on a list.
pub struct HuntHit {
    /// The baseline that recorded it.
    pub baseline: PathBuf,
    /// Its host.
    pub host: String,
    /// When that baseline was made.
    pub created: Timestamp,
    /// Its generation.
    pub generation: u64,
    /// The entry, as the export writes it.
    pub row: Row,
    /// The lists and lines it is on.
    pub hits: Vec<IocHit>,
}

impl HuntHit {
    /// The hit as a line: `HOST CREATED PATH  [IOC KIND hash on LIST:LINE; ...]`.
    pub fn text(&self) -> String {
        let on: Vec<String> = self
            .hits
            .iter()
            .map(|h| format!("IOC {} hash on {}:{}", h.kind, h.list.display(), h.line))
            .collect();
        format!(
            "{} {} {}  [{}]",
            self.host,
            crate::report::rfc3339(self.created),
            self.row.path,
            on.join("; ")
        )
    }

    /// The hit as a JSON object (docs/siem.md).
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "ioc_hit",
            "host": self.host,
            "baseline": self.baseline.display().to_string(),
            "created": crate::report::rfc3339(self.created),
            "generation": self.generation,
            "path": self.row.path,
            "name": self.row.name,
            "kind": self.row.kind,
            "checksum": self.row.checksum,
            "md5": self.row.md5,
            "sha1": self.row.sha1,
            "sha256": self.row.sha256,
            "ioc": self.hits.iter().map(|h| serde_json::json!({
                "list": h.list.display().to_string(),
                "line": h.line,
                "hash": h.kind.name(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// What a hunt found.
pub struct Hunted {
    /// The hits, in the order of the baselines and of their records.
    pub hits: Vec<HuntHit>,
    /// The baselines searched whole.
    pub searched: u64,
    /// The entries looked at.
    pub entries: u64,
    /// What kept the answer from being complete: a baseline left out, a list that cannot
    /// match a baseline's digests.
    pub problems: Vec<String>,
}

impl Hunted {
    /// 16 on a hit, 8 when the answer is incomplete.
    pub fn exit_bits(&self) -> Bits {
        let mut bits = Bits::NONE;
        if !self.hits.is_empty() {
            bits |= Bits::IOC;
        }
        if !self.problems.is_empty() {
            bits |= Bits::INCOMPLETE;
        }
        bits
    }
}

/// Search `plan.baselines` for the digests of `plan.iocs`. A list that cannot be read or
/// parsed is an error before any baseline is read.
pub fn hunt(plan: &HuntPlan) -> Result<Hunted> {
    let mut iocs = IocSet::new();
    for path in &plan.iocs {
        iocs.load(path).map_err(ioc_error)?;
    }
    let mut hunted = Hunted {
        hits: Vec::new(),
        searched: 0,
        entries: 0,
        problems: Vec::new(),
    };
    for path in &plan.baselines {
        if let Err(e) = hunt_baseline(path, &iocs, plan.verify.as_ref(), &mut hunted) {
            hunted
                .problems
                .push(format!("{}: left out of the hunt: {e}", path.display()));
        }
    }
    Ok(hunted)
}

fn hunt_baseline(
    path: &Path,
    iocs: &IocSet,
    verify: Option<&baseline::Policy>,
    hunted: &mut Hunted,
) -> Result<()> {
    let base = Baseline::open_with(path, verify)?;
    let header = base.header.clone();
    let main = ioc_kind(header.algorithm);
    let mut available: Vec<HashKind> = main.into_iter().collect();
    available.extend_from_slice(&header.extra_digests);
    for list in iocs.lists() {
        if !list.is_empty() && !list.kinds().any(|k| available.contains(&k)) {
            let held: Vec<&str> = list.kinds().map(|k| k.name()).collect();
            hunted.problems.push(format!(
                "{}: cannot be searched for the {} hashes of {}: it records {} checksums{}",
                path.display(),
                held.join("/"),
                list.path().display(),
                header.algorithm,
                if header.extra_digests.is_empty() {
                    String::new()
                } else {
                    let extra: Vec<&str> = header.extra_digests.iter().map(|k| k.name()).collect();
                    format!(" and {} digests", extra.join(", "))
                }
            ));
        }
    }
    let info = BaselineInfo::new(path, &header);
    let mut found = Vec::new();
    let mut entries = 0;
    let mut outcome = Ok(());
    for record in base.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                outcome = Err(e);
                break;
            }
        };
        entries += 1;
        let hits = ioc_hits(iocs, &record, main);
        if !hits.is_empty() {
            found.push(HuntHit {
                baseline: path.to_path_buf(),
                host: header.host.clone(),
                created: header.created,
                generation: header.generation,
                row: row_of(&record, &info),
                hits,
            });
        }
    }
    // The hits before a record that could not be decoded were recorded all the same: they
    // are kept, and the break is a problem of its own.
    hunted.entries += entries;
    hunted.hits.extend(found);
    if outcome.is_ok() {
        hunted.searched += 1;
    }
    outcome
}
