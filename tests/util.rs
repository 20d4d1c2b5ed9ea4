//! Helpers shared by the integration tests.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use fimsum::hash::{Algorithm, Kernel};
use fimsum::record::Record;
use fimsum::scan::walk::WalkOptions;
use fimsum::scan::Reuse;
use fimsum::scan::{scan_reusing, Item, ScanOptions};

/// The crate root, where scripts/ and baselines/ live.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A `fimsum` command with a fixed UTF-8 locale.
pub fn fimsum() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fimsum"));
    cmd.env("LC_ALL", "C.UTF-8");
    cmd
}

/// Run fimsum with these arguments in `dir`.
pub fn run_in<I, S>(dir: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    TestCommand::new(dir).args(args).run()
}

pub fn code(out: &Output) -> i32 {
    out.status
        .code()
        .expect("fimsum exited, not killed by a signal")
}

/// The fixture tree of scripts/make-fixtures.sh, built once per test run.
pub fn fixtures() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, root) = DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("temp dir");
        // Traversable by the unprivileged user of the permission cases.
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let root = tmp.path().join("fx");
        let status = Command::new("bash")
            .arg(repo().join("scripts/make-fixtures.sh"))
            .arg(&root)
            .status()
            .expect("bash runs");
        assert!(status.success(), "make-fixtures.sh failed");
        (tmp, root)
    });
    root
}

/// A small scratch tree for one test.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn write(path: &Path, data: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, data).expect("write");
}

/// A command's standard output, lossily decoded (for comparisons and failure messages).
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command's standard error, lossily decoded.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether the tests run as root: root reads what a mode forbids and owns what it makes, so
/// some cases are checked only as root and others only as another user.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Whether `rsync --version` runs. When it does not, says so on stderr, naming what is
/// `skipping`, so a run without rsync shows what it did not compare.
pub fn rsync_available(skipping: &str) -> bool {
    let found = Command::new("rsync")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("NOTICE: rsync is not installed; skipping {skipping}");
    }
    found
}

/// The generation of the signed `baseline` in `dir`, as the "signature verified" note of
/// `show --verify-key a.pub` reports it (`..., generation N, created ...`).
pub fn verified_generation(dir: &Path, baseline: &str) -> u64 {
    let out = run_in(dir, ["show", "--verify-key", "a.pub", baseline]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    let at = err
        .find("generation ")
        .expect("the note names the generation")
        + 11;
    err[at..].split(',').next().unwrap().parse().unwrap()
}

/// A fimsum run being put together: `TestCommand::new(dir).args([...]).run()`.
pub struct TestCommand {
    cmd: Command,
}

impl TestCommand {
    /// fimsum in `dir`, with the fixed locale of [`fimsum`].
    pub fn new(dir: &Path) -> TestCommand {
        let mut cmd = fimsum();
        cmd.current_dir(dir);
        TestCommand { cmd }
    }

    /// fimsum in `dir` as user and group 65534 (nobody), without supplementary groups, so
    /// that modes apply even when the tests run as root.
    pub fn as_nobody(dir: &Path) -> TestCommand {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_fimsum"))
            .current_dir(dir)
            .env("LC_ALL", "C.UTF-8");
        TestCommand { cmd }
    }

    pub fn args<I, S>(mut self, args: I) -> TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> TestCommand {
        self.cmd.env(key, value);
        self
    }

    /// Runs it to its end, with stdout and stderr captured.
    pub fn run(mut self) -> Output {
        self.cmd.output().expect("fimsum runs")
    }
}

/// xorshift64*: deterministic randomness without a crate, for generated test cases (the
/// same seed gives the same cases).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // xorshift never leaves a zero state.
        Rng(seed | 1)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
        usize::try_from(r).unwrap_or(0) % n
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// The options of a library scan as the tests use them: no extra digests, the best MD5
/// kernel, no growing files, and a look-ahead of 2 batches, small so that a test with a few
/// thousand files fills it.
pub fn scan_options(algorithm: Algorithm, threads: usize, walk: WalkOptions) -> ScanOptions {
    ScanOptions {
        algorithm,
        extras: Vec::new(),
        threads,
        walk,
        kernel: Kernel::detect(),
        batches_ahead: 2,
        growing: None,
        capture: None,
    }
}

/// `dir` with a `/` added, the source that scans what is in it (rsync's `dir/`).
pub fn contents_of(dir: &Path) -> Vec<u8> {
    let mut source = dir.as_os_str().as_bytes().to_vec();
    source.push(b'/');
    source
}

/// A library scan of `source`, taking the checksums `reuse` knows where it knows them: the
/// records, and each problem as `NAME: MESSAGE`.
pub fn scan_source(
    source: &[u8],
    options: &ScanOptions,
    reuse: Option<Box<dyn Reuse + '_>>,
) -> (Vec<Record>, Vec<String>) {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    scan_reusing(
        &[source.to_vec()],
        options,
        reuse,
        |item| -> Result<(), ()> {
            match item {
                Item::Record(r) => records.push(r),
                Item::Problem(p) => problems.push(format!(
                    "{}: {}",
                    String::from_utf8_lossy(&p.name),
                    p.message
                )),
                // The walks of these tests list every kind of entry (rsync's -a).
                Item::Skipped(s) => panic!("skipped {:?}", s.name),
            }
            Ok(())
        },
    )
    .expect("the scan runs");
    (records, problems)
}
