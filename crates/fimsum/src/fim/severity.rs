//! The words a policy speaks: how much a change matters ([`Severity`]) and which attributes
//! of an entry a change is about ([`Attribute`], which lives with the records it describes
//! and is re-exported here; sets of them as [`Attributes`]). The config parses them, the
//! policy compiles rules from them, the assessment and the reports use them.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::Deserialize;

pub use crate::record::Attribute;

/// How much a change matters, in increasing order, so that `>=` picks a report threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Never reported: the entry is still recorded, so it can be looked at by hand.
    Ignore,
    /// Worth a look when there is time.
    Low,
    /// Worth a look soon.
    Medium,
    /// Likely an intrusion or a broken system.
    High,
    /// What a kept intrusion leaves: a new set-id file, a known-bad digest.
    Critical,
}

impl Severity {
    /// Every severity, most severe first (the order the docs list them in).
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Ignore,
    ];

    /// The name used in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Ignore => "ignore",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Severity, String> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown severity {s:?} (critical, high, medium, low, ignore)"))
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Severity, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(de::Error::custom)
    }
}

/// A set of [`Attribute`]s: the ones whose changes a rule reports.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Attributes(u32);

impl Attributes {
    /// No attribute.
    pub const NONE: Attributes = Attributes(0);
    /// Every attribute.
    pub const ALL: Attributes = Attributes::of(&Attribute::ALL);
    /// Who may do what with the entry (AIDE's `p+u+g` plus the type), and the security
    /// attributes that say it too: capabilities, inode flags, ACLs, the SELinux label.
    pub(crate) const PERMS: Attributes = Attributes::of(&[
        Attribute::Type,
        Attribute::Mode,
        Attribute::Owner,
        Attribute::Group,
        Attribute::Caps,
        Attribute::Flags,
        Attribute::Acl,
        Attribute::Selinux,
    ]);
    /// What the entry holds, ignoring when and how it was written.
    pub(crate) const DATA: Attributes = Attributes::of(&[
        Attribute::Type,
        Attribute::Content,
        Attribute::Size,
        Attribute::Link,
    ]);

    /// Names that stand for several attributes in a config, like AIDE's groups. None of
    /// them is also an attribute's name.
    pub(crate) const GROUPS: [(&'static str, Attributes); 3] = [
        ("all", Attributes::ALL),
        ("perms", Attributes::PERMS),
        ("data", Attributes::DATA),
    ];

    /// The set of these attributes.
    pub const fn of(list: &[Attribute]) -> Attributes {
        let mut bits = 0;
        let mut i = 0;
        while i < list.len() {
            bits |= list[i].bit();
            i += 1;
        }
        Attributes(bits)
    }

    /// Whether the set holds this attribute.
    pub const fn contains(self, attribute: Attribute) -> bool {
        self.0 & attribute.bit() != 0
    }

    pub(crate) const fn union(self, other: Attributes) -> Attributes {
        Attributes(self.0 | other.0)
    }

    /// This set less the attributes of `other`.
    pub const fn without(self, other: Attributes) -> Attributes {
        Attributes(self.0 & !other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in [`Attribute::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Attribute> {
        Attribute::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }

    /// An attribute's or a group's name, as written in a config.
    pub(crate) fn from_name(name: &str) -> Option<Attributes> {
        let single = Attribute::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .map(|a| Attributes(a.bit()));
        single.or_else(|| {
            Attributes::GROUPS
                .into_iter()
                .find(|(group, _)| *group == name)
                .map(|(_, set)| set)
        })
    }
}

impl FromIterator<Attribute> for Attributes {
    fn from_iter<I: IntoIterator<Item = Attribute>>(iter: I) -> Attributes {
        iter.into_iter()
            .fold(Attributes::NONE, |set, a| Attributes(set.0 | a.bit()))
    }
}

/// Comma-separated names, e.g. `mode,owner`; empty for none.
impl fmt::Display for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, attribute) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(attribute.name())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Attributes({self})")
    }
}

/// Comma-separated attribute or group names (the command-line form of a config's list).
impl FromStr for Attributes {
    type Err = String;

    fn from_str(s: &str) -> Result<Attributes, String> {
        s.split(',')
            .filter(|name| !name.is_empty())
            .try_fold(Attributes::NONE, |set, name| {
                Ok(set.union(parse_attribute_name(name)?))
            })
    }
}

/// One name of a config's `attributes` list, with the message a config error shows.
pub(crate) fn parse_attribute_name(name: &str) -> Result<Attributes, String> {
    Attributes::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Attribute::ALL.iter().map(|a| a.name()).collect();
        format!(
            "unknown attribute {name:?} (attributes: {}; groups: all, perms, data)",
            names.join(", ")
        )
    })
}
