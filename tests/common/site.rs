//! Site configurations of the lab tests: the lab's own configuration followed by the sections
//! a test needs (the `files` dataset, `[drp]`, the first steps of an activation), written to a
//! test's own directory, and `vigie check --json` on it.

use crate::common::lab::Lab;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub const HOUR: i64 = 3600;

/// Seconds since the epoch by this machine's clock, which the lab hosts share.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `[drp]` naming the lab's production and DRP hosts (a caller may add keys after it).
pub const DRP_HOSTS: &str = "[drp]\nproduction = \"prod\"\ndrp = \"drp\"\n";

/// The lab's `files` dataset: a tree a day, on backup-a on even days and backup-b on odd ones.
pub fn files_dataset(max_loss: &str) -> String {
    format!(
        r#"[[datasets]]
name = "files"
max_loss = "{max_loss}"
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/files"
every = "24h"
days = "even"
pattern = "files-*"
[[datasets.copies]]
host = "backup-b"
path = "/var/backups/files"
every = "24h"
days = "odd"
pattern = "files-*"
"#
    )
}

/// The first steps of the activation runbook: the customer's order, then the newest `files`
/// copied to `to` (`HOST:/path`).
pub fn activate_order_and_copy(to: &str) -> String {
    format!(
        r#"[[runbooks.activate.steps]]
kind = "confirm"
title = "Order of the customer received"
ask = "order reference"

[[runbooks.activate.steps]]
kind = "copy"
title = "Copy files & configurations to the DRP server"
from = "newest:files"
to = "{to}"
"#
    )
}

/// Writes the lab's configuration followed by `extra` (TOML) to `dir/vigie.toml`.
pub fn write_config(lab: &Lab, dir: &Path, extra: &str) -> PathBuf {
    let base = std::fs::read_to_string(lab.config_path()).unwrap();
    let path = dir.join("vigie.toml");
    std::fs::write(&path, format!("{base}\n{extra}")).unwrap();
    path
}

/// `vigie check --json` on `config` (its state directory `state`, when given): the exit code
/// and the document.
pub fn check_json(config: &Path, state: Option<&Path>) -> (i32, Value) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"));
    cmd.arg("--config").arg(config).args(["check", "--json"]);
    if let Some(state) = state {
        cmd.env("XDG_STATE_HOME", state);
    }
    let out = cmd.output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), doc)
}
