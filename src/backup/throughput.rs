//! The throughput between a backup server and the DRP server, which the restore-time estimate
//! (SPEC §5) divides the backup's size by. Measured on demand by a timed transfer over the
//! very path the DRP copy steps use (`[drp] transfer_ssh`, from the backup server to the DRP
//! server), and kept in the state directory so that it outlives the console.
//!
//! The transfer runs on the backup server: random bytes (not zeros, which a compressing SSH
//! would shrink) piped through `transfer_ssh DRP 'cat >/dev/null'`. The connection's set-up
//! (`transfer_ssh DRP true`) is timed apart and taken out. It starts with 8 MiB and grows
//! (64, then 256 MiB) while a transfer takes under 2 s, so that a fast link is measured over
//! a long enough time and a slow one is not loaded for minutes.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The remote side of a measurement, after the `VT_*` assignments (see [`stdin`]).
const SCRIPT: &str = r#"
set -f
export LC_ALL=C
PATH=${PATH:+$PATH:}/usr/local/bin:/usr/bin:/bin
now() { date +%s.%N; }
t0=$(now)
err=$($VT_SSH "$VT_TO" true 2>&1 </dev/null)
rc=$?
t1=$(now)
if [ "$rc" != 0 ]; then
    printf 'fail %s\n' "$rc"
    printf '%s\n' "$err" | head -n 3
    exit 0
fi
printf 'setup %s %s\n' "$t0" "$t1"
for mib in 8 64 256; do
    a=$(now)
    err=$(head -c $((mib * 1048576)) /dev/urandom 2>/dev/null | $VT_SSH "$VT_TO" 'cat >/dev/null' 2>&1)
    rc=$?
    b=$(now)
    if [ "$rc" != 0 ]; then
        printf 'fail %s\n' "$rc"
        printf '%s\n' "$err" | head -n 3
        exit 0
    fi
    printf 'sent %s %s %s\n' "$((mib * 1048576))" "$a" "$b"
    # Long enough to trust: stop growing.
    awk -v a="$a" -v b="$b" 'BEGIN { exit !(b - a >= 2) }' && break
done
"#;

/// One measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The backup server the bytes left from, and the DRP server they went to.
    pub from: String,
    pub to: String,
    pub bytes: u64,
    /// Transfer time without the connection's set-up.
    pub seconds: f64,
    pub at: Timestamp,
    /// The DRP run whose copy this was; `None` for a timed transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

impl Measurement {
    pub fn bytes_per_second(&self) -> f64 {
        self.bytes as f64 / self.seconds
    }
}

/// The stdin of the measuring shell (`sh -s`): the transfer command and the DRP host's name
/// as single-quoted assignments, then the script. `None` for a NUL byte in either.
pub fn stdin(transfer_ssh: &str, drp: &str) -> Option<Vec<u8>> {
    let ssh = crate::probe::sh_quote(transfer_ssh)?;
    let to = crate::probe::sh_quote(drp)?;
    Some(format!("VT_SSH={ssh}\nVT_TO={to}\n{SCRIPT}").into_bytes())
}

/// What the script printed, read into a measurement (the largest transfer) or why it failed.
/// Pure; never panics.
pub fn parse(out: &str, from: &str, to: &str, at: Timestamp) -> Result<Measurement, String> {
    let mut lines = out.lines();
    let mut setup = None;
    let mut best: Option<(u64, f64)> = None;
    while let Some(line) = lines.next() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["fail", rc] => {
                let why: Vec<String> = lines
                    .by_ref()
                    .take(3)
                    .map(|l| crate::probe::parse::clean(l, 120))
                    .filter(|l| !l.is_empty())
                    .collect();
                let why = if why.is_empty() {
                    format!("exit {rc}")
                } else {
                    why.join(" / ")
                };
                return Err(format!("{from} cannot send to {to}: {why}"));
            }
            ["setup", a, b] => setup = span(a, b),
            ["sent", n, a, b] => {
                if let (Ok(n), Some(s)) = (n.parse::<u64>(), span(a, b))
                    && best.is_none_or(|(m, _)| n > m)
                {
                    best = Some((n, s));
                }
            }
            _ => {}
        }
    }
    let Some((bytes, total)) = best else {
        return Err(format!(
            "{from}: the timed transfer to {to} printed no result"
        ));
    };
    // The set-up is taken out, but never below a tenth of the transfer: a set-up slower than
    // the transfer itself would otherwise give an absurd rate.
    let seconds = (total - setup.unwrap_or(0.0)).max(total / 10.0);
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(format!(
            "{from}: the timed transfer to {to} took no measurable time"
        ));
    }
    Ok(Measurement {
        from: from.into(),
        to: to.into(),
        bytes,
        seconds,
        at,
        run: None,
    })
}

/// Seconds between two `date +%s.%N` readings (`%N` may be missing on old systems: then
/// whole seconds).
fn span(a: &str, b: &str) -> Option<f64> {
    let (a, b) = (a.parse::<f64>().ok()?, b.parse::<f64>().ok()?);
    let d = b - a;
    (d.is_finite() && d >= 0.0).then_some(d)
}

/// The measurements kept, by backup server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    pub by_host: BTreeMap<String, Measurement>,
    /// The last real import of each dataset (from the journal: never saved).
    #[serde(default, skip_serializing)]
    pub imports: BTreeMap<String, super::journal_rates::ImportTime>,
}

impl Measurements {
    /// `$XDG_STATE_HOME/vigie/<site>/throughput.json`.
    pub fn path(site: &str) -> Option<PathBuf> {
        Some(
            crate::paths::state_dir()?
                .join(crate::paths::component(site))
                .join("throughput.json"),
        )
    }

    /// The kept measurements; none when the file is absent or unreadable (it is only a
    /// cache of facts that a new measurement rebuilds).
    pub fn load(path: &Path) -> Measurements {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::paths::write_atomically(path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        "2026-11-29T03:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_largest_transfer_counts_without_the_setup() {
        let out = "setup 100.0 100.5\n\
                   sent 8388608 100.5 100.9\n\
                   sent 67108864 100.9 103.9\n";
        let m = parse(out, "backup-a", "drp", at()).unwrap();
        assert_eq!(m.bytes, 67_108_864);
        assert!((m.seconds - 2.5).abs() < 1e-9, "{}", m.seconds);
        assert!((m.bytes_per_second() - 67_108_864.0 / 2.5).abs() < 1.0);
    }

    #[test]
    fn failures_say_who_could_not_reach_whom() {
        let out = "fail 255\nHost key verification failed.\n";
        assert_eq!(
            parse(out, "backup-a", "drp", at()).unwrap_err(),
            "backup-a cannot send to drp: Host key verification failed."
        );
        assert_eq!(
            parse("fail 1\n", "backup-a", "drp", at()).unwrap_err(),
            "backup-a cannot send to drp: exit 1"
        );
        assert!(parse("", "a", "b", at()).unwrap_err().contains("no result"));
        // A set-up longer than the transfer leaves a tenth of it.
        let m = parse("setup 0 9\nsent 100 10 11\n", "a", "b", at()).unwrap();
        assert!((m.seconds - 0.1).abs() < 1e-9);
        assert!(parse("sent 100 10 10\n", "a", "b", at()).is_err());
    }

    #[test]
    fn the_script_runs_with_a_real_shell() {
        // A local script stands for SSH (it runs the remote command here): the pipeline, the
        // timing and the growth run for real. The transfer command is split into words, as
        // rsync -e splits it.
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake-ssh");
        std::fs::write(
            &fake,
            "#!/bin/sh\n[ \"$1\" = -q ] && shift\nshift\nexec sh -c \"$*\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let input = stdin(&format!("{} -q", fake.display()), "drp").unwrap();
        let mut child = Command::new("/bin/sh")
            .arg("-s")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let m = parse(&text, "here", "drp", at()).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(m.bytes >= 8 << 20, "{text}");
        assert!(m.bytes_per_second() > 1e6, "{text}");
    }

    #[test]
    fn measurements_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site/throughput.json");
        assert_eq!(Measurements::load(&path), Measurements::default());
        let mut m = Measurements::default();
        m.by_host.insert(
            "backup-a".into(),
            parse("sent 1048576 0 1\n", "backup-a", "drp", at()).unwrap(),
        );
        m.save(&path).unwrap();
        assert_eq!(Measurements::load(&path), m);
        std::fs::write(&path, "{garbled").unwrap();
        assert_eq!(Measurements::load(&path), Measurements::default());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "(setup|sent|fail|[0-9. -]|\n){0,80}") {
            let _ = parse(&s, "a", "b", at());
        }
    }
}
