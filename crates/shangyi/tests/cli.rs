//! The command line's own contract: help and argument errors. (Having an integration test here
//! also makes `cargo test --workspace` build the binary the end-to-end suite in `tests/` runs.)

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn help_lists_the_commands() {
    let output = Command::new(env!("CARGO_BIN_EXE_shangyi"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    for command in ["serve", "fixtures", "topics", "record"] {
        assert!(text.contains(command), "{text}");
    }
}

#[test]
fn out_of_range_arguments_are_refused_by_name() {
    let output = Command::new(env!("CARGO_BIN_EXE_shangyi"))
        .args(["fixtures", "load", "--households-per-community", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--households-per-community"));
}
