//! The embedded demo site of `vigie demo`: a complete site with no servers, no root and
//! nothing to configure.
//!
//! In-process SSH servers (russh's server side) on 127.0.0.1 play a bastion, production, two
//! backup servers in two datacenters and a DRP server. Each runs the real probe in its own
//! sandbox directory, where shims stand for the host's simulated hardware (its disks, SMART,
//! its name) and a copy of sleep(1) is its service; /proc and ps are this machine's. Their
//! host keys are in a temporary known_hosts, and the console reaches them with the same
//! client code and configuration loader as a real site, through the bastion.
//!
//! [`Faults`] inject failures into production (it goes dark, a disk fills, a service stops)
//! so a newcomer can watch the console react. Dropping the [`DemoSite`] stops the servers,
//! kills every process it started and removes its directory.

mod faults;
mod gate;
mod procs;
mod sandbox;
mod server;
mod smart;

pub use faults::{Fault, Faults};

use crate::config::Config;
use anyhow::{Context, anyhow};
use gate::Mode;
use procs::{Groups, ServiceSpec, Services};
use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};
use sandbox::{Contents, HostSpec, Tools, Volume};
use server::HostServer;
use smart::Disk;
use std::borrow::Cow;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// The SSH user the demo's configuration names (the servers accept any user with the key).
const USER: &str = "demo";
/// The production host, where faults are injected.
const PRODUCTION: &str = "prod";

const SAMSUNG: (u16, u32) = (0x144d, 0x002538);
const MICRON: (u16, u32) = (0x1344, 0x00a075);
const KINGSTON: (u16, u32) = (0x2646, 0x0026b7);

/// The demo site's hosts, in configuration order.
const HOSTS: [HostSpec; 5] = [
    HostSpec {
        name: "bastion",
        role: "bastion",
        datacenter: "dmz",
        process: "demo-relay",
        volume: None,
        disk: Disk {
            model: "KINGSTON SEDC1500M480G",
            serial: "50026B7686A1C3F2",
            firmware: "S67F0103",
            vendor: KINGSTON,
            bytes: 480_103_981_056,
            temperature: 33,
            power_on_hours: 21_904,
            power_cycles: 41,
            unsafe_shutdowns: 9,
            percentage_used: 4,
        },
    },
    HostSpec {
        name: PRODUCTION,
        role: "production",
        datacenter: "dc1",
        process: "demo-web",
        volume: Some(Volume {
            mount: "/srv",
            device: "/dev/mapper/vg0-srv",
            contents: Contents::Production,
        }),
        disk: Disk {
            model: "SAMSUNG MZQL2960HCJR-00A07",
            serial: "S64FNE0R805512",
            firmware: "GDC5602Q",
            vendor: SAMSUNG,
            bytes: 960_197_124_096,
            temperature: 38,
            power_on_hours: 9_815,
            power_cycles: 14,
            unsafe_shutdowns: 6,
            percentage_used: 2,
        },
    },
    HostSpec {
        name: "backup-a",
        role: "backup",
        datacenter: "dc1",
        process: "demo-backupd",
        volume: Some(Volume {
            mount: "/var/backups",
            device: "/dev/mapper/vg0-backups",
            contents: Contents::Backups {
                dumps: true,
                even_days: true,
            },
        }),
        disk: Disk {
            model: "Micron_7450_MTFDKCC3T8TFR",
            serial: "2245402A7C1E",
            firmware: "E2MU200",
            vendor: MICRON,
            bytes: 3_840_755_982_336,
            temperature: 36,
            power_on_hours: 14_377,
            power_cycles: 22,
            unsafe_shutdowns: 3,
            percentage_used: 1,
        },
    },
    HostSpec {
        name: "backup-b",
        role: "backup",
        datacenter: "dc2",
        process: "demo-backupd",
        volume: Some(Volume {
            mount: "/var/backups",
            device: "/dev/mapper/vg0-backups",
            contents: Contents::Backups {
                dumps: false,
                even_days: false,
            },
        }),
        disk: Disk {
            model: "Micron_7450_MTFDKCC3T8TFR",
            serial: "2251403B91F0",
            firmware: "E2MU200",
            vendor: MICRON,
            bytes: 3_840_755_982_336,
            temperature: 35,
            power_on_hours: 12_086,
            power_cycles: 19,
            unsafe_shutdowns: 2,
            percentage_used: 1,
        },
    },
    HostSpec {
        name: "drp",
        role: "drp",
        datacenter: "dc2",
        process: "demo-standby",
        volume: Some(Volume {
            mount: "/srv",
            device: "/dev/mapper/vg0-srv",
            contents: Contents::Standby,
        }),
        disk: Disk {
            model: "SAMSUNG MZQL2960HCJR-00A07",
            serial: "S64FNE0R901287",
            firmware: "GDC5602Q",
            vendor: SAMSUNG,
            bytes: 960_197_124_096,
            temperature: 34,
            power_on_hours: 7_442,
            power_cycles: 11,
            unsafe_shutdowns: 1,
            percentage_used: 1,
        },
    },
];

/// The running demo site. See the [module documentation](self).
pub struct DemoSite {
    config: Config,
    faults: Faults,
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
         command_timeout = \"10s\"\n",
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
    }
    Ok(s)
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

        struct Host {
            spec: HostSpec,
            listener: TcpListener,
            port: u16,
            key: PrivateKey,
            sandbox: sandbox::Sandbox,
        }
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
            let sandbox = sandbox::build(&root, &spec, &tools)
                .with_context(|| format!("cannot prepare demo host {}", spec.name))?;
            hosts.push(Host {
                spec,
                listener,
                port,
                key,
                sandbox,
            });
        }
        let known_hosts_path = root.join("known_hosts");
        std::fs::write(&known_hosts_path, known_hosts)?;

        let ports: Vec<u16> = hosts.iter().map(|h| h.port).collect();
        let srv_of = |name: &str| {
            hosts
                .iter()
                .find(|h| h.spec.name == name)
                .map(|h| h.sandbox.srv.clone())
        };
        let (Some(backup_a), Some(backup_b)) = (srv_of("backup-a"), srv_of("backup-b")) else {
            return Err(anyhow!("the demo site lost its backup servers"));
        };
        let config_path = root.join("vigie-demo.toml");
        let mut text = config_text(&identity, &known_hosts_path, &ports)?;
        text.push_str(&datasets_text(&backup_a, &backup_b)?);
        std::fs::write(&config_path, text)?;
        let config = crate::config::load(&config_path)
            .map_err(|e| anyhow!("the demo site's own configuration is invalid: {e}"))?;

        let services = Services::spawn(
            hosts
                .iter()
                .map(|h| ServiceSpec {
                    host: h.spec.name.to_string(),
                    exe: h.sandbox.service.clone(),
                    sandbox: h.sandbox.dir.clone(),
                })
                .collect(),
        )
        .context("cannot start the demo site's service thread")?;
        parts.services = Some(services.clone());
        for h in &hosts {
            services.start(h.spec.name).with_context(|| {
                format!(
                    "cannot start {} on demo host {}",
                    h.spec.process, h.spec.name
                )
            })?;
        }

        let bastion = HOSTS[0].name;
        let mut production = None;
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
                gate: gate::Gate::new(),
                execs: Arc::new(Semaphore::new(server::MAX_EXECS)),
                forward_to,
                groups: parts.groups.clone(),
            });
            if h.spec.name == PRODUCTION {
                production = Some((server.gate.clone(), h.sandbox.srv.clone()));
            }
            parts.servers.push(server.clone());
            parts
                .tasks
                .push(tokio::spawn(server::serve(h.listener, server)));
        }
        let (gate, srv) = production.ok_or_else(|| anyhow!("no production demo host"))?;
        let faults = Faults::new(faults::Targets {
            gate,
            fill: srv.join("log").join("web-debug.log"),
            srv,
            services,
            host: PRODUCTION.to_string(),
        });
        parts.faults = Some(faults.clone());
        tracing::info!(dir = %root.display(), "demo site started");
        Ok(DemoSite {
            config,
            faults,
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

    /// The sandbox of a demo host (its HOME and working directory).
    pub fn sandbox(&self, host: &str) -> Option<PathBuf> {
        HOSTS
            .iter()
            .any(|h| h.name == host)
            .then(|| self.dir().join("hosts").join(host))
    }

    /// Whether a demo host's service process is running.
    pub fn service_running(&self, host: &str) -> bool {
        self.parts
            .services
            .as_ref()
            .is_some_and(|s| s.is_running(host))
    }
}
