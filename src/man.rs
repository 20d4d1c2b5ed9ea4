//! The man pages, rendered from the clap definitions: fimsum(1) and one fimsum-NAME(1) per
//! command, nested ones included (fimsum-key-generate(1)). The standard sections come from
//! clap_mangen; the exit status table and the examples are written here, as roff, because
//! clap has no place for them.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_mangen::Man;

use crate::cli::Cli;

/// Writes fimsum(1) for `None`, else fimsum-NAME(1), NAME being a command or nested ones
/// joined with `-` (`key-generate`); `Ok(false)`, and nothing written, when there is no
/// such command (clap's `help` has no page).
pub fn render(name: Option<&str>, out: &mut dyn Write) -> io::Result<bool> {
    let wanted = match name {
        None => "",
        Some("") => return Ok(false),
        Some(name) => name,
    };
    let Some((_, page)) = pages().into_iter().find(|(n, _)| n == wanted) else {
        return Ok(false);
    };
    let mut text = Vec::new();
    Man::new(page).render(&mut text)?;
    let sections = match name {
        None => [EXIT_STATUS, EXAMPLES].concat(),
        Some(_) => SEE_TOP.to_string(),
    };
    // Before VERSION, which clap_mangen writes last (the page has no AUTHORS).
    let at = find(&text, b"\n.SH VERSION\n").map_or(text.len(), |at| at + 1);
    text.splice(at..at, sections.into_bytes());
    out.write_all(&text)?;
    Ok(true)
}

/// Every page as (NAME, the command to render): the top first (NAME empty), then each
/// command before the commands nested in it. A command's page is named fimsum-NAME, which
/// also names the pages its SUBCOMMANDS section points to, and carries the version, which
/// clap_mangen puts in the page's footer; the version flag stays off, as the command has none.
fn pages() -> Vec<(String, clap::Command)> {
    let top = Cli::command().disable_help_subcommand(true);
    let version = top
        .get_version()
        .unwrap_or(env!("CARGO_PKG_VERSION"))
        .to_string();
    let mut pages = Vec::new();
    let mut pending: Vec<(String, clap::Command)> = vec![(String::new(), top)];
    while let Some((name, command)) = pending.pop() {
        let mut nested: Vec<(String, clap::Command)> = command
            .get_subcommands()
            .map(|sub| {
                let sub_name = match name.as_str() {
                    "" => sub.get_name().to_string(),
                    parent => format!("{parent}-{}", sub.get_name()),
                };
                let page = sub
                    .clone()
                    .name(format!("fimsum-{sub_name}"))
                    .version(version.clone())
                    .disable_version_flag(true)
                    .disable_help_subcommand(true);
                (sub_name, page)
            })
            .collect();
        nested.reverse();
        pending.extend(nested);
        pages.push((name, command));
    }
    pages
}

/// fimsum(1)'s EXIT STATUS: the README's "Exit codes" in short.
const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
1 to 31 are bits that add up: 6 means that something was removed and something changed.
64 and up are errors.
.TP
\fB0\fR
Nothing changed that the policy counts (scan: everything was read).
.TP
\fB1\fR, \fB2\fR, \fB4\fR (bits)
Something was added, removed, changed.
.TP
\fB8\fR (bit)
Incomplete: some path could not be read or verified.
.TP
\fB16\fR (bit)
A file\*(Aqs checksum is on an \fB\-\-ioc\fR list.
.TP
\fB64\fR
Usage error (bad arguments, bad filter pattern).
.TP
\fB65\fR
Bad data: a corrupt, truncated or newer\-version baseline, a malformed log; with
\fB\-\-verify\-key\fR, a baseline whose signature is missing, bad or by another key, or
that fails \fB\-\-expect\-host\fR or \fB\-\-min\-generation\fR.
.TP
\fB66\fR
Missing input file.
.TP
\fB74\fR
I/O error (writing the output or the baseline failed).
.TP
\fB75\fR
Another run is writing the same baseline (its lock is held); try again later.
.TP
\fB78\fR
A key file or the config file is malformed or has unsafe permissions.
"#;

/// fimsum(1)'s EXAMPLES: the first steps of the README's quick start.
const EXAMPLES: &str = r#".SH EXAMPLES
Print the lines \fBrsync \-a \-\-checksum \-\-out\-format="%n %C"\fR prints for /etc/:
.PP
.RS 4
.nf
fimsum scan /etc/
.fi
.RE
.PP
Write a baseline of /etc/ instead:
.PP
.RS 4
.nf
fimsum scan \-o etc.fimsum /etc/
.fi
.RE
.PP
Scan the roots of /etc/fimsum.toml into its baseline, the first run on a host:
.PP
.RS 4
.nf
fimsum init
.fi
.RE
.PP
Rescan and report what changed since the baseline, most severe first:
.PP
.RS 4
.nf
fimsum check etc.fimsum
.fi
.RE
.PP
The same as one JSON object per line, for a program to read:
.PP
.RS 4
.nf
fimsum check \-\-format json etc.fimsum
.fi
.RE
.PP
Compare two baselines:
.PP
.RS 4
.nf
fimsum diff old.fimsum new.fimsum
.fi
.RE
"#;

/// A command's EXIT STATUS: the codes are the same for all commands.
const SEE_TOP: &str = r#".SH "EXIT STATUS"
See \fBfimsum\fR(1).
"#;

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
