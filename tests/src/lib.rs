//! End-to-end tests of shangyi, one per user story (in `tests/`), and the small harness they
//! share: it runs the real `shangyi` binary in throwaway directories, the way users do.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `shangyi` binary of this build, brought up to date once per test process: testing
/// this package alone must not run a stale binary left by an earlier build.
pub fn binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("the test's own path");
            // target/<profile>/deps/<test> → target/<profile>/shangyi
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .expect("a target directory");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = Command::new(cargo);
            build.args(["build", "--quiet", "-p", "shangyi", "--bin", "shangyi"]);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                build.arg("--release");
            }
            let status = build.status().expect("running cargo build");
            assert!(status.success(), "building shangyi failed");
            profile_dir.join(format!("shangyi{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

/// A command running `shangyi` with `args`.
pub fn shangyi(args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command.args(args).env("RUST_LOG", "warn");
    command
}

/// Runs `shangyi` and returns its output, failing the test with everything it printed if the
/// exit status is not `expected`.
pub fn run(args: &[&str], expected: i32) -> Output {
    let output = shangyi(args).output().expect("running shangyi");
    let code = output.status.code().unwrap_or(-1);
    assert_eq!(
        code,
        expected,
        "shangyi {} exited {code}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A throwaway directory with a database path in it.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn db(&self) -> String {
        self.dir.path().join("shangyi.db").display().to_string()
    }
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch::new()
    }
}

/// Loads a small demo city (3 households per community) into the scratch database.
pub fn load_small_city(scratch: &Scratch) -> Output {
    run(
        &[
            "fixtures",
            "load",
            "--db",
            &scratch.db(),
            "--households-per-community",
            "3",
            "--at",
            "2026-11-27T09:00:00+08:00",
        ],
        0,
    )
}
