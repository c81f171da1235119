//! What OpenSSH's own client configuration says about a host, asked of OpenSSH itself.
//!
//! `ssh -G NAME` prints the options OpenSSH would use to connect to NAME after reading its
//! configuration (`~/.ssh/config` and `/etc/ssh/ssh_config`, or the file given with `-F`),
//! with every `Host`/`Match` block, `Include` and token expansion applied. Comparing it with
//! `ssh -G -F /dev/null NAME` (no configuration at all) tells which values the configuration
//! actually set, as opposed to OpenSSH's defaults.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The values an OpenSSH configuration sets for one host name. `None` (or empty) when the
/// configuration leaves OpenSSH's default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SshFacts {
    pub hostname: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// Identity files in OpenSSH's order, as OpenSSH prints them (`~` not expanded).
    pub identities: Vec<String>,
    /// The ProxyJump spec (`none` is reported as `None`).
    pub proxyjump: Option<String>,
    /// A ProxyCommand, which Vigie cannot honour.
    pub proxycommand: Option<String>,
    /// The user OpenSSH would use with no configuration (the local account).
    pub default_user: Option<String>,
}

impl SshFacts {
    /// Whether the configuration says anything at all about this host.
    pub fn is_known(&self) -> bool {
        self.hostname.is_some()
            || self.port.is_some()
            || self.user.is_some()
            || !self.identities.is_empty()
            || self.proxyjump.is_some()
            || self.proxycommand.is_some()
    }
}

/// Resolves host names through an OpenSSH client configuration.
pub trait SshLookup: Sync {
    /// `Ok(None)` when no resolution is possible (ssh missing, or disabled); `Err` carries
    /// OpenSSH's own complaint (a bad configuration file, a jump loop).
    fn lookup(&self, name: &str) -> Result<Option<SshFacts>, String>;
}

/// No OpenSSH configuration (`use_ssh_config = false`).
pub struct NoLookup;

impl SshLookup for NoLookup {
    fn lookup(&self, _name: &str) -> Result<Option<SshFacts>, String> {
        Ok(None)
    }
}

/// Runs the `ssh` client (`ssh -G`). Results are cached per name.
pub struct OpenSsh {
    program: PathBuf,
    /// `-F FILE`; `None` is OpenSSH's own resolution (~/.ssh/config, /etc/ssh/ssh_config).
    config: Option<PathBuf>,
    cache: Mutex<HashMap<String, Result<Option<SshFacts>, String>>>,
    missing: Mutex<bool>,
}

impl OpenSsh {
    pub fn new(config: Option<PathBuf>) -> OpenSsh {
        OpenSsh::with_program("ssh".into(), config)
    }

    pub fn with_program(program: PathBuf, config: Option<PathBuf>) -> OpenSsh {
        OpenSsh {
            program,
            config,
            cache: Mutex::new(HashMap::new()),
            missing: Mutex::new(false),
        }
    }

    /// Runs `ssh -G [-F FILE] -- NAME`; `Ok(None)` when the program is not installed.
    fn dump(&self, config: Option<&std::path::Path>, name: &str) -> Result<Option<Dump>, String> {
        let mut cmd = Command::new(&self.program);
        cmd.arg("-G");
        if let Some(file) = config {
            cmd.arg("-F").arg(file);
        }
        cmd.arg("--").arg(name);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = match cmd.output() {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot run {}: {e}", self.program.display())),
        };
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why: Vec<&str> = stderr
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("Pseudo-terminal"))
                .collect();
            return Err(if why.is_empty() {
                format!("`ssh -G` failed ({})", out.status)
            } else {
                why.join("; ")
            });
        }
        Ok(Some(Dump::parse(&String::from_utf8_lossy(&out.stdout))))
    }

    fn resolve(&self, name: &str) -> Result<Option<SshFacts>, String> {
        // The two runs are independent: run them side by side.
        let (with, without) = std::thread::scope(|s| {
            let without = s.spawn(|| self.dump(Some(std::path::Path::new("/dev/null")), name));
            let with = self.dump(self.config.as_deref(), name);
            (
                with,
                without
                    .join()
                    .unwrap_or_else(|_| Err("ssh -G panicked".into())),
            )
        });
        let (Some(with), Some(without)) = (with?, without?) else {
            return Ok(None);
        };
        Ok(Some(with.facts_against(&without)))
    }
}

impl SshLookup for OpenSsh {
    fn lookup(&self, name: &str) -> Result<Option<SshFacts>, String> {
        if *self.missing.lock().unwrap_or_else(|e| e.into_inner()) {
            return Ok(None);
        }
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return hit.clone();
        }
        let result = self.resolve(name);
        if matches!(result, Ok(None)) {
            let mut missing = self.missing.lock().unwrap_or_else(|e| e.into_inner());
            if !*missing {
                tracing::warn!(
                    program = %self.program.display(),
                    "the OpenSSH client is not installed: ~/.ssh/config is not consulted"
                );
            }
            *missing = true;
        }
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), result.clone());
        result
    }
}

/// The interesting lines of `ssh -G` output.
#[derive(Debug, Default, PartialEq)]
struct Dump {
    hostname: Option<String>,
    port: Option<String>,
    user: Option<String>,
    identities: Vec<String>,
    proxyjump: Option<String>,
    proxycommand: Option<String>,
}

impl Dump {
    fn parse(text: &str) -> Dump {
        let mut d = Dump::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(' ') else {
                continue;
            };
            let value = value.trim().to_string();
            match key.to_ascii_lowercase().as_str() {
                "hostname" => d.hostname = Some(value),
                "port" => d.port = Some(value),
                "user" => d.user = Some(value),
                "identityfile" => d.identities.push(value),
                "proxyjump" => d.proxyjump = Some(value),
                "proxycommand" => d.proxycommand = Some(value),
                _ => {}
            }
        }
        d
    }

    /// The values `self` (with the configuration) has that `base` (without) has not.
    fn facts_against(self, base: &Dump) -> SshFacts {
        let differs = |a: Option<String>, b: &Option<String>| a.filter(|a| Some(a) != b.as_ref());
        SshFacts {
            hostname: differs(self.hostname, &base.hostname),
            port: differs(self.port, &base.port).and_then(|p| p.parse().ok()),
            user: differs(self.user, &base.user),
            // OpenSSH lists its default identities only when none is configured: any
            // difference means the configuration chose them (even if it chose a default one).
            identities: if self.identities != base.identities {
                self.identities
            } else {
                Vec::new()
            },
            proxyjump: self.proxyjump.filter(|j| !j.eq_ignore_ascii_case("none")),
            proxycommand: self
                .proxycommand
                .filter(|c| !c.eq_ignore_ascii_case("none")),
            default_user: base.user.clone(),
        }
    }
}

/// One hop of a ProxyJump spec: `[user@]host[:port]` or `ssh://[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpHop {
    /// The hop as written.
    pub spec: String,
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// Parses a ProxyJump spec: hops separated by commas, the first one connected to first.
/// `none` is no jump (`Ok(vec![])`).
pub fn parse_jump_spec(spec: &str) -> Result<Vec<JumpHop>, String> {
    let spec = spec.trim();
    if spec.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    if spec.is_empty() {
        return Err("empty jump: expected a host name, `user@host:port`, or `none`".into());
    }
    spec.split(',').map(parse_hop).collect()
}

fn parse_hop(hop: &str) -> Result<JumpHop, String> {
    let spec = hop.trim();
    let bad = |why: &str| {
        format!(
            "invalid jump hop {spec:?}: {why} (expected `host`, `user@host` or `user@host:port`)"
        )
    };
    if spec.is_empty() {
        return Err(bad("empty"));
    }
    let rest = spec.strip_prefix("ssh://").unwrap_or(spec);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
        Some(_) => return Err(bad("empty user")),
        None => (None, rest),
    };
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let (host, after) = inner.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
        match after {
            "" => (host, None),
            p => (
                host,
                Some(p.strip_prefix(':').ok_or_else(|| bad("junk after `]`"))?),
            ),
        }
    } else {
        match hostport.split_once(':') {
            Some((h, p)) if !p.contains(':') => (h, Some(p)),
            // A bare IPv6 address.
            Some(_) => (hostport, None),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err(bad("invalid character in the host"));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(bad("the port must be 1 to 65535")),
            Ok(p) => Some(p),
        },
    };
    Ok(JumpHop {
        spec: spec.to_string(),
        user,
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(spec: &str, user: Option<&str>, host: &str, port: Option<u16>) -> JumpHop {
        JumpHop {
            spec: spec.into(),
            user: user.map(Into::into),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn jump_specs() {
        assert_eq!(parse_jump_spec("none"), Ok(vec![]));
        assert_eq!(
            parse_jump_spec("bastion"),
            Ok(vec![hop("bastion", None, "bastion", None)])
        );
        assert_eq!(
            parse_jump_spec("a,ops@b:2200"),
            Ok(vec![
                hop("a", None, "a", None),
                hop("ops@b:2200", Some("ops"), "b", Some(2200))
            ])
        );
        assert_eq!(
            parse_jump_spec("ssh://root@[2001:db8::1]:22"),
            Ok(vec![hop(
                "ssh://root@[2001:db8::1]:22",
                Some("root"),
                "2001:db8::1",
                Some(22)
            )])
        );
        assert_eq!(
            parse_jump_spec("2001:db8::1"),
            Ok(vec![hop("2001:db8::1", None, "2001:db8::1", None)])
        );
        for bad in ["", "a,,b", "@h", "h:0", "h:99999", "h:x", "[h", "u@", "a b"] {
            assert!(parse_jump_spec(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_missing_ssh_is_no_resolution() {
        let ssh = OpenSsh::with_program("/nonexistent/bin/ssh".into(), None);
        assert_eq!(ssh.lookup("prod"), Ok(None));
        assert_eq!(ssh.lookup("other"), Ok(None));
    }

    #[test]
    fn real_ssh_reads_the_given_file() {
        if Command::new("ssh").arg("-V").output().is_err() {
            return; // not installed here
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ssh_config");
        std::fs::write(
            &file,
            "Host prod\n HostName 10.9.9.9\n Port 2222\n User ops\n ProxyJump bastion\n\
             Host quiet\n ProxyJump none\n\
             Host broken\n ProxyJump broken\n",
        )
        .unwrap();
        let ssh = OpenSsh::new(Some(file));
        let prod = ssh.lookup("prod").unwrap().unwrap();
        assert_eq!(prod.hostname.as_deref(), Some("10.9.9.9"));
        assert_eq!(prod.port, Some(2222));
        assert_eq!(prod.user.as_deref(), Some("ops"));
        assert_eq!(prod.proxyjump.as_deref(), Some("bastion"));
        assert!(prod.identities.is_empty());
        assert!(!ssh.lookup("quiet").unwrap().unwrap().is_known());
        // OpenSSH's own complaint comes back.
        let err = ssh.lookup("broken").unwrap_err();
        assert!(err.contains("loop"), "{err}");
        // Options after `--` are names, not options.
        assert!(ssh.lookup("-oProxyCommand=x").is_err());
    }

    #[test]
    fn dump_differences() {
        let with = Dump::parse(
            "host prod\nuser ops\nhostname 10.9.9.9\nport 2222\nidentityfile ~/.ssh/id_rsa\n\
             proxyjump bastion\n",
        );
        let without = Dump::parse(
            "host prod\nuser root\nhostname prod\nport 22\nidentityfile ~/.ssh/id_rsa\n\
             identityfile ~/.ssh/id_ed25519\n",
        );
        let facts = with.facts_against(&without);
        assert_eq!(
            facts,
            SshFacts {
                hostname: Some("10.9.9.9".into()),
                port: Some(2222),
                user: Some("ops".into()),
                identities: vec!["~/.ssh/id_rsa".into()],
                proxyjump: Some("bastion".into()),
                proxycommand: None,
                default_user: Some("root".into()),
            }
        );
        let same = Dump::parse("hostname x\nport 22\nuser root\nproxyjump none\n");
        let facts = same.facts_against(&Dump::parse("hostname x\nport 22\nuser root\n"));
        assert!(!facts.is_known());
    }
}
