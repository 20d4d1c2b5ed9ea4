//! What dist/ ships for unattended runs and the Debian package (README "Install",
//! docs/unattended.md): the systemd units against the package's install paths, `systemd-analyze
//! verify` when it is installed, the cron job's and the notify script's handling of fimsum's
//! exit codes (run with stand-ins for fimsum, systemctl, journalctl, sendmail and curl), and
//! dist/fimsum.toml against the built-in config.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{repo, scratch, stderr, stdout, write, TestCommand};

/// A unit file: section -> key -> values in file order (a key may be given more than once).
type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// Parses the `key=value` lines of a systemd unit file (systemd.syntax(7): `#` and `;`
/// comments, `[Section]` headers; no line of ours is continued with a backslash).
fn parse_unit(path: &Path) -> Unit {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut unit = Unit::new();
    let mut section = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        assert!(!line.ends_with('\\'), "{path:?}:{}: continued line", n + 1);
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_string());
            unit.entry(name.to_string()).or_default();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{path:?}:{}: not key=value: {line}", n + 1));
        let section = section
            .as_ref()
            .unwrap_or_else(|| panic!("{path:?}:{}: key before any section", n + 1));
        unit.get_mut(section)
            .unwrap()
            .entry(key.trim().to_string())
            .or_default()
            .push(value.trim().to_string());
    }
    unit
}

/// The one value of `key` in `section`.
fn one<'a>(unit: &'a Unit, section: &str, key: &str) -> &'a str {
    let values = unit
        .get(section)
        .and_then(|s| s.get(key))
        .unwrap_or_else(|| panic!("no {key}= in [{section}]"));
    assert_eq!(values.len(), 1, "{key}= given {} times", values.len());
    &values[0]
}

fn dist(name: &str) -> PathBuf {
    repo().join("dist").join(name)
}

/// `[package.metadata.deb]` of Cargo.toml.
fn deb_metadata() -> toml::Table {
    let text = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&text).expect("Cargo.toml parses");
    manifest["package"]["metadata"]["deb"]
        .as_table()
        .expect("[package.metadata.deb]")
        .clone()
}

/// The package's assets as (source, installed path); a `dest` ending in `/` takes the
/// source's file name, as cargo-deb does.
fn deb_assets() -> Vec<(String, String)> {
    deb_metadata()["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|a| {
            let a = a.as_array().expect("[source, dest, mode]");
            let (src, dest) = (a[0].as_str().unwrap(), a[1].as_str().unwrap());
            let dest = match dest.strip_suffix('/') {
                Some(dir) if !src.contains('*') => {
                    format!(
                        "/{dir}/{}",
                        Path::new(src).file_name().unwrap().to_str().unwrap()
                    )
                }
                _ => format!("/{dest}"),
            };
            (src.to_string(), dest)
        })
        .collect()
}

fn installed_path(source: &str) -> String {
    deb_assets()
        .into_iter()
        .find(|(src, _)| src == source)
        .unwrap_or_else(|| panic!("the package does not install {source}"))
        .1
}

#[test]
fn package_assets_exist_and_land_where_the_units_look() {
    for (src, dest) in deb_assets() {
        if !src.starts_with("target/release/") && !src.contains('*') {
            assert!(repo().join(&src).is_file(), "asset {src} is missing");
        }
        assert!(!dest.contains("//"), "{dest}");
    }
    assert_eq!(installed_path("target/release/fimsum"), "/usr/bin/fimsum");
    assert_eq!(
        installed_path("dist/fimsum.toml"),
        fimsum::fim::config::DEFAULT_PATH
    );
    assert_eq!(
        installed_path("dist/completions/fimsum.bash"),
        "/usr/share/bash-completion/completions/fimsum"
    );
    assert_eq!(
        installed_path("dist/completions/fimsum.zsh"),
        "/usr/share/zsh/vendor-completions/_fimsum"
    );
    assert_eq!(
        installed_path("dist/completions/fimsum.fish"),
        "/usr/share/fish/vendor_completions.d/fimsum.fish"
    );
    // The units: installed by cargo-deb's systemd-units from dist/, neither enabled nor
    // started (a check before `fimsum init` can only fail).
    let units = deb_metadata()["systemd-units"].as_table().unwrap().clone();
    assert_eq!(units["unit-scripts"].as_str(), Some("dist/"));
    assert_eq!(units["unit-name"].as_str(), Some("fimsum-check"));
    assert_eq!(units["enable"].as_bool(), Some(false));
    assert_eq!(units["start"].as_bool(), Some(false));
}

#[test]
fn check_service_runs_the_packaged_binary_and_the_timer_starts_it() {
    let service = parse_unit(&dist("fimsum-check.service"));
    let exec: Vec<&str> = one(&service, "Service", "ExecStart")
        .split_whitespace()
        .collect();
    assert_eq!(exec[0], installed_path("target/release/fimsum"));
    assert_eq!(
        exec[1..],
        ["check"],
        "the timer checks; it never rolls the baseline"
    );
    assert_eq!(one(&service, "Service", "Type"), "oneshot");
    // Every exit bit and every error fails the unit (and starts OnFailure=); only "locked
    // by another run" does not.
    assert_eq!(one(&service, "Service", "SuccessExitStatus"), "75");

    // Writable: the state directory, where the default config keeps the baseline; the rest
    // of the tree read-only, but not hidden or replaced.
    assert_eq!(one(&service, "Service", "ProtectSystem"), "strict");
    assert_eq!(one(&service, "Service", "StateDirectory"), "fimsum");
    assert!(fimsum::fim::config::Config::default()
        .baseline
        .starts_with("/var/lib/fimsum/"));
    assert_eq!(one(&service, "Service", "ProtectHome"), "read-only");
    assert_eq!(one(&service, "Service", "PrivateTmp"), "yes");
    assert_eq!(one(&service, "Service", "NoNewPrivileges"), "yes");
    assert_eq!(one(&service, "Service", "IOSchedulingClass"), "idle");
    for changes_the_tree in [
        "PrivateDevices",
        "ProtectKernelModules",
        "ProtectKernelLogs",
    ] {
        assert!(
            !service["Service"].contains_key(changes_the_tree),
            "{changes_the_tree}= changes what a check sees"
        );
    }
    let caps = one(&service, "Service", "CapabilityBoundingSet");
    assert!(caps.contains("CAP_DAC_READ_SEARCH"), "must read every file");

    // OnFailure= names the packaged notify template, which runs the packaged script.
    let on_failure = one(&service, "Unit", "OnFailure");
    assert_eq!(on_failure, "fimsum-notify@%n.service");
    let notify = parse_unit(&dist("fimsum-notify@.service"));
    assert_eq!(
        installed_path("dist/fimsum-notify@.service"),
        "/usr/lib/systemd/system/fimsum-notify@.service"
    );
    let notify_exec: Vec<&str> = one(&notify, "Service", "ExecStart")
        .split_whitespace()
        .collect();
    assert_eq!(
        notify_exec,
        [installed_path("dist/fimsum-notify").as_str(), "%i"]
    );

    let timer = parse_unit(&dist("fimsum-check.timer"));
    assert_eq!(one(&timer, "Timer", "Unit"), "fimsum-check.service");
    assert!(dist(one(&timer, "Timer", "Unit")).is_file());
    assert_eq!(one(&timer, "Timer", "Persistent"), "true");
    assert!(
        one(&timer, "Timer", "OnCalendar").contains("*-*-*"),
        "daily"
    );
    assert!(service["Unit"].contains_key("Description"));
    assert!(!one(&timer, "Timer", "RandomizedDelaySec").is_empty());
    assert_eq!(one(&timer, "Install", "WantedBy"), "timers.target");
}

/// `systemd-analyze verify` on copies of the units whose programs point at this build:
/// no error and no warning (an unknown or misspelt key is only a warning there).
#[test]
fn systemd_analyze_verifies_the_units() {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    };
    assert!(version.status.success());
    let tmp = scratch();
    let notify = tmp.path().join("fimsum-notify");
    std::fs::copy(dist("fimsum-notify"), &notify).unwrap();
    for name in [
        "fimsum-check.service",
        "fimsum-check.timer",
        "fimsum-notify@.service",
    ] {
        let text = std::fs::read_to_string(dist(name))
            .unwrap()
            .replace("/usr/bin/fimsum", env!("CARGO_BIN_EXE_fimsum"))
            .replace(
                "/usr/libexec/fimsum/fimsum-notify",
                notify.to_str().unwrap(),
            );
        write(&tmp.path().join(name), text.as_bytes());
    }
    // An instance of the template, as OnFailure= starts it.
    std::fs::copy(
        tmp.path().join("fimsum-notify@.service"),
        tmp.path()
            .join("fimsum-notify@fimsum-check.service.service"),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .current_dir(tmp.path())
        .args(["verify", "--man=no"])
        .args([
            "./fimsum-check.service",
            "./fimsum-check.timer",
            "./fimsum-notify@fimsum-check.service.service",
        ])
        .output()
        .unwrap();
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

/// dist/fimsum.toml, installed as /etc/fimsum.toml, is the built-in config.
#[test]
fn packaged_config_is_the_built_in_default() {
    let committed = std::fs::read_to_string(dist("fimsum.toml")).unwrap();
    assert!(
        committed == fimsum::fim::config::Config::default_text(),
        "dist/fimsum.toml is out of date: run scripts/gen-dist.sh"
    );
    // Once `fimsum config --default` exists, it must print the same bytes.
    let out = TestCommand::new(repo()).args(["config", "--default"]).run();
    if out.status.success() {
        assert!(
            out.stdout == committed.as_bytes(),
            "config --default differs"
        );
    }
}

/// An executable shell script at `path`.
fn script(path: &Path, body: &str) {
    write(path, format!("#!/bin/sh\n{body}").as_bytes());
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The cron job prints (so cron mails) only when fimsum exits non-zero: the code, then the
/// report.
#[test]
fn cron_job_prints_only_when_the_check_fails() {
    let text = std::fs::read_to_string(dist("fimsum.cron")).unwrap();
    let jobs: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty() && !l.contains('='))
        .collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let fields: Vec<&str> = jobs[0].splitn(7, ' ').collect();
    assert_eq!(fields[5], "root", "a /etc/cron.d line names its user");
    let command = fields[6];
    assert!(command.contains("/usr/bin/fimsum check "), "{command}");
    assert!(!command.contains('%'), "cron turns % into a newline");
    assert!(text.lines().any(|l| l.starts_with("MAILTO=")));

    let tmp = scratch();
    let stub = tmp.path().join("fimsum");
    let report = tmp.path().join("report.txt");
    let command = command
        .replace("/usr/bin/fimsum", stub.to_str().unwrap())
        .replace("/run/fimsum-check.txt", report.to_str().unwrap());
    for (exit, expect) in [(0, ""), (5, "fimsum check: exit 5\n1 added, 0 removed\n")] {
        script(
            &stub,
            &format!("echo \"1 added, 0 removed\"\nexit {exit}\n"),
        );
        let out = Command::new("/bin/sh")
            .args(["-c", &command])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(stdout(&out), expect, "exit {exit}");
        assert!(out.stderr.is_empty(), "{}", stderr(&out));
    }
}

/// Runs dist/fimsum-notify as OnFailure= would, with stand-ins that answer for a unit that
/// exited with `code` (or was killed, `exited: false`) and that record what was sent.
struct Notify {
    tmp: tempfile::TempDir,
}

impl Notify {
    fn new() -> Notify {
        let tmp = scratch();
        let bin = tmp.path().join("bin");
        let t = tmp.path().display().to_string();
        script(
            &bin.join("systemctl"),
            &format!(
                "case $3 in\n--property=ExecMainCode) cat {t}/code ;;\n\
                 --property=ExecMainStatus) cat {t}/status ;;\n\
                 --property=Result) echo exit-code ;;\n\
                 --property=InvocationID) echo 0123abcd ;;\nesac\n"
            ),
        );
        script(
            &bin.join("journalctl"),
            &format!("echo \"$*\" >{t}/journalctl.args\ncat {t}/journal\n"),
        );
        script(
            &bin.join("sendmail"),
            &format!(
                "echo \"$*\" >{t}/sendmail.args\ncat >{t}/mail\nexit $(cat {t}/sendmail.exit)\n"
            ),
        );
        script(
            &bin.join("curl"),
            &format!("echo \"$*\" >{t}/curl.args\nfor a; do case $a in @*) cat \"${{a#@}}\" >{t}/posted ;; esac; done\n"),
        );
        write(&tmp.path().join("sendmail.exit"), b"0");
        Notify { tmp }
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.tmp.path().join(name)).unwrap_or_default()
    }

    /// Returns (exit code, stdout + stderr).
    fn run(&self, exited: bool, status: u32, journal: &str, env: &[(&str, &str)]) -> (i32, String) {
        let t = self.tmp.path();
        write(&t.join("code"), if exited { b"1\n" } else { b"2\n" });
        write(&t.join("status"), format!("{status}\n").as_bytes());
        write(&t.join("journal"), journal.as_bytes());
        let path = format!(
            "{}:{}",
            t.join("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let out = Command::new(dist("fimsum-notify"))
            .arg("fimsum-check.service")
            .env_clear()
            .env("PATH", path)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let said = format!("{}{}", stdout(&out), stderr(&out));
        (out.status.code().unwrap(), said)
    }
}

#[test]
fn notify_names_what_the_exit_code_means() {
    let n = Notify::new();
    for (exited, status, subject) in [
        (true, 5, ": added, changed (exit 5)"),
        (true, 2 | 8, ": removed, incomplete (exit 10)"),
        (true, 16 | 4, ": changed, known-bad-hash (exit 20)"),
        (true, 66, ": missing input (baseline or config) (exit 66)"),
        (true, 64, ": usage error (exit 64)"),
        (false, 9, ": killed by signal 9 (exit-code) (exit 9)"),
    ] {
        let (code, said) = n.run(exited, status, "report\n", &[]);
        assert_eq!(code, 0, "{said}");
        assert!(said.contains(subject), "{status}: {said}");
        assert!(said.contains("nothing sent"), "{said}");
    }
    // The report is the failed run's own output, found by its invocation id.
    assert_eq!(
        n.file("journalctl.args").trim(),
        "--quiet --no-pager --output=cat _SYSTEMD_INVOCATION_ID=0123abcd"
    );
}

#[test]
fn notify_mails_and_posts_the_report() {
    let n = Notify::new();
    let journal = "1 added, 0 removed, 0 changed, 0 unverified (3 entries compared)\n\
                   added      tab\there \"quoted\" back\\slash\n";
    let env = [
        ("FIMSUM_MAILTO", "root sec@example.org"),
        ("FIMSUM_WEBHOOK", "https://hooks.example.org/x"),
    ];
    let (code, said) = n.run(true, 1, journal, &env);
    assert_eq!(code, 0, "{said}");
    assert_eq!(
        n.file("sendmail.args").trim(),
        "-oi -- root sec@example.org"
    );
    let mail = n.file("mail");
    assert!(
        mail.starts_with("To: root, sec@example.org\nSubject: fimsum on "),
        "{mail}"
    );
    assert!(mail.contains(": added (exit 1)\n"), "{mail}");
    assert!(mail.ends_with(journal), "{mail}");
    assert!(n
        .file("curl.args")
        .ends_with("https://hooks.example.org/x\n"));
    let posted: serde_json::Value =
        serde_json::from_str(&n.file("posted")).expect("the webhook gets valid JSON");
    let text = posted["text"].as_str().unwrap();
    assert!(text.starts_with("fimsum on "), "{text}");
    assert!(text.ends_with(&format!("\n\n{journal}")), "{text:?}");

    // A long report is cut, saying where the rest is.
    let long: String = (0..30).map(|i| format!("added      f{i}\n")).collect();
    let (code, _) = n.run(true, 1, &long, &[env[0], ("FIMSUM_MAX_LINES", "10")]);
    assert_eq!(code, 0);
    let mail = n.file("mail");
    assert!(
        mail.contains("added      f9\n... 20 more lines: journalctl "),
        "{mail}"
    );
    assert!(!mail.contains("f10\n"));

    // Sending that fails fails the notify unit too.
    write(&n.tmp.path().join("sendmail.exit"), b"1");
    let (code, said) = n.run(true, 4, "x\n", &env[..1]);
    assert_eq!(code, 1);
    assert!(
        said.contains("sendmail to root sec@example.org failed"),
        "{said}"
    );
}
