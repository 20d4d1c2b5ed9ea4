//! What a change is worth: the config file ([`config`]) and the rules it compiles to
//! ([`policy`]), lists of known-bad hashes ([`ioc`]), the dpkg database as known-good
//! digests ([`packages`]), and the assessment ([`assess`]) that judges each change of a diff
//! under them before a report writes it.

pub mod assess;
pub mod config;
pub mod ioc;
pub mod packages;
mod pattern;
pub mod policy;
pub mod severity;
