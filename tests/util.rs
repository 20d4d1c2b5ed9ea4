//! Helpers shared by the integration tests.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

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
    fimsum()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("fimsum runs")
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
