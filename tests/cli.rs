//! The command line as scripts use it: exit codes and where messages go.

use std::process::Command;

fn vigie(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .env(
            "XDG_STATE_HOME",
            std::env::temp_dir().join("vigie-cli-test-state"),
        )
        .output()
        .unwrap()
}

#[test]
fn config_check_accepts_the_example_and_lists_its_hosts() {
    let out = vigie(&["--config", "config.example.toml", "config", "check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("OK"), "{stdout}");
    for name in ["bastion", "prod", "backup-a", "backup-b", "drp"] {
        assert!(stdout.contains(name), "{name} missing: {stdout}");
    }
}

#[test]
fn config_check_reports_every_error_with_its_location_and_exit_3() {
    let out = vigie(&[
        "--config",
        "tests/fixtures/config/many_errors.toml",
        "config",
        "check",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty(), "errors belong on stderr");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let located = stderr
        .lines()
        .filter(|l| l.starts_with("tests/fixtures/config/many_errors.toml:"))
        .count();
    assert!(
        located >= 5,
        "expected every problem on its own located line:\n{stderr}"
    );
    assert!(
        stderr.contains(":12:8: unknown role `Production`"),
        "{stderr}"
    );
}

#[test]
fn check_with_a_missing_config_says_so_and_exits_unknown() {
    let out = vigie(&["--config", "/nonexistent/vigie.toml", "check", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/vigie.toml"));
}

#[test]
fn a_bad_flag_is_a_usage_error_not_a_state() {
    let out = vigie(&["check", "--jsn"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--jsn"));
}
