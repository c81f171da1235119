//! The embedded demo site (`vigie::demo`), driven by the crate's own client: the same pool,
//! probe, collector and checks as a real site, no mocks. Needs no root and no lab.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vigie::checks::{Check, State};
use vigie::collect::{self, HostSnapshot, HostTracker, RefreshSettings, refresh_host};
use vigie::config::{Config, Role};
use vigie::demo::{DemoSite, Fault};
use vigie::ssh::{Connection, Pool, SshError, Target};

/// Tests that start a demo site run one at a time: each site runs about twenty processes and
/// a few hundred probe commands a minute, and the timing assertions (a dark prod is CRIT
/// within the connect timeout) want the machine to themselves.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const HOSTS: [&str; 5] = ["bastion", "prod", "backup-a", "backup-b", "drp"];
const OTHERS: [&str; 4] = ["bastion", "backup-a", "backup-b", "drp"];

struct Rig {
    site: DemoSite,
    pool: Pool,
    trackers: HashMap<String, HostTracker>,
    settings: RefreshSettings,
}

impl Rig {
    async fn start() -> Rig {
        let t = Instant::now();
        let site = DemoSite::start().await.expect("the demo site starts");
        eprintln!("DemoSite::start took {:?}", t.elapsed());
        let cfg = site.config();
        let pool = Pool::new(collect::routes(cfg), collect::transport_options(cfg, false));
        let settings = RefreshSettings::from_config(cfg);
        Rig {
            site,
            pool,
            trackers: HashMap::new(),
            settings,
        }
    }

    fn cfg(&self) -> &Config {
        self.site.config()
    }

    /// One refresh of `names`, all at once (as the engine does: one task per host), with how
    /// long each took.
    async fn refresh(&mut self, names: &[&str]) -> HashMap<String, (HostSnapshot, Duration)> {
        let Rig {
            site,
            pool,
            trackers,
            settings,
        } = self;
        let cfg = site.config();
        let jobs = names.iter().map(|name| {
            let host = cfg
                .host(name)
                .unwrap_or_else(|| panic!("{name} missing from the demo config"));
            // As the engine does (HostTracker::new, without its SMART file in the state
            // directory): each host reads the backup copies it holds.
            let mut tracker = trackers.remove(*name).unwrap_or_else(|| {
                let mut t = HostTracker::default();
                t.backup_probes = vigie::backup::site::probes_for(cfg, name);
                t
            });
            let pool = &*pool;
            let settings = *settings;
            async move {
                let t = Instant::now();
                let snap = refresh_host(pool, host, &mut tracker, settings).await;
                (name.to_string(), tracker, snap, t.elapsed())
            }
        });
        let mut out = HashMap::new();
        for (name, tracker, snap, took) in futures::future::join_all(jobs).await {
            trackers.insert(name.clone(), tracker);
            out.insert(name, (snap, took));
        }
        out
    }

    async fn refresh_one(&mut self, name: &str) -> (HostSnapshot, Duration) {
        self.refresh(&[name])
            .await
            .remove(name)
            .expect("a snapshot of the host")
    }
}

fn problems(snap: &HostSnapshot) -> Vec<String> {
    snap.checks
        .iter()
        .filter(|c| c.state != State::Ok)
        .map(|c| format!("{} {} {} {}", snap.name, c.id, c.state, c.summary))
        .collect()
}

fn check<'a>(snap: &'a HostSnapshot, id: &str) -> &'a Check {
    snap.checks.iter().find(|c| c.id == id).unwrap_or_else(|| {
        panic!(
            "{} has no check {id}; it has: {:?}",
            snap.name,
            snap.checks.iter().map(|c| &c.id).collect::<Vec<_>>()
        )
    })
}

/// CPU and load are this machine's, shared by every demo host: a machine busy compiling may
/// push them to WARN, which says nothing about the demo. Anything else must be OK.
fn machine_wide(problem: &str) -> bool {
    problem.contains(" system.cpu WARN ") || problem.contains(" system.load WARN ")
}

/// Refresh `names` until every one is OK (three tries: CPU is sampled, a build elsewhere on the
/// machine can make one reading busy). Fails with every non-OK check.
async fn all_ok(rig: &mut Rig, names: &[&str]) -> HashMap<String, HostSnapshot> {
    let mut last = Vec::new();
    for attempt in 0..3 {
        let snaps = rig.refresh(names).await;
        last = snaps.values().flat_map(|(s, _)| problems(s)).collect();
        if last.is_empty() {
            return snaps.into_iter().map(|(k, (s, _))| (k, s)).collect();
        }
        eprintln!("attempt {attempt}: not OK yet: {last:#?}");
        if last.iter().all(|p| machine_wide(p)) && attempt == 2 {
            eprintln!("only machine-wide CPU/load readings are busy: accepted");
            return snaps.into_iter().map(|(k, (s, _))| (k, s)).collect();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("demo hosts not OK: {last:#?}");
}

/// One round of the site's checks (URL tests and blocklists), as the console runs them.
async fn site_checks(rig: &Rig) -> Vec<Check> {
    collect::site::site_checks(rig.cfg(), &rig.pool, true).await
}

fn site_check<'a>(checks: &'a [Check], id: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no site check {id} in {checks:?}"))
}

/// Processes whose working directory is under `dir`: (pid, comm).
fn processes_under(dir: &Path) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(e.path().join("cwd")) else {
            continue;
        };
        if cwd.starts_with(dir) {
            let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            out.push((pid, comm.trim().to_string()));
        }
    }
    out
}

/// A process that is gone, or dead and waiting to be reaped by someone else.
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_config_is_complete_and_validated() {
    let _serial = SERIAL.lock().await;
    let rig = Rig::start().await;
    let cfg = rig.cfg();
    assert_eq!(cfg.site.name, "demo");
    assert_eq!(cfg.site.refresh, Duration::from_secs(2));
    assert_eq!(cfg.site.timezone, "Europe/Paris");
    assert!(cfg.path.starts_with(rig.site.dir()));
    let expect = [
        ("bastion", Role::Bastion, "dmz", None, "demo-relay"),
        ("prod", Role::Production, "dc1", Some("bastion"), "demo-web"),
        (
            "backup-a",
            Role::Backup,
            "dc1",
            Some("bastion"),
            "demo-backupd",
        ),
        (
            "backup-b",
            Role::Backup,
            "dc2",
            Some("bastion"),
            "demo-backupd",
        ),
        ("drp", Role::Drp, "dc2", Some("bastion"), "demo-standby"),
    ];
    let names: Vec<&str> = cfg.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, HOSTS);
    let mut ports = Vec::new();
    for (name, role, dc, jump, process) in expect {
        let h = cfg.host(name).unwrap();
        assert_eq!(h.role, role, "{name}");
        assert_eq!(h.datacenter, dc, "{name}");
        assert_eq!(h.jump.as_deref(), jump, "{name}");
        assert_eq!(h.processes, [process], "{name}");
        assert_eq!(h.address, "127.0.0.1");
        assert!(h.supervised);
        assert_eq!(h.identities.len(), 1);
        ports.push(h.port);
        // The client key: private, no passphrase.
        let key = &h.identities[0];
        assert!(key.starts_with(rig.site.dir()));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", key.display());
        let text = std::fs::read_to_string(key).unwrap();
        russh::keys::decode_secret_key(&text, None).expect("an unencrypted key");
    }
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 5, "one port per server");
    // known_hosts: one ed25519 line per server, as OpenSSH writes non-22 ports.
    assert!(cfg.ssh.known_hosts.starts_with(rig.site.dir()));
    let kh = std::fs::read_to_string(&cfg.ssh.known_hosts).unwrap();
    for h in &cfg.hosts {
        let prefix = format!("[127.0.0.1]:{} ssh-ed25519 ", h.port);
        assert_eq!(
            kh.lines().filter(|l| l.starts_with(&prefix)).count(),
            1,
            "{}: {kh}",
            h.name
        );
    }
    // Applications and replication: nginx and a PostgreSQL primary on prod, its standby on
    // drp; network checks on every host (every interface that is up).
    for h in &cfg.hosts {
        let (services, replication): (&[&str], &[&str]) = match h.name.as_str() {
            "prod" => (&["nginx", "postgresql"], &["postgresql"]),
            "drp" => (&["postgresql"], &["postgresql"]),
            _ => (&[], &[]),
        };
        assert_eq!(h.services, services, "{}", h.name);
        assert_eq!(h.apps.replication, replication, "{}", h.name);
        assert!(h.apps.interfaces.is_empty() && h.apps.routes.is_empty());
    }
    assert_eq!(cfg.host("prod").unwrap().public_address, "203.0.113.11");
    assert_eq!(cfg.host("drp").unwrap().public_address, "203.0.113.12");
    // The shop's URL test, on the demo's own web server; blocklists through its resolver,
    // for the public addresses.
    assert_eq!(cfg.urls.len(), 1);
    let shop = &cfg.urls[0];
    assert_eq!(shop.check_id(), "app.url.shop");
    assert_eq!(shop.url.host_str(), Some("127.0.0.1"));
    assert_eq!(shop.via, None);
    let dnsbl = cfg.dnsbl.as_ref().expect("a [dnsbl] section");
    assert!(dnsbl.resolver.ip().is_loopback());
    assert_eq!(dnsbl.zones, ["zen.spamhaus.org", "bl.spamcop.net"]);
    let addresses: Vec<String> = dnsbl.addresses.iter().map(|a| a.to_string()).collect();
    assert_eq!(addresses, ["203.0.113.11", "203.0.113.12"]);
    // The file on disk loads again, as `vigie --config` would.
    let again = vigie::config::load(&cfg.path).expect("the written config loads");
    assert_eq!(&again, cfg);
    // Only the loopback address is ever used.
    assert!(cfg.hosts.iter().all(|h| h.address == "127.0.0.1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_host_is_ok_then_each_fault_shows_and_clears() {
    let _serial = SERIAL.lock().await;
    let mut rig = Rig::start().await;
    let faults = rig.site.faults();
    assert!(faults.active().is_empty());

    // Everything OK, read through the bastion by the real probe.
    let t = Instant::now();
    let snaps = all_ok(&mut rig, &HOSTS).await;
    eprintln!("first refresh of the 5 hosts: {:?}", t.elapsed());
    for name in HOSTS {
        let s = &snaps[name];
        assert!(s.error.is_none());
        let bad: Vec<String> = problems(s)
            .into_iter()
            .filter(|p| !machine_wide(p))
            .collect();
        assert!(bad.is_empty(), "{name}: {bad:#?}");
        let process = &rig.cfg().host(name).unwrap().processes[0];
        assert_eq!(
            check(s, &format!("system.process.{process}")).state,
            State::Ok
        );
        // The SMART shim: one healthy NVMe disk per host, with its own model.
        let disk = check(s, "hardware.disk.nvme0");
        assert_eq!(disk.state, State::Ok, "{}", disk.summary);
        assert!(disk.summary.contains("healthy"), "{}", disk.summary);
        // The uname shim names the host.
        assert_eq!(s.facts.hostname.as_deref(), Some(name));
    }
    let srv = check(&snaps["prod"], "system.partition./srv");
    assert_eq!(srv.state, State::Ok, "{}", srv.summary);
    let used = srv.value.expect("a % used");
    assert!((20.0..80.0).contains(&used), "{}", srv.summary);
    assert_eq!(
        check(&snaps["drp"], "system.partition./srv").state,
        State::Ok
    );
    for b in ["backup-a", "backup-b"] {
        assert_eq!(
            check(&snaps[b], "system.partition./var/backups").state,
            State::Ok
        );
    }
    assert!(
        !snaps["bastion"]
            .checks
            .iter()
            .any(|c| c.id == "system.partition./srv"),
        "the bastion has no data volume"
    );
    // The disks differ from host to host.
    assert_ne!(
        check(&snaps["prod"], "hardware.disk.nvme0").summary,
        check(&snaps["backup-a"], "hardware.disk.nvme0").summary
    );

    // The user database was dumped 35 min before the site started: well within its 2 h, at
    // any time of day. Backups are read on slow refreshes (the first one), kept by the trackers.
    let with_backups: Vec<HostSnapshot> = HOSTS
        .iter()
        .map(|name| {
            let mut s = snaps[*name].clone();
            s.backups = rig.trackers[*name].backups.clone();
            s
        })
        .collect();
    let datasets = vigie::backup::site::evaluate_snapshots(
        rig.cfg(),
        with_backups.iter(),
        jiff::Timestamp::now(),
    );
    let userdb = datasets.iter().find(|d| d.name == "userdb").unwrap();
    let window = userdb
        .checks
        .iter()
        .find(|c| c.id == "backup.userdb.loss_window")
        .unwrap();
    assert_eq!(window.state, State::Ok, "{:?}", userdb.checks);
    let loss = userdb.loss_window_s.expect("a loss window");
    assert!((35 * 60..45 * 60).contains(&loss), "{loss} s");

    // Applications, replication and network, read by the real probe from the hosts' shims.
    let prod = &snaps["prod"];
    let drp = &snaps["drp"];
    let nginx = check(prod, "app.service.nginx");
    assert!(
        nginx.summary.starts_with("nginx answers, ") && nginx.summary.contains("active connection"),
        "{}",
        nginx.summary
    );
    for s in [prod, drp] {
        let pg = check(s, "app.service.postgresql");
        assert_eq!(pg.summary, "accepting connections", "{}", s.name);
    }
    let to_standby = check(prod, "app.replication.postgresql.drp");
    assert!(
        to_standby
            .summary
            .starts_with("streaming (async) to 10.77.9.12, replay "),
        "{}",
        to_standby.summary
    );
    assert_eq!(
        check(drp, "app.replication.postgresql.standby").summary,
        "streaming, replayed everything received"
    );
    for name in HOSTS {
        let s = &snaps[name];
        let eno1 = check(s, "network.interface.eno1");
        assert!(eno1.summary.contains("10.77."), "{name}: {}", eno1.summary);
        check(s, "network.route.default");
        assert!(!s.checks.iter().any(|c| c.id == "network.interface.lo"));
        let apps = s.checks.iter().filter(|c| c.id.starts_with("app.")).count();
        let expected = match name {
            "prod" => 3,
            "drp" => 2,
            _ => 0,
        };
        assert_eq!(apps, expected, "{name}: {:?}", s.checks);
    }
    for s in [prod, drp] {
        check(s, "network.interface.eno2");
    }
    // The site: the shop answers, the public addresses are on no blocklist.
    let site = site_checks(&rig).await;
    let ids: Vec<&str> = site.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "app.url.shop",
            "network.dnsbl.203.0.113.11",
            "network.dnsbl.203.0.113.12"
        ]
    );
    for c in &site {
        assert_eq!(c.state, State::Ok, "{} {}", c.id, c.summary);
    }
    assert!(
        site[0].summary.starts_with("200 in "),
        "{}",
        site[0].summary
    );

    // A disk fills.
    assert!(faults.toggle(Fault::DiskFills));
    assert_eq!(faults.active(), [Fault::DiskFills]);
    let (s, _) = rig.refresh_one("prod").await;
    let srv = check(&s, "system.partition./srv");
    assert_eq!(srv.state, State::Crit, "{}", srv.summary);
    assert!(srv.value.unwrap() >= 94.0, "{}", srv.summary);
    let big = rig
        .site
        .sandbox("prod")
        .unwrap()
        .join("srv/log/web-debug.log");
    let meta = std::fs::metadata(&big).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert!(
        meta.blocks() * 512 < 1 << 20,
        "the filler is a hole, not real disk use ({} blocks)",
        meta.blocks()
    );
    assert!(!faults.toggle(Fault::DiskFills));
    assert!(!big.exists());
    let (s, _) = rig.refresh_one("prod").await;
    assert_eq!(check(&s, "system.partition./srv").state, State::Ok);

    // The web tier stops: nginx and demo-web are killed, the shop refuses connections.
    assert!(faults.toggle(Fault::ServiceStops));
    assert!(faults.is_active(Fault::ServiceStops));
    assert!(!rig.site.service_running("prod"));
    assert!(!rig.site.process_running("prod", "nginx"));
    assert!(rig.site.process_running("prod", "postgresql"));
    let (s, _) = rig.refresh_one("prod").await;
    let web = check(&s, "system.process.demo-web");
    assert_eq!(web.state, State::Crit, "{}", web.summary);
    let nginx = check(&s, "app.service.nginx");
    assert_eq!(nginx.state, State::Crit, "{}", nginx.summary);
    assert_eq!(nginx.summary, "not running (no nginx process)");
    assert_eq!(check(&s, "app.service.postgresql").state, State::Ok);
    assert_eq!(s.state, State::Crit);
    let site = site_checks(&rig).await;
    let shop = site_check(&site, "app.url.shop");
    assert_eq!(shop.state, State::Crit, "{}", shop.summary);
    assert!(shop.summary.contains("refused"), "{}", shop.summary);
    assert!(!faults.toggle(Fault::ServiceStops));
    assert!(rig.site.service_running("prod"));
    assert!(rig.site.process_running("prod", "nginx"));
    let (s, _) = rig.refresh_one("prod").await;
    assert_eq!(check(&s, "system.process.demo-web").state, State::Ok);
    assert_eq!(check(&s, "app.service.nginx").state, State::Ok);
    let site = site_checks(&rig).await;
    assert_eq!(site_check(&site, "app.url.shop").state, State::Ok);

    // The replication link breaks at drp's end: the standby stops streaming, the primary has
    // no standby, drp's replication card has no carrier.
    assert!(faults.toggle(Fault::ReplicationBreaks));
    assert!(!rig.site.process_running("drp", "walreceiver"));
    assert!(!rig.site.process_running("prod", "walsender"));
    let snaps = rig.refresh(&["prod", "drp"]).await;
    let (prod, _) = &snaps["prod"];
    let (drp, _) = &snaps["drp"];
    let standby = check(drp, "app.replication.postgresql.standby");
    assert_eq!(standby.state, State::Crit, "{}", standby.summary);
    assert_eq!(
        standby.summary,
        "no WAL receiver: not streaming from the primary"
    );
    let eno2 = check(drp, "network.interface.eno2");
    assert_eq!(eno2.state, State::Crit, "{}", eno2.summary);
    assert!(eno2.summary.contains("no carrier"), "{}", eno2.summary);
    assert_eq!(check(drp, "network.interface.eno1").state, State::Ok);
    let primary = check(prod, "app.replication.postgresql.primary");
    assert_eq!(primary.state, State::Crit, "{}", primary.summary);
    assert_eq!(primary.summary, "no standby connected");
    assert!(
        !prod
            .checks
            .iter()
            .any(|c| c.id == "app.replication.postgresql.drp")
    );
    assert_eq!(check(prod, "network.interface.eno2").state, State::Ok);
    assert!(!faults.toggle(Fault::ReplicationBreaks));
    let snaps = rig.refresh(&["prod", "drp"]).await;
    assert_eq!(
        check(&snaps["drp"].0, "app.replication.postgresql.standby").state,
        State::Ok
    );
    assert_eq!(
        check(&snaps["drp"].0, "network.interface.eno2").state,
        State::Ok
    );
    assert_eq!(
        check(&snaps["prod"].0, "app.replication.postgresql.drp").state,
        State::Ok
    );

    // Production goes dark: the live connection gets no reply...
    let connect_timeout = rig.cfg().ssh.connect_timeout;
    assert!(faults.toggle(Fault::ProductionDark));
    let snaps = rig.refresh(&HOSTS).await;
    let (prod, took) = &snaps["prod"];
    eprintln!("dark prod, live connection: {took:?}: {:?}", prod.checks);
    assert_eq!(prod.state, State::Crit);
    assert_eq!(prod.checks[0].id, "system.availability");
    assert_eq!(prod.checks[0].state, State::Crit);
    assert!(prod.error.is_some());
    assert!(
        *took <= connect_timeout + Duration::from_millis(1500),
        "took {took:?}"
    );
    for name in OTHERS {
        let (s, _) = &snaps[name];
        let bad: Vec<String> = problems(s)
            .into_iter()
            .filter(|p| !machine_wide(p))
            .collect();
        assert!(bad.is_empty(), "{name} while prod is dark: {bad:#?}");
    }
    // The shop is prod's too: its connection is accepted, and nothing answers.
    let site = site_checks(&rig).await;
    let shop = site_check(&site, "app.url.shop");
    assert_eq!(shop.state, State::Crit, "{}", shop.summary);
    assert!(!shop.summary.contains("refused"), "{}", shop.summary);
    eprintln!("the shop while prod is dark: {}", shop.summary);
    // ...and a new connection hangs before the banner (TCP is accepted: not "refused").
    let (prod, took) = rig.refresh_one("prod").await;
    eprintln!("dark prod, new connection: {took:?}: {:?}", prod.checks);
    assert_eq!(prod.state, State::Crit);
    assert!(
        matches!(&prod.error, Some(SshError::Jump { reason, .. }) if reason.contains("no answer")),
        "{:?}",
        prod.error
    );
    assert!(
        took <= connect_timeout + Duration::from_millis(1500),
        "took {took:?}"
    );

    // Back to light: prod recovers at the pool's next attempt.
    assert!(!faults.toggle(Fault::ProductionDark));
    assert!(faults.active().is_empty());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(at) = rig.pool.retry_at("prod").await {
            tokio::time::sleep_until(at.into()).await;
        }
        let (s, _) = rig.refresh_one("prod").await;
        if s.state == State::Ok {
            break;
        }
        let bad: Vec<String> = problems(&s)
            .into_iter()
            .filter(|p| !machine_wide(p))
            .collect();
        if bad.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "prod did not recover: {bad:#?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    all_ok(&mut rig, &HOSTS).await;
}

/// A client that trusts any server key, for the requests vigie's own client never makes.
struct Raw;

impl russh::client::Handler for Raw {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_servers_run_any_command_and_refuse_everything_else() {
    let _serial = SERIAL.lock().await;
    let rig = Rig::start().await;
    let cfg = rig.cfg();
    let t = Duration::from_secs(5);

    // Any command: stdin, stdout, stderr, exit status, a clean environment in the sandbox.
    let (drp, _) = rig.pool.get("drp").await.expect("drp through the bastion");
    let out = drp
        .exec(
            "cat; echo \"$HOME|$LC_ALL|$PATH|$(pwd)\"; echo oops >&2; env | wc -l; exit 3",
            b"from stdin\n",
            t,
            t,
        )
        .await
        .unwrap();
    let sandbox = rig.site.sandbox("drp").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("from stdin"));
    let s = sandbox.display();
    assert_eq!(
        lines.next().map(str::to_string),
        Some(format!("{s}|C|{s}/bin:/usr/bin:/bin|{s}"))
    );
    let vars: u32 = lines.next().unwrap().trim().parse().unwrap();
    assert!(
        vars < 12,
        "a clean environment, not the test's ({vars} variables)"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    assert_eq!(out.exit_status, Some(3));

    // The shims: smartctl by hand answers like smartctl; other df commands are the real df.
    let out = drp
        .exec("smartctl -H -i /dev/nvme0; smartctl -i /dev/sda", b"", t, t)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("SMART overall-health self-assessment test result: PASSED"),
        "{text}"
    );
    assert!(text.contains("/dev/sda failed"), "{text}");
    assert_eq!(out.exit_status, Some(2));
    let out = drp.exec("df -P / | tail -n 1", b"", t, t).await.unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .trim_end()
            .ends_with(" /")
    );

    // ps by hand sees the host's own processes (PID 1 and its services), not this machine's:
    // a real nginx or PostgreSQL here must not pass for the demo's.
    let out = drp
        .exec("ps -e -o comm= | sort | uniq -c", b"", t, t)
        .await
        .unwrap();
    let ps = String::from_utf8_lossy(&out.stdout);
    let counts: Vec<(String, u32)> = ps
        .lines()
        .filter_map(|l| {
            let (n, name) = l.trim().split_once(' ')?;
            Some((name.to_string(), n.parse().ok()?))
        })
        .collect();
    assert!(counts.contains(&("postgres".into(), 5)), "{ps}");
    assert!(counts.contains(&("demo-standby".into(), 1)), "{ps}");
    assert!(!counts.iter().any(|(n, _)| n == "nginx"), "{ps}");
    assert_eq!(counts.len(), 3, "PID 1, postgres, demo-standby: {ps}");
    // Its network is its own too.
    let out = drp.exec("ip -j route show", b"", t, t).await.unwrap();
    let routes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(routes[0]["dst"], "default");
    assert_eq!(routes[0]["gateway"], "10.77.2.1");

    // The bastion forwards to the demo servers only: not to another port of this machine.
    let (bastion, _) = rig.pool.get("bastion").await.unwrap();
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = other.local_addr().unwrap().port();
    let mut target = Target {
        name: "elsewhere".into(),
        address: "127.0.0.1".into(),
        port,
        user: "demo".into(),
        identities: cfg.hosts[0].identities.clone(),
    };
    let opts = rig.pool.options().clone();
    let err = Connection::open(&target, &opts, Some(&bastion))
        .await
        .expect_err("the bastion refuses other destinations");
    assert!(
        matches!(&err, SshError::Jump { reason, .. } if reason.contains("cannot reach")),
        "{err:?}"
    );
    let accepted = tokio::time::timeout(Duration::from_millis(300), other.accept()).await;
    assert!(accepted.is_err(), "the bastion must not even connect");

    // Another key is refused.
    let dir = tempfile::tempdir().unwrap();
    let stranger = dir.path().join("id_ed25519");
    let seed: [u8; 32] = rand::random();
    let key = russh::keys::PrivateKey::from(
        russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed),
    );
    std::fs::write(
        &stranger,
        key.to_openssh(russh::keys::ssh_key::LineEnding::LF)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let bastion_cfg = cfg.host("bastion").unwrap();
    target = Target {
        name: "bastion".into(),
        address: "127.0.0.1".into(),
        port: bastion_cfg.port,
        user: "demo".into(),
        identities: vec![stranger],
    };
    let err = Connection::open(&target, &opts, None)
        .await
        .expect_err("an unknown key is refused");
    assert!(
        matches!(err, SshError::Auth { .. } | SshError::Connect { .. }),
        "{err:?}"
    );

    // Shell and pty requests are refused, politely: the channel and the connection live on.
    let config = std::sync::Arc::new(russh::client::Config::default());
    let mut handle = russh::client::connect(config, ("127.0.0.1", bastion_cfg.port), Raw)
        .await
        .unwrap();
    let text = std::fs::read_to_string(&bastion_cfg.identities[0]).unwrap();
    let key = russh::keys::decode_secret_key(&text, None).unwrap();
    let auth = handle
        .authenticate_publickey(
            "demo",
            russh::keys::PrivateKeyWithHashAlg::new(std::sync::Arc::new(key), None),
        )
        .await
        .unwrap();
    assert!(auth.success());
    for pty in [false, true] {
        let mut ch = handle.channel_open_session().await.unwrap();
        if pty {
            ch.request_pty(true, "xterm", 80, 24, 0, 0, &[])
                .await
                .unwrap();
        } else {
            ch.request_shell(true).await.unwrap();
        }
        let reply = tokio::time::timeout(t, ch.wait()).await.unwrap();
        assert!(
            matches!(reply, Some(russh::ChannelMsg::Failure)),
            "pty={pty}: {reply:?}"
        );
        let _ = ch.close().await;
    }
    let mut ch = handle.channel_open_session().await.unwrap();
    ch.exec(true, "echo still here").await.unwrap();
    let mut got = Vec::new();
    while let Some(msg) = tokio::time::timeout(t, ch.wait()).await.unwrap() {
        match msg {
            russh::ChannelMsg::Data { data } => got.extend_from_slice(&data),
            russh::ChannelMsg::Close => break,
            _ => {}
        }
    }
    assert_eq!(got, b"still here\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dropping_the_site_leaves_nothing_behind() {
    let _serial = SERIAL.lock().await;
    let rig = Rig::start().await;
    let dir: PathBuf = rig.site.dir().to_path_buf();
    assert!(dir.is_dir());
    let faults = rig.site.faults();

    // Services, plus a command still running and one that detached itself.
    let (drp, _) = rig.pool.get("drp").await.unwrap();
    let running = tokio::spawn(async move {
        let _ = drp
            .exec(
                "setsid sleep 61 </dev/null >/dev/null 2>&1 & exec sleep 60",
                b"",
                Duration::from_secs(70),
                Duration::from_secs(70),
            )
            .await;
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let before = loop {
        let procs = processes_under(&dir);
        if procs.iter().filter(|(_, c)| c == "sleep").count() >= 2 {
            break procs;
        }
        assert!(
            Instant::now() < deadline,
            "commands did not start: {procs:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut comms: Vec<&str> = before
        .iter()
        .map(|(_, c)| c.as_str())
        .filter(|c| *c != "sleep")
        .collect();
    comms.sort_unstable();
    comms.dedup();
    assert_eq!(
        comms,
        [
            "demo-backupd",
            "demo-relay",
            "demo-standby",
            "demo-web",
            "nginx",
            "postgres"
        ]
    );
    let count = |name: &str| before.iter().filter(|(_, c)| c == name).count();
    assert_eq!(count("demo-backupd"), 2);
    assert_eq!(count("nginx"), 2, "master and worker");
    assert_eq!(count("postgres"), 12, "7 on the primary, 5 on the standby");

    let ports: Vec<u16> = rig.cfg().hosts.iter().map(|h| h.port).collect();
    let Rig { site, pool, .. } = rig;
    let t = Instant::now();
    drop(site);
    eprintln!("drop took {:?}", t.elapsed());
    assert!(!dir.exists(), "{} is still there", dir.display());
    let deadline = Instant::now() + Duration::from_secs(3);
    while !before.iter().all(|(pid, _)| gone(*pid)) {
        assert!(
            Instant::now() < deadline,
            "still running: {:?}",
            before
                .iter()
                .filter(|(pid, _)| !gone(*pid))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(processes_under(&dir).is_empty());
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the running command's channel ends with the site")
        .unwrap();

    // The servers are gone, and a kept Faults handle is inert.
    for port in ports {
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err(),
            "port {port} still listens"
        );
    }
    assert!(!faults.toggle(Fault::ServiceStops));
    assert!(!faults.toggle(Fault::ServiceStops));
    assert!(faults.active().is_empty());
    drop(pool);
}

#[path = "demo_site/drp.rs"]
mod drp;
