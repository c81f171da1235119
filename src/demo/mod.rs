//! The embedded demo site of `vigie demo`: a complete site with no servers, no root and
//! nothing to configure.
//!
//! In-process SSH servers (russh's server side) on 127.0.0.1 play a bastion, production, two
//! backup servers in two datacenters and a DRP server. Each runs the real probe in its own
//! sandbox directory, where shims stand for the host's simulated hardware (its disks, SMART,
//! its name), network (its cards and routes) and applications: prod runs nginx and a
//! PostgreSQL primary streaming to a standby on drp, each process a copy of cat(1) under the
//! real one's name, which the shims of ps, curl, pg_isready and psql report on. /proc is this
//! machine's. Their host keys are in a temporary known_hosts, and the console reaches them
//! with the same client code and configuration loader as a real site, through the bastion.
//! The site's URL test reaches the shop on a small web server of the demo, and its blocklists
//! are looked up through the demo's own DNS server, both on 127.0.0.1.
//!
//! The site has the policy's DRP runbooks (`drp.rs`): a run copies the newest
//! backup with real rsync between the sandboxes (the hosts reach each other with OpenSSH's
//! ssh through `[drp] transfer_ssh`), switches the site's record on the demo's DNS server
//! (RFC 2136, TSIG), after which the web server serves the host the record points at, and
//! opens tickets on the demo's ticket system. Its journal ([`DemoSite::journal`]) and lock
//! ([`DemoSite::lock_dir`]) stay in the site's directory, and the sandboxes make no
//! directory outside it.
//!
//! [`Faults`] inject failures (prod goes dark, a disk fills, its web tier stops, the
//! replication link breaks) so a newcomer can watch the console react. Dropping the
//! [`DemoSite`] stops the servers, kills every process it started and removes its directory.

mod apps;
mod dns;
mod dns_zone;
mod drp;
mod faults;
mod gate;
mod hosts;
mod net;
mod procs;
mod sandbox;
mod server;
mod smart;
mod tickets;
mod web;

pub use faults::{Fault, Faults};
pub use tickets::DemoTicket;

use crate::config::Config;
use anyhow::{Context, anyhow};
use gate::Mode;
use hosts::HostSpec;
use hosts::{HOSTS, PRODUCTION, Pg};
use procs::{Groups, ServiceSpec, Services};
use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};
use sandbox::Tools;
use server::HostServer;
use std::borrow::Cow;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// What the demo's runbooks leave out, in one line, for a console to show on its DRP screen.
pub const DRP_NOTE: &str =
    "demo: no database import (its PostgreSQL is a stand-in); copies, DNS and tickets are real";

/// The SSH user the demo's configuration names (the servers accept any user with the key).
const USER: &str = "demo";
/// The running demo site. See the [module documentation](self).
pub struct DemoSite {
    config: Config,
    faults: Faults,
    zone: Arc<dns_zone::Zone>,
    desk: Arc<tickets::Desk>,
    parts: Parts,
}

impl std::fmt::Debug for DemoSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoSite")
            .field("dir", &self.dir())
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

/// What has to be stopped and removed; filled as the site starts, so that a start that fails
/// half-way leaves nothing behind either.
#[derive(Default)]
struct Parts {
    servers: Vec<Arc<HostServer>>,
    tasks: Vec<JoinHandle<()>>,
    services: Option<Arc<Services>>,
    groups: Arc<Groups>,
    faults: Option<Faults>,
    dir: Option<tempfile::TempDir>,
}

impl Parts {
    /// Stop everything, in an order that leaves nothing running: no more faults, every
    /// connection cut, no more accepts, every command and service killed, then the directory
    /// removed. Idempotent.
    fn stop(&mut self) {
        if let Some(f) = self.faults.take() {
            f.stop();
        }
        for s in &self.servers {
            s.gate.set(Mode::Closed);
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.groups.kill_all();
        if let Some(s) = self.services.take() {
            s.shutdown();
        }
        if let Some(dir) = self.dir.take() {
            procs::kill_under(dir.path());
            let path = dir.path().to_path_buf();
            if let Err(e) = dir.close() {
                tracing::warn!(dir = %path.display(), error = %e, "demo directory not removed");
            }
        }
    }
}

impl Drop for Parts {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Drop for DemoSite {
    /// Stops the servers, kills the processes the site started (services and commands) and
    /// removes its temporary directory.
    fn drop(&mut self) {
        self.parts.stop();
    }
}

/// A fresh ed25519 key.
fn ed25519(comment: &str) -> anyhow::Result<PrivateKey> {
    let seed: [u8; 32] = rand::random();
    let mut key = PrivateKey::new(KeypairData::from(Ed25519Keypair::from_seed(&seed)), comment)
        .context("cannot make an ed25519 key")?;
    key.set_comment(comment);
    Ok(key)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// A TOML string literal.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn utf8(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .ok_or_else(|| anyhow!("{} is not UTF-8: set TMPDIR to a plain path", p.display()))
}

/// The demo's datasets, on the backups the sandboxes were seeded with: the user database
/// every 2 h on backup-a (dc1, production's datacenter: the policy says so), the files on
/// even days on backup-a and odd days on backup-b (dc2).
fn datasets_text(backup_a: &Path, backup_b: &Path) -> anyhow::Result<String> {
    let a = utf8(backup_a)?;
    let b = utf8(backup_b)?;
    Ok(format!(
        "\n[[datasets]]\n\
         name = \"userdb\"\n\
         max_loss = \"2h\"\n\
         restore = {{ kind = \"postgresql\", database = \"shop\" }}\n\
         [[datasets.copies]]\n\
         host = \"backup-a\"\n\
         path = {userdb}\n\
         every = \"2h\"\n\
         pattern = \"userdb-*.dump\"\n\
         \n[[datasets]]\n\
         name = \"files\"\n\
         max_loss = \"24h\"\n\
         restore = {{ kind = \"files\" }}\n\
         [[datasets.copies]]\n\
         host = \"backup-a\"\n\
         path = {files_a}\n\
         every = \"24h\"\n\
         days = \"even\"\n\
         pattern = \"files-*.tar.zst\"\n\
         [[datasets.copies]]\n\
         host = \"backup-b\"\n\
         path = {files_b}\n\
         every = \"24h\"\n\
         days = \"odd\"\n\
         pattern = \"files-*.tar.zst\"\n",
        userdb = toml_str(&format!("{a}/userdb")),
        files_a = toml_str(&format!("{a}/files")),
        files_b = toml_str(&format!("{b}/files")),
    ))
}

/// The demo site's configuration file.
fn config_text(identity: &Path, known_hosts: &Path, ports: &[u16]) -> anyhow::Result<String> {
    let mut s = format!(
        "# The embedded demo site of `vigie demo`: written by vigie, removed when the demo ends.\n\
         [site]\n\
         name = \"demo\"\n\
         refresh = \"2s\"\n\
         timezone = \"Europe/Paris\"\n\
         \n\
         [ssh]\n\
         user = {user}\n\
         identity = {identity}\n\
         known_hosts = {known_hosts}\n\
         use_ssh_config = false\n\
         connect_timeout = \"3s\"\n\
         command_timeout = \"10s\"\n\
         \n\
         # Every demo host's root filesystem is this machine's own: how full its disk is says\n\
         # nothing of the demo site (its disk fault fills prod's /srv).\n\
         [thresholds.mounts.\"/\"]\n\
         warn = \"none\"\n\
         crit = \"none\"\n",
        user = toml_str(USER),
        identity = toml_str(utf8(identity)?),
        known_hosts = toml_str(utf8(known_hosts)?),
    );
    for (spec, port) in HOSTS.iter().zip(ports) {
        s.push_str(&format!(
            "\n[[hosts]]\n\
             name = {name}\n\
             address = \"127.0.0.1\"\n\
             port = {port}\n\
             role = {role}\n\
             datacenter = {dc}\n",
            name = toml_str(spec.name),
            role = toml_str(spec.role),
            dc = toml_str(spec.datacenter),
        ));
        if spec.role != "bastion" {
            s.push_str("jump = \"bastion\"\n");
        }
        s.push_str(&format!("processes = [{}]\n", toml_str(spec.process)));
        if let Some(public) = spec.public_address {
            s.push_str(&format!("public_address = {}\n", toml_str(public)));
        }
        let services = spec.services();
        if !services.is_empty() {
            let list: Vec<String> = services.iter().map(|s| toml_str(s)).collect();
            s.push_str(&format!("services = [{}]\n", list.join(", ")));
        }
        if spec.postgres.is_some() {
            s.push_str("replication = [\"postgresql\"]\n");
        }
    }
    Ok(s)
}

/// The site's URL test (the shop, on the demo's web server) and blocklists (the demo's
/// resolver, serving the zones itself): every public address (prod's, drp's) is looked up.
fn site_checks_text(web_port: u16, dns_port: u16) -> String {
    let zones: Vec<String> = dns::ZONES.iter().map(|z| toml_str(z)).collect();
    format!(
        "\n[[urls]]\n\
         name = \"shop\"\n\
         url = \"http://127.0.0.1:{web_port}/\"\n\
         expect = [200]\n\
         contains = \"Welcome to the demo\"\n\
         \n[dnsbl]\n\
         resolver = \"127.0.0.1:{dns_port}\"\n\
         zones = [{zones}]\n",
        zones = zones.join(", ")
    )
}

impl DemoSite {
    /// Start everything on 127.0.0.1 (ephemeral ports); returns when every server listens.
    /// Needs a tokio runtime with the I/O and time drivers.
    pub async fn start() -> anyhow::Result<DemoSite> {
        let tools = Tools::find()?;
        let dir = tempfile::Builder::new()
            .prefix("vigie-demo-")
            .tempdir()
            .context("cannot create the demo site's directory")?;
        let root = dir.path().to_path_buf();
        let mut parts = Parts::default();
        parts.dir = Some(dir);

        // The operator's key: the only key any demo server accepts.
        let client = ed25519("operator@vigie-demo")?;
        let identity = root.join("id_ed25519");
        write_private(&identity, &client.to_openssh(LineEnding::LF)?)?;
        std::fs::write(
            root.join("id_ed25519.pub"),
            format!("{}\n", client.public_key().to_openssh()?),
        )?;

        // When the site started: the shims' clocks (PostgreSQL's WAL position) start here.
        let t0 = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        struct Host {
            spec: HostSpec,
            listener: TcpListener,
            port: u16,
            key: PrivateKey,
            sandbox: sandbox::Sandbox,
            gate: Arc<gate::Gate>,
        }
        // Each host's services start on their thread as soon as its sandbox is ready, while
        // the rest of the site is prepared.
        let services = Services::spawn().context("cannot start the demo site's service thread")?;
        parts.services = Some(services.clone());
        let mut launched = Vec::new();
        let mut hosts = Vec::new();
        let mut known_hosts = String::from("# vigie demo: the demo servers' host keys\n");
        for spec in HOSTS {
            let listener = TcpListener::bind(("127.0.0.1", 0))
                .await
                .context("cannot listen on 127.0.0.1")?;
            let port = listener.local_addr()?.port();
            let key = ed25519(&format!("root@{}", spec.name))?;
            known_hosts.push_str(&format!(
                "[127.0.0.1]:{port} {}\n",
                key.public_key().to_openssh()?
            ));
            let sandbox = sandbox::build(&root, &spec, &tools, t0)
                .with_context(|| format!("cannot prepare demo host {}", spec.name))?;
            launched.push(
                sandbox
                    .services
                    .iter()
                    .map(|s| {
                        let l = services.launch(ServiceSpec {
                            host: spec.name.to_string(),
                            name: s.name.to_string(),
                            sandbox: sandbox.dir.clone(),
                            procs: s
                                .procs
                                .iter()
                                .map(|(exe, args)| (exe.clone(), args.to_string()))
                                .collect(),
                        });
                        (s.name, l)
                    })
                    .collect::<Vec<_>>(),
            );
            hosts.push(Host {
                spec,
                listener,
                port,
                key,
                sandbox,
                gate: gate::Gate::new(),
            });
        }
        let known_hosts_path = root.join("known_hosts");
        std::fs::write(&known_hosts_path, known_hosts)?;
        let host_of = |name: &str| {
            hosts
                .iter()
                .find(|h| h.spec.name == name)
                .ok_or_else(|| anyhow!("no demo host {name}"))
        };

        let prod = host_of(PRODUCTION)?;
        let ports: Vec<u16> = hosts.iter().map(|h| h.port).collect();
        // The DRP's side: how hosts reach each other, the DNS key, the ticket token.
        let named: Vec<(&str, u16)> = hosts.iter().map(|h| (h.spec.name, h.port)).collect();
        let transfer = drp::transfer_script(
            tools.ssh.as_deref(),
            &identity,
            &known_hosts_path,
            USER,
            &named,
        )?;
        let files = drp::write_files(&root, &transfer)?;
        let public = prod
            .spec
            .public_address
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| anyhow!("production has no public IPv4 address"))?;
        let zone = Arc::new(
            dns_zone::Zone::new(public, files.secret.clone())
                .ok_or_else(|| anyhow!("cannot make the demo's DNS zone"))?,
        );
        let (dns_port, resolving) = dns::start(zone.clone())
            .await
            .context("cannot start the demo's DNS server on 127.0.0.1")?;
        parts.tasks.push(tokio::spawn(resolving));
        let (desk, receiving) = tickets::start(files.token_text.clone())
            .await
            .context("cannot start the demo's ticket system on 127.0.0.1")?;
        parts.tasks.push(tokio::spawn(receiving));
        // The shop's web site: the nginx of the host the site's record points at.
        let drp_host = host_of("drp")?;
        let drp_public: std::net::Ipv4Addr = drp_host
            .spec
            .public_address
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| anyhow!("the DRP server has no public IPv4 address"))?;
        let route: web::Route = {
            let zone = zone.clone();
            Arc::new(move || zone.addresses().contains(&drp_public))
        };
        let backend = |h: &Host| web::Backend {
            gate: h.gate.clone(),
            srv: h.sandbox.srv.clone(),
        };
        let (web, serving) = web::start(backend(prod), backend(drp_host), route)
            .await
            .context("cannot start the demo's web site on 127.0.0.1")?;
        parts.tasks.push(tokio::spawn(serving));

        let backup_a = host_of("backup-a")?.sandbox.srv.clone();
        let backup_b = host_of("backup-b")?.sandbox.srv.clone();
        let config_path = root.join("vigie-demo.toml");
        let mut text = config_text(&identity, &known_hosts_path, &ports)?;
        text.push_str(&datasets_text(&backup_a, &backup_b)?);
        text.push_str(&site_checks_text(web.port(), dns_port));
        text.push_str(&drp::config_text(
            &files,
            &prod.sandbox.dir,
            &drp_host.sandbox.dir,
            dns_port,
            desk.port(),
        )?);
        std::fs::write(&config_path, text)?;
        let config = crate::config::load(&config_path)
            .map_err(|e| anyhow!("the demo site's own configuration is invalid: {e}"))?;

        for (h, launched) in hosts.iter().zip(launched) {
            for (name, l) in launched {
                l.wait()
                    .with_context(|| format!("cannot start {name} on demo host {}", h.spec.name))?;
            }
        }
        let (primary, standby) = (
            host_of_role(Pg::Primary).ok_or_else(|| anyhow!("no PostgreSQL primary"))?,
            host_of_role(Pg::Standby).ok_or_else(|| anyhow!("no PostgreSQL standby"))?,
        );
        let targets = faults::Targets {
            gate: prod.gate.clone(),
            fill: prod.sandbox.srv.join("log").join("web-debug.log"),
            srv: prod.sandbox.srv.clone(),
            services,
            host: PRODUCTION.to_string(),
            process: prod.spec.process.to_string(),
            web,
            primary: primary.to_string(),
            standby: standby.to_string(),
            cut_flag: sandbox::cut_flag(&root),
        };

        let bastion = HOSTS[0].name;
        for h in hosts {
            let forward_to = if h.spec.name == bastion {
                ports.iter().copied().filter(|p| *p != h.port).collect()
            } else {
                Vec::new()
            };
            let config = russh::server::Config {
                server_id: russh::SshId::Standard(Cow::Borrowed("SSH-2.0-vigie_demo")),
                methods: russh::MethodSet::from(&[russh::MethodKind::PublicKey][..]),
                auth_rejection_time: Duration::from_millis(200),
                auth_rejection_time_initial: Some(Duration::ZERO),
                keys: vec![h.key],
                nodelay: true,
                ..Default::default()
            };
            let server = Arc::new(HostServer {
                name: h.spec.name.to_string(),
                sandbox: h.sandbox.dir.clone(),
                user: USER.to_string(),
                config: Arc::new(config),
                client_key: client.public_key().clone(),
                gate: h.gate,
                execs: Arc::new(Semaphore::new(server::MAX_EXECS)),
                forward_to,
                groups: parts.groups.clone(),
            });
            parts.servers.push(server.clone());
            parts
                .tasks
                .push(tokio::spawn(server::serve(h.listener, server)));
        }
        let faults = Faults::new(targets);
        parts.faults = Some(faults.clone());
        tracing::info!(dir = %root.display(), "demo site started");
        Ok(DemoSite {
            config,
            faults,
            zone,
            desk,
            parts,
        })
    }

    /// The console's configuration of the demo site, loaded and validated from a file in the
    /// site's directory (`config().path`), like any configuration.
    pub fn config(&self) -> &crate::config::Config {
        &self.config
    }

    /// The fault switches; the handle stays valid (and inert) after the site is dropped.
    pub fn faults(&self) -> Faults {
        self.faults.clone()
    }

    /// The site's temporary directory: configuration, keys, known_hosts, and each host's
    /// sandbox under `hosts/<name>`.
    pub fn dir(&self) -> &Path {
        self.parts
            .dir
            .as_ref()
            .map(|d| d.path())
            .unwrap_or_else(|| Path::new(""))
    }

    /// The journal of the demo's DRP runs: in the site's directory, gone with it, never the
    /// operator's state directory (the console and any engine on the demo must use it).
    pub fn journal(&self) -> crate::drp::journal::Journal {
        crate::drp::journal::Journal::at(drp::journal_path(self.dir()))
    }

    /// The DRP lock's directory on the demo's DRP server (its sandbox's `var/lib/vigie`), for
    /// [`crate::drp::engine::Engine::lock_dir`]: never this machine's /var/lib/vigie.
    pub fn lock_dir(&self) -> String {
        drp::lock_dir(self.dir()).to_string_lossy().into_owned()
    }

    /// The tickets the demo's ticket system received, oldest first.
    pub fn tickets(&self) -> Vec<DemoTicket> {
        self.desk.tickets()
    }

    /// The addresses the site's record (`www.demo.test`) holds on the demo's DNS server:
    /// production's until an activation switches it.
    pub fn site_addresses(&self) -> Vec<std::net::Ipv4Addr> {
        self.zone.addresses()
    }

    /// The sandbox of a demo host (its HOME and working directory).
    pub fn sandbox(&self, host: &str) -> Option<PathBuf> {
        HOSTS
            .iter()
            .any(|h| h.name == host)
            .then(|| self.dir().join("hosts").join(host))
    }

    /// Whether a demo host's internal process (`processes` in the configuration: prod's
    /// `demo-web`) is running.
    pub fn service_running(&self, host: &str) -> bool {
        HOSTS
            .iter()
            .find(|h| h.name == host)
            .is_some_and(|h| self.process_running(host, h.process))
    }

    /// Whether a service of a demo host is running: its internal process, `nginx`,
    /// `postgresql`, or the replication's `walsender` (prod) and `walreceiver` (drp).
    pub fn process_running(&self, host: &str, service: &str) -> bool {
        self.parts
            .services
            .as_ref()
            .is_some_and(|s| s.is_running(host, service))
    }
}

/// The host running PostgreSQL in this part.
fn host_of_role(role: Pg) -> Option<&'static str> {
    HOSTS
        .iter()
        .find(|h| h.postgres == Some(role))
        .map(|h| h.name)
}
