//! `--syslog`: the summary and every finding, with its severity as the syslog priority, for
//! unattended runs (systemd timers, cron) whose stdout nobody reads.
//!
//! Messages go to the local syslog socket (`/dev/log`, which journald and rsyslog both
//! serve) in the local form `<PRI>fimsum[PID]: MESSAGE`, one datagram each, as glibc's
//! `syslog(3)` sends them; no timestamp, the receiver adds it. The facility is `authpriv`:
//! a FIM alert is security information, and Debian's rsyslog files authpriv into
//! /var/log/auth.log, readable by root and adm only. Our own client rather than `syslog(3)`:
//! the socket is a parameter (tests read what is sent), and a failure is an error to report,
//! not silence.
//!
//! A content diff ([`crate::text`]) is never sent, only its counts ("diff +1 -0 lines") or,
//! for a file that holds secrets, its changed line numbers.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use crate::diff::Diff;
use crate::fim::assess::Assessment;
use crate::fim::severity::Severity;
use crate::report::{finding_content_diff, finding_text, severity_text, summary_text};
use crate::rsync::escape::{escape_name, Charset};

/// The socket syslog daemons and journald listen on.
pub const DEFAULT_SOCKET: &str = "/dev/log";

/// `LOG_AUTHPRIV`.
const FACILITY: u8 = 10;

/// syslog's priorities (RFC 5424 6.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// `LOG_CRIT`.
    Crit = 2,
    /// `LOG_ERR`.
    Err = 3,
    /// `LOG_WARNING`.
    Warning = 4,
    /// `LOG_NOTICE`.
    Notice = 5,
    /// `LOG_INFO`.
    Info = 6,
}

impl Priority {
    /// The priority a finding of `severity` is logged at: critical is `crit`, high `err`,
    /// medium `warning`, low `notice`.
    pub fn of(severity: Severity) -> Priority {
        match severity {
            Severity::Critical => Priority::Crit,
            Severity::High => Priority::Err,
            Severity::Medium => Priority::Warning,
            Severity::Low | Severity::Ignore => Priority::Notice,
        }
    }
}

/// A connection to the local syslog socket.
pub struct Syslog {
    socket: UnixDatagram,
    path: PathBuf,
    pid: u32,
}

impl Syslog {
    /// Connect to the datagram socket at `path` (usually [`DEFAULT_SOCKET`]).
    pub fn connect(path: &Path) -> io::Result<Syslog> {
        let socket = UnixDatagram::unbound()?;
        socket.connect(path)?;
        Ok(Syslog {
            socket,
            path: path.to_path_buf(),
            pid: std::process::id(),
        })
    }

    /// Send one message. A message is one line: line breaks become spaces (names are
    /// already escaped by the caller, so this only guards the format).
    pub fn send(&self, priority: Priority, message: &str) -> io::Result<()> {
        let line: String = message
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        let datagram = format!(
            "<{}>fimsum[{}]: {line}",
            FACILITY * 8 + priority as u8,
            self.pid
        );
        self.socket.send(datagram.as_bytes()).map(drop)
    }

    /// The socket's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Send a comparison's summary and each finding, under absolute paths (a log line has no
/// context to read a relative name against). `subject` says what was compared (`check of
/// BASELINE`, `diff of OLD and NEW`).
pub fn send_findings(
    syslog: &Syslog,
    subject: &str,
    diff: &Diff,
    assessment: &Assessment,
    problems: u64,
    charset: Charset,
) -> io::Result<()> {
    let by_severity = severity_text(assessment);
    let summary = format!(
        "{subject}: {}{}",
        summary_text(diff, assessment, problems),
        by_severity.map_or(String::new(), |by| format!("; {by}"))
    );
    let priority = match assessment.findings.first() {
        Some(worst) => Priority::of(worst.severity),
        None => Priority::Info,
    };
    syslog.send(priority, &summary)?;
    for finding in &assessment.findings {
        let name = escape_name(&finding.path, charset);
        let mut text = finding_text(finding, diff, &name, charset);
        // Never a diff's text: a syslog line is read far from the host, kept for months,
        // and a config file can hold what its rule did not call a secret. Counts and line
        // numbers only.
        let change = finding.change.map(|i| &diff.changes[i]);
        if let Some(content) = finding_content_diff(finding, change) {
            text.push_str(&format!("; {}", content.summary()));
        }
        syslog.send(
            Priority::of(finding.severity),
            &format!("{}: {text}", finding.severity),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_facility_priority_tag_and_pid_on_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let log = Syslog::connect(&path).unwrap();
        log.send(
            Priority::of(Severity::Critical),
            "added /usr/bin/.x\nforged line",
        )
        .unwrap();
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        assert_eq!(
            text,
            format!(
                "<82>fimsum[{}]: added /usr/bin/.x forged line",
                std::process::id()
            )
        );
        assert_eq!(Priority::of(Severity::Low), Priority::Notice);
    }

    #[test]
    fn a_missing_socket_is_an_error() {
        assert!(Syslog::connect(Path::new("/nonexistent/fimsum-log")).is_err());
    }
}
