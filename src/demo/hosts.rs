//! The demo site's hosts: what each one is (role, datacenter, disk, network cards) and what it
//! runs (its internal process, nginx, PostgreSQL as primary or standby).

use super::sandbox::{Contents, Volume};
use super::smart::Disk;

/// The production host, where most faults are injected.
pub(crate) const PRODUCTION: &str = "prod";

/// PostgreSQL's part in the site's streaming replication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pg {
    /// prod: streams its WAL to the standby.
    Primary,
    /// drp: replays the primary's WAL, read-only (hot standby).
    Standby,
}

/// The standby as the primary names it: its `cluster_name`, pg_stat_replication's
/// application_name, so the primary's check is `app.replication.postgresql.drp`.
pub(crate) const STANDBY_NAME: &str = "drp";
/// The standby's address on the replication network (the primary's client_addr).
pub(crate) const STANDBY_REPLICATION_ADDRESS: [u8; 4] = [10, 77, 9, 12];

/// One network card, as `ip -j -d addr` shows a server's onboard NIC.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Nic {
    /// Its name (udev's onboard name) and its path-based alternative name.
    pub name: &'static str,
    pub altname: &'static str,
    pub mac: [u8; 6],
    pub pci: &'static str,
    pub address: [u8; 4],
    pub prefix: u8,
    /// This end of the inter-datacenter replication link: it loses its carrier while the
    /// replication fault is on.
    pub replication_end: bool,
}

/// One demo host.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HostSpec {
    pub name: &'static str,
    pub role: &'static str,
    pub datacenter: &'static str,
    /// Its service's command name (≤ 15 characters: the kernel's comm).
    pub process: &'static str,
    pub volume: Option<Volume>,
    pub disk: Disk,
    pub nics: &'static [Nic],
    /// The default route's gateway.
    pub gateway: [u8; 4],
    /// The address the site's DNS points to (blocklists look it up).
    pub public_address: Option<&'static str>,
    /// It runs nginx (`services = ["nginx", …]`), serving the shop.
    pub nginx: bool,
    /// It runs PostgreSQL (`services = [… "postgresql"]`, `replication = ["postgresql"]`).
    pub postgres: Option<Pg>,
}

impl HostSpec {
    /// Its `services` in the configuration, in the order the console shows them.
    pub(crate) fn services(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.nginx {
            out.push("nginx");
        }
        if self.postgres.is_some() {
            out.push("postgresql");
        }
        out
    }
}

/// Dell's OUI: the demo's servers are PowerEdges with Broadcom onboard NICs.
const fn dell(a: u8, b: u8, c: u8) -> [u8; 6] {
    [0xb8, 0xca, 0x3a, a, b, c]
}

const fn lan(mac: [u8; 6], address: [u8; 4]) -> Nic {
    Nic {
        name: "eno1",
        altname: "enp25s0f0",
        mac,
        pci: "0000:19:00.0",
        address,
        prefix: 24,
        replication_end: false,
    }
}

/// The second port, on the replication network between prod and drp (10.77.9.0/24).
const fn replication(mac: [u8; 6], address: [u8; 4], replication_end: bool) -> Nic {
    Nic {
        name: "eno2",
        altname: "enp25s0f1",
        mac,
        pci: "0000:19:00.1",
        address,
        prefix: 24,
        replication_end,
    }
}

const BASTION_NICS: [Nic; 1] = [lan(dell(0x5e, 0x10, 0x2a), [10, 77, 0, 10])];
const PROD_NICS: [Nic; 2] = [
    lan(dell(0x6f, 0x1c, 0x20), [10, 77, 1, 11]),
    replication(dell(0x6f, 0x1c, 0x21), [10, 77, 9, 11], false),
];
const BACKUP_A_NICS: [Nic; 1] = [lan(dell(0x71, 0x04, 0x9e), [10, 77, 1, 21])];
const BACKUP_B_NICS: [Nic; 1] = [lan(dell(0x71, 0x05, 0x3c), [10, 77, 2, 21])];
const DRP_NICS: [Nic; 2] = [
    lan(dell(0x6f, 0x2d, 0x84), [10, 77, 2, 11]),
    replication(dell(0x6f, 0x2d, 0x85), STANDBY_REPLICATION_ADDRESS, true),
];

const SAMSUNG: (u16, u32) = (0x144d, 0x002538);
const MICRON: (u16, u32) = (0x1344, 0x00a075);
const KINGSTON: (u16, u32) = (0x2646, 0x0026b7);

/// The demo site's hosts, in configuration order.
pub(crate) const HOSTS: [HostSpec; 5] = [
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
        nics: &BASTION_NICS,
        gateway: [10, 77, 0, 1],
        public_address: None,
        nginx: false,
        postgres: None,
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
        nics: &PROD_NICS,
        gateway: [10, 77, 1, 1],
        public_address: Some("203.0.113.11"),
        nginx: true,
        postgres: Some(Pg::Primary),
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
        nics: &BACKUP_A_NICS,
        gateway: [10, 77, 1, 1],
        public_address: None,
        nginx: false,
        postgres: None,
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
        nics: &BACKUP_B_NICS,
        gateway: [10, 77, 2, 1],
        public_address: None,
        nginx: false,
        postgres: None,
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
        nics: &DRP_NICS,
        gateway: [10, 77, 2, 1],
        public_address: Some("203.0.113.12"),
        nginx: false,
        postgres: Some(Pg::Standby),
    },
];
