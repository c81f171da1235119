//! What the engine asks the hosts, outside the steps' own modules: whether a host answers,
//! whether a pinned source still exists, the newest file under a path, fresh backup readings,
//! a check's state for a `wait` step; and each step's preview for `vigie drp plan`. Every
//! remote command is a fixed `sh -s` with its values single-quoted on stdin.

use crate::backup::evaluate::DatasetReport;
use crate::checks::Check;
use crate::collect::{HostTracker, RefreshSettings, refresh_host};
use crate::config::Config;
use crate::drp::copy::{CopySpec, Phase};
use crate::drp::model::{HostPath, Mode, PlanStep, Resolved};
use crate::probe::COMMAND;
use crate::ssh::Pool;
use crate::text::sanitize;
use futures::future::join_all;
use std::time::Duration;

use super::{PROBE_FIRST_BYTE, PROBE_TOTAL};

/// Runs `stdin` as a script on `host` (`sh -s`); its stdout, or why not.
pub(super) async fn remote(
    pool: &Pool,
    host: &str,
    stdin: &[u8],
    total: Duration,
) -> Result<String, String> {
    let (conn, _) = pool.get(host).await.map_err(|e| e.to_string())?;
    let out = conn
        .exec(COMMAND, stdin, PROBE_FIRST_BYTE, total)
        .await
        .map_err(|e| e.to_string());
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            pool.drop_connection(host).await;
            return Err(e);
        }
    };
    if out.timed_out {
        pool.drop_connection(host).await;
        return Err(format!("no complete answer within {} s", total.as_secs()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The host answers over SSH (a command runs there).
pub(super) async fn answers(pool: &Pool, host: &str) -> Result<(), String> {
    let out = remote(pool, host, b"echo vigie-ok\n", PROBE_TOTAL).await?;
    if out.lines().any(|l| l.trim() == "vigie-ok") {
        Ok(())
    } else {
        Err("it accepted the connection but ran no command".into())
    }
}

/// Whether `path` exists on `host`.
pub(super) async fn exists(pool: &Pool, host: &str, path: &str) -> Result<bool, String> {
    let q = crate::probe::sh_quote(path).ok_or("a NUL byte in the path")?;
    let script = format!("if [ -e {q} ]; then echo vigie-yes; else echo vigie-no; fi\n");
    let out = remote(pool, host, script.as_bytes(), PROBE_TOTAL).await?;
    match out.lines().map(str::trim).find(|l| l.starts_with("vigie-")) {
        Some("vigie-yes") => Ok(true),
        Some("vigie-no") => Ok(false),
        _ => Err("no answer from the test".into()),
    }
}

/// The newest modification time of the files under `path` on `host` (`None`: no file).
pub(super) async fn newest_mtime(
    pool: &Pool,
    host: &str,
    path: &str,
) -> Result<Option<f64>, String> {
    let script = super::guards::newest_mtime_script(path).ok_or("a NUL byte in the path")?;
    let out = remote(pool, host, &script, super::FIND_TOTAL).await?;
    super::guards::parse_newest_mtime(&out)
}

/// One refresh of every server holding a copy of `datasets` (the first refresh reads the
/// backups, as `vigie check` does), evaluated. Also a line saying what was read.
pub(super) async fn read_backups(
    config: &Config,
    pool: &Pool,
    datasets: &[&str],
) -> (Vec<DatasetReport>, String) {
    let mut hosts: Vec<&str> = Vec::new();
    for d in datasets {
        for c in config.dataset(d).iter().flat_map(|d| &d.copies) {
            if !hosts.contains(&c.host.as_str()) {
                hosts.push(&c.host);
            }
        }
    }
    let settings = RefreshSettings::from_config(config);
    let snaps = join_all(
        hosts
            .iter()
            .filter_map(|h| config.host(h))
            .map(|h| async move {
                let mut tracker = HostTracker::new(config, &h.name);
                refresh_host(pool, h, &mut tracker, settings).await
            }),
    )
    .await;
    let now = jiff::Timestamp::now();
    let reports = crate::backup::site::evaluate_snapshots(config, snaps.iter(), now);
    let mut said: Vec<String> = snaps
        .iter()
        .map(|s| match &s.error {
            None => format!("{} read", s.name),
            Some(e) => format!(
                "{} NOT read ({})",
                s.name,
                crate::probe::parse::clean(&e.to_string(), 120)
            ),
        })
        .collect();
    for r in &reports {
        if datasets.contains(&r.name.as_str()) {
            said.push(match &r.newest {
                Some(n) => format!(
                    "newest good backup of {}: on {}, captured {}",
                    sanitize(&r.name),
                    sanitize(&n.host),
                    super::guards::in_zone(n.captured_at, &config.site.timezone)
                ),
                None => format!("no good backup of {} read", sanitize(&r.name)),
            });
        }
    }
    (
        reports,
        format!("backups read just now: {}", said.join("; ")),
    )
}

/// The current state of check `id` (on `host` for a host's check), read now.
pub(super) async fn read_check(
    config: &Config,
    pool: &Pool,
    id: &str,
    host: Option<&str>,
) -> Result<Check, String> {
    let find = |checks: Vec<Check>| {
        checks
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| format!("no check {id} was produced"))
    };
    if id.starts_with("app.url.") || id.starts_with("network.dnsbl.") {
        let dnsbl = id.starts_with("network.dnsbl.");
        return find(crate::collect::site::site_checks(config, pool, dnsbl).await);
    }
    if let Some(rest) = id.strip_prefix("backup.") {
        let dataset = config
            .datasets
            .iter()
            .map(|d| d.name.as_str())
            .filter(|n| rest.starts_with(&format!("{n}.")))
            .max_by_key(|n| n.len())
            .ok_or_else(|| format!("no dataset for check {id}"))?;
        let (reports, _) = read_backups(config, pool, &[dataset]).await;
        return find(reports.into_iter().flat_map(|r| r.checks).collect());
    }
    let name = host.ok_or_else(|| format!("check {id} is a host's: no host given"))?;
    let h = config
        .host(name)
        .ok_or_else(|| format!("host {name} is not in the configuration"))?;
    let mut tracker = HostTracker::new(config, name);
    let snap = refresh_host(pool, h, &mut tracker, RefreshSettings::from_config(config)).await;
    if let Some(e) = &snap.error {
        return Err(format!("{name} did not answer: {e}"));
    }
    find(snap.checks)
}

/// The job script of an `exec` step: the command run by the host's login shell, as an
/// operator's own `ssh host 'command'` would.
pub(super) fn login_shell(command: &str) -> String {
    let q = crate::probe::sh_quote(command).unwrap_or_else(|| "''".into());
    format!("exec \"${{SHELL:-/bin/sh}}\" -c {q}\n")
}

/// The copy of a resolved copy step, checked.
pub(super) fn copy_spec(config: &Config, step: &Resolved) -> Result<CopySpec, String> {
    let Resolved::Copy { from, to, .. } = step else {
        return Err("not a copy".into());
    };
    let from = from.as_ref().ok_or("the source is not resolved")?;
    let transfer = config
        .drp
        .as_ref()
        .map_or("ssh", |d| d.transfer_ssh.as_str());
    CopySpec::new(
        HostPath {
            host: from.host.name.clone(),
            path: from.path.clone(),
        },
        HostPath {
            host: to.host.name.clone(),
            path: to.path.clone(),
        },
        transfer,
    )
    .map_err(|e| e.to_string())
}

/// What each step will run, for `vigie drp plan` and the run's first update.
pub(super) fn preview(config: &Config, step: &PlanStep, mode: Mode, run_id: &str) -> Vec<String> {
    match &step.step {
        Resolved::Confirm { .. } => Vec::new(),
        Resolved::Exec { host, command, .. } => vec![format!(
            "{}    # on {}, detached (setsid), by its login shell",
            login_shell(command).trim_end(),
            host.name,
        )],
        Resolved::Copy { .. } => match copy_spec(config, &step.step) {
            Ok(spec) => {
                let on = spec.runs_on();
                vec![
                    format!(
                        "{}    # on {on}: preview",
                        spec.command_line(Phase::Preview)
                    ),
                    format!("{}    # on {on}: the copy", spec.command_line(Phase::Copy)),
                    format!(
                        "{}    # on {on}: verification, must show no change",
                        spec.command_line(Phase::Verify)
                    ),
                ]
            }
            Err(e) => vec![format!("CANNOT COPY: {e}")],
        },
        Resolved::DbImport { .. } => {
            let transfer = config
                .drp
                .as_ref()
                .map_or("ssh", |d| d.transfer_ssh.as_str());
            match crate::drp::db_import::ImportSpec::from_plan(step, mode, transfer) {
                Ok(spec) => spec.with_site_zone(&config.site.timezone).preview(run_id),
                Err(e) => vec![format!("CANNOT IMPORT: {e}")],
            }
        }
        Resolved::Ticket { .. } => match &config.ticket {
            Some(t) => vec![format!(
                "POST {} (bearer token from {}), Idempotency-Key vigie-{run_id}-step-{}",
                t.url,
                t.token_file.display(),
                step.number
            )],
            None => vec!["no [ticket] section: this step cannot run".into()],
        },
        Resolved::Dns {
            new_address,
            expected_old,
            ..
        } => match (
            &config.dns,
            expected_old.parse::<std::net::IpAddr>(),
            new_address.parse::<std::net::IpAddr>(),
        ) {
            (Some(d), Ok(old), Ok(new)) => crate::drp::dns::preview(d, old, new),
            (None, _, _) => vec!["no [dns] section: this step cannot run".into()],
            _ => vec![format!(
                "CANNOT SWITCH: {expected_old} → {new_address}: a DNS record needs IP addresses \
                 (set public_address of both sites)"
            )],
        },
        Resolved::Wait { .. } => Vec::new(),
    }
}
