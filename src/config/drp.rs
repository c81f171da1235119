//! `[drp]` (SPEC §6): the two sites, when production's loss becomes an incident, and how hosts
//! reach each other for host→host copies. Also, as an extension, a configured throughput
//! between the backup farm and the DRP server for the restore-time estimate until one is
//! measured.

use super::Role;
use super::error::Problems;
use super::fields::{duration, table};
use super::load::Draft;
use super::values::Loose;
use serde::Deserialize;
use serde_spanned::Spanned;
use std::time::Duration;
use toml::de::DeValue;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrp {
    production: Spanned<String>,
    drp: Spanned<String>,
    incident_after: Option<Spanned<Loose>>,
    transfer_ssh: Option<Spanned<String>>,
    throughput: Option<Spanned<String>>,
    fence: Option<Spanned<String>>,
    fence_verify: Option<Spanned<String>>,
}

/// `[drp]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct DrpSettings {
    /// The production host and the DRP host (`[[hosts]]` names with those roles).
    pub production: String,
    pub drp: String,
    /// Production unreachable this long → the incident banner.
    pub incident_after: Duration,
    /// The command hosts run to reach each other (`rsync -e`, the throughput measurement):
    /// split into words, no shell quoting.
    pub transfer_ssh: String,
    /// Bytes per second between the backup farm and the DRP server, as configured; a
    /// measurement replaces it.
    pub throughput: Option<f64>,
    /// The command that fences production (puts it into maintenance) before an activation
    /// while it still answers (planned mode; emergency mode when production answers), and
    /// the command whose exit 0 proves it is fenced.
    pub fence: Option<String>,
    pub fence_verify: Option<String>,
}

pub(super) fn check_drp(
    v: Spanned<DeValue>,
    drafts: &[Draft],
    p: &mut Problems,
) -> Option<DrpSettings> {
    let raw: RawDrp = table(v, "[drp]", p)?;
    for (field, name, role) in [
        ("production", &raw.production, Role::Production),
        ("drp", &raw.drp, Role::Drp),
    ] {
        match drafts.iter().find(|d| d.name == *name.get_ref()) {
            None => p.at(
                name.span(),
                format!(
                    "`{field}`: no [[hosts]] entry named `{}`: expected the name of the {} host",
                    name.get_ref(),
                    role.word()
                ),
            ),
            Some(d) if d.role != role => p.at(
                name.span(),
                format!(
                    "`{field}`: host `{}` has role `{}`, expected a host with role `{}`",
                    name.get_ref(),
                    d.role.word(),
                    role.word()
                ),
            ),
            Some(_) => {}
        }
    }
    let incident_after = duration(
        &raw.incident_after,
        "incident_after",
        Duration::from_secs(300),
        (Duration::from_secs(10), Duration::from_secs(7 * 86400)),
        p,
    );
    let transfer_ssh = match &raw.transfer_ssh {
        None => "ssh".to_string(),
        Some(t) => {
            let s = t.get_ref().trim();
            if s.is_empty() || s.chars().any(char::is_control) {
                p.at(
                    t.span(),
                    "`transfer_ssh`: expected a command such as \"ssh -F /etc/vigie/transfer_ssh_config\"",
                );
            } else if s.contains(['\'', '"', '\\', '$', '`', ';', '|', '&']) {
                p.at(
                    t.span(),
                    "`transfer_ssh`: quotes and shell characters are not allowed: the command is split into words, as rsync -e does; put options in the file that -F names",
                );
            }
            s.to_string()
        }
    };
    let throughput = raw.throughput.as_ref().and_then(|t| match rate(t.get_ref()) {
        Some(r) => Some(r),
        None => {
            p.at(
                t.span(),
                format!(
                    "`throughput`: expected a rate such as \"80 MiB/s\" or \"1 Gbit/s\", found {:?}",
                    t.get_ref()
                ),
            );
            None
        }
    });
    let command = |v: &Option<Spanned<String>>, field: &str, p: &mut Problems| {
        v.as_ref().and_then(|c| {
            if c.get_ref().trim().is_empty() || c.get_ref().contains('\0') {
                p.at(
                    c.span(),
                    format!("`{field}`: expected a shell command run on the production host"),
                );
                None
            } else {
                Some(c.get_ref().clone())
            }
        })
    };
    let fence = command(&raw.fence, "fence", p);
    let fence_verify = command(&raw.fence_verify, "fence_verify", p);
    if let (None, Some(v)) = (&raw.fence, &raw.fence_verify) {
        p.at(
            v.span(),
            "`fence_verify` without `fence`: expected the fencing command too",
        );
    }
    Some(DrpSettings {
        production: raw.production.into_inner(),
        drp: raw.drp.into_inner(),
        incident_after,
        transfer_ssh,
        throughput,
        fence,
        fence_verify,
    })
}

/// "80 MiB/s", "80MB/s", "1 Gbit/s", "500 kB/s" → bytes per second (positive, finite).
pub fn rate(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let unit = unit.trim();
    let factor = match unit {
        "B/s" => 1.0,
        "kB/s" | "KB/s" => 1e3,
        "KiB/s" => 1024.0,
        "MB/s" => 1e6,
        "MiB/s" => 1024.0 * 1024.0,
        "GB/s" => 1e9,
        "GiB/s" => 1024.0 * 1024.0 * 1024.0,
        "kbit/s" | "Kbit/s" => 1e3 / 8.0,
        "Mbit/s" => 1e6 / 8.0,
        "Gbit/s" => 1e9 / 8.0,
        _ => return None,
    };
    let r = n * factor;
    (r.is_finite() && r > 0.0).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::rate;
    use std::path::Path;

    const HOSTS: &str = r#"
[site]
name = "t"
[ssh]
use_ssh_config = false
user = "root"
[[hosts]]
name = "prod"
address = "10.77.1.11"
role = "production"
datacenter = "dc1"
[[hosts]]
name = "drp"
address = "10.77.2.22"
role = "drp"
datacenter = "dc2"
"#;

    fn problems(drp: &str) -> String {
        match crate::config::parse(&format!("{HOSTS}{drp}"), Path::new("/x/vigie.toml")) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn drp_section() {
        let c = crate::config::parse(
            &format!(
                "{HOSTS}[drp]\nproduction = \"prod\"\ndrp = \"drp\"\nthroughput = \"80 MiB/s\"\n"
            ),
            Path::new("/x/vigie.toml"),
        )
        .unwrap();
        let d = c.drp.unwrap();
        assert_eq!((d.production.as_str(), d.drp.as_str()), ("prod", "drp"));
        assert_eq!(d.incident_after.as_secs(), 300);
        assert_eq!(d.transfer_ssh, "ssh");
        assert_eq!(d.throughput, Some(80.0 * 1048576.0));
        let e = problems("[drp]\nproduction = \"drp\"\ndrp = \"nope\"\n");
        assert!(e.contains("/x/vigie.toml:18:14: `production`: host `drp` has role `drp`, expected a host with role `production`"), "{e}");
        assert!(e.contains("`drp`: no [[hosts]] entry named `nope`"), "{e}");
        let e = problems(
            "[drp]\nproduction = \"prod\"\ndrp = \"drp\"\ntransfer_ssh = \"ssh -o 'X=1'\"\nthroughput = \"fast\"\n",
        );
        assert!(
            e.contains("quotes and shell characters are not allowed"),
            "{e}"
        );
        assert!(e.contains("`throughput`: expected a rate"), "{e}");
        let e = problems("[drp]\nproduction = \"prod\"\n");
        assert!(e.contains("drp"), "{e}");
    }

    #[test]
    fn rates() {
        assert_eq!(rate("80 MiB/s"), Some(80.0 * 1024.0 * 1024.0));
        assert_eq!(rate("1Gbit/s"), Some(125e6));
        assert_eq!(rate("500 kB/s"), Some(5e5));
        for bad in [
            "",
            "MiB/s",
            "0 MiB/s",
            "80",
            "80 MiB",
            "-1 MB/s",
            "1e400 B/s",
            "x MB/s",
        ] {
            assert_eq!(rate(bad), None, "{bad}");
        }
    }
}
