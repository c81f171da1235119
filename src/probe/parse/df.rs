//! `df`: GNU `df -k --output=source,fstype,size,used,avail,itotal,iused,iavail,target`, or on
//! systems whose df has no `--output` (coreutils < 8.21: CentOS 6, busybox) `df -P -k`, a line
//! `--inodes--`, then `df -P -i`.
//!
//! Pseudo filesystems are dropped here, so every [`Filesystem`] returned is worth a check.

use super::{ParseError, clean, tokens};
use std::collections::BTreeSet;

/// Inode counts of a filesystem that has a fixed inode table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inodes {
    pub total: u64,
    pub used: u64,
    pub free: u64,
}

impl Inodes {
    pub fn free_percent(&self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            self.free as f64 / self.total as f64 * 100.0
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filesystem {
    pub source: String,
    /// `None` with the POSIX format, which does not print it.
    pub fstype: Option<String>,
    pub size_kib: u64,
    pub used_kib: u64,
    pub avail_kib: u64,
    /// `None` when the filesystem has no inode limit (btrfs, vfat, ZFS: 0 inodes) or the
    /// inode listing is missing.
    pub inodes: Option<Inodes>,
    pub mount: String,
}

impl Filesystem {
    /// % of space used as df shows it: used / (used + available), so space reserved for
    /// root counts as used. `None` for an empty filesystem.
    pub fn used_percent(&self) -> Option<f64> {
        let denom = self.used_kib.saturating_add(self.avail_kib);
        (denom > 0).then(|| self.used_kib as f64 / denom as f64 * 100.0)
    }
}

/// Filesystem types that hold no user data.
const PSEUDO: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "securityfs",
    "pstore",
    "bpf",
    "tracefs",
    "debugfs",
    "configfs",
    "fusectl",
    "mqueue",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
    "squashfs",
    "iso9660",
    "overlay",
    "nsfs",
    "rpc_pipefs",
    "efivarfs",
    "ramfs",
];

/// Where a tmpfs is the system's own (runtime state, /dev/shm), not space users fill.
const SYSTEM_TREES: &[&str] = &["/run", "/dev", "/sys", "/proc"];

fn under(mount: &str, tree: &str) -> bool {
    mount == tree || mount.strip_prefix(tree).is_some_and(|r| r.starts_with('/'))
}

/// Whether a filesystem is dropped: a pseudo type, or a tmpfs under /run, /dev, /sys, /proc
/// (a full /tmp or /srv tmpfs does matter). Without a type (POSIX format) the source name
/// stands for it, as the kernel names those mounts after their type.
fn is_pseudo(fstype: Option<&str>, source: &str, mount: &str) -> bool {
    if under(mount, "/proc") || under(mount, "/sys") {
        return true;
    }
    let kind = match fstype {
        Some(t) => t,
        None => match source {
            "udev" => "devtmpfs",
            "shm" | "none" if SYSTEM_TREES.iter().any(|t| under(mount, t)) => "tmpfs",
            s => s,
        },
    };
    if kind.starts_with("cgroup") || PSEUDO.contains(&kind) {
        return true;
    }
    kind == "tmpfs" && SYSTEM_TREES.iter().any(|t| under(mount, t))
}

#[derive(Clone, Copy)]
enum Kind {
    /// A count, or `-` when df does not know it.
    Num,
    /// A percentage (`57%`) or `-`.
    Pct,
    Word,
}

fn matches(word: &str, kind: Kind) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match kind {
        Kind::Num => word == "-" || digits(word),
        Kind::Pct => word == "-" || word.strip_suffix('%').is_some_and(digits),
        Kind::Word => true,
    }
}

/// A df row: the source (which may contain spaces), the fields matching `pattern`, and the
/// mount point (the rest of the line: it may contain spaces too).
fn split_row<'a>(line: &'a str, pattern: &[Kind]) -> Option<(String, Vec<&'a str>, String)> {
    let toks = tokens(line);
    for start in 1..toks.len() {
        let Some(window) = toks.get(start..start + pattern.len()) else {
            break;
        };
        if !window.iter().zip(pattern).all(|((w, _), k)| matches(w, *k)) {
            continue;
        }
        let end_of_fields = window.last().map(|(_, end)| *end)?;
        let mount = line.get(end_of_fields..)?.trim();
        if mount.is_empty() || !mount.starts_with('/') {
            continue;
        }
        let source_end = toks.get(start - 1).map(|(_, end)| *end)?;
        let source = line.get(..source_end)?.trim();
        let fields = window.iter().map(|(w, _)| *w).collect();
        return Some((clean(source, 200), fields, clean(mount, 300)));
    }
    None
}

fn num(word: &str) -> u64 {
    word.parse().unwrap_or(0)
}

fn inodes(total: &str, used: &str, free: &str) -> Option<Inodes> {
    let total = num(total);
    (total > 0).then(|| Inodes {
        total,
        used: num(used),
        free: num(free),
    })
}

fn is_noise(line: &str) -> bool {
    let l = line.trim();
    l.is_empty() || l.starts_with("Filesystem") || l.starts_with("df:")
}

fn parse_gnu(body: &str) -> Vec<Filesystem> {
    use Kind::*;
    body.lines()
        .filter(|l| !is_noise(l))
        .filter_map(|l| split_row(l, &[Word, Num, Num, Num, Num, Num, Num]))
        .filter_map(|(source, f, mount)| {
            let [fstype, size, used, avail, itotal, iused, ifree] = f.as_slice() else {
                return None;
            };
            Some(Filesystem {
                source,
                fstype: Some((*fstype).to_string()),
                size_kib: num(size),
                used_kib: num(used),
                avail_kib: num(avail),
                inodes: inodes(itotal, iused, ifree),
                mount,
            })
        })
        .collect()
}

fn parse_posix(blocks: &str, inode_part: &str) -> Vec<Filesystem> {
    use Kind::*;
    let inode_rows: Vec<(String, Option<Inodes>, String)> = inode_part
        .lines()
        .filter(|l| !is_noise(l))
        .filter_map(|l| split_row(l, &[Num, Num, Num, Pct]))
        .filter_map(|(source, f, mount)| match f.as_slice() {
            [t, u, fr, _] => Some((source, inodes(t, u, fr), mount)),
            _ => None,
        })
        .collect();
    blocks
        .lines()
        .filter(|l| !is_noise(l))
        .filter_map(|l| split_row(l, &[Num, Num, Num, Pct]))
        .filter_map(|(source, f, mount)| {
            let [size, used, avail, _] = f.as_slice() else {
                return None;
            };
            let inodes = inode_rows
                .iter()
                .find(|(s, _, m)| *s == source && *m == mount)
                .and_then(|(_, i, _)| *i);
            Some(Filesystem {
                source,
                fstype: None,
                size_kib: num(size),
                used_kib: num(used),
                avail_kib: num(avail),
                inodes,
                mount,
            })
        })
        .collect()
}

pub fn parse(body: &str) -> Result<Vec<Filesystem>, ParseError> {
    let (all, posix) = match body.split_once("\n--inodes--\n") {
        Some((blocks, inode_part)) => (parse_posix(blocks, inode_part), true),
        None => match body.strip_prefix("--inodes--\n") {
            Some(_) => (Vec::new(), true),
            None => (parse_gnu(body), false),
        },
    };
    if all.is_empty() {
        let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(ParseError::new(format!(
            "df ({}): no filesystem listed{}",
            if posix { "POSIX" } else { "GNU" },
            if first.is_empty() {
                String::new()
            } else {
                format!(": {}", clean(first, 80))
            }
        )));
    }
    let mut seen = BTreeSet::new();
    Ok(all
        .into_iter()
        .filter(|f| !is_pseudo(f.fstype.as_deref(), &f.source, &f.mount))
        .filter(|f| seen.insert((f.source.clone(), f.mount.clone())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mounts(v: &[Filesystem]) -> Vec<&str> {
        v.iter().map(|f| f.mount.as_str()).collect()
    }

    #[test]
    fn debian12_gnu_output() {
        // Debian 12, GNU coreutils 9.1.
        let v = parse(include_str!(
            "../../../tests/fixtures/probe/df_debian12.txt"
        ))
        .unwrap();
        assert_eq!(
            mounts(&v),
            [
                "/",
                "/boot/efi",
                "/srv",
                "/var/backups",
                "/tmp",
                "/srv/Partage commun",
                "/mnt/backup-a"
            ]
        );
        let srv = v.iter().find(|f| f.mount == "/srv").unwrap();
        assert_eq!(srv.fstype.as_deref(), Some("ext4"));
        assert_eq!(srv.avail_kib, 69_918_748);
        assert!((srv.used_percent().unwrap() - 92.33).abs() < 0.01);
        assert!((srv.inodes.unwrap().free_percent() - 3.66).abs() < 0.01);
        let efi = v.iter().find(|f| f.mount == "/boot/efi").unwrap();
        assert_eq!(efi.inodes, None, "vfat has no inode table");
        let tmp = v.iter().find(|f| f.mount == "/tmp").unwrap();
        assert_eq!(tmp.used_percent(), Some(100.0), "a full /tmp tmpfs is kept");
    }

    #[test]
    fn rhel9_gnu_output() {
        // RHEL 9.4, GNU coreutils 8.32, XFS on LVM.
        let v = parse(include_str!("../../../tests/fixtures/probe/df_rhel9.txt")).unwrap();
        assert_eq!(mounts(&v), ["/", "/boot", "/home"]);
        assert_eq!(v[0].source, "/dev/mapper/rhel-root");
    }

    #[test]
    fn centos6_posix_output() {
        // CentOS 6.5, GNU coreutils 8.4: no --output, so df -P -k, --inodes--, df -P -i.
        let v = parse(include_str!("../../../tests/fixtures/probe/df_centos6.txt")).unwrap();
        assert_eq!(
            mounts(&v),
            ["/", "/boot", "/home", "/data"],
            "tmpfs /dev/shm dropped, /data deduped"
        );
        assert_eq!(v[0].fstype, None);
        assert_eq!(v[0].source, "/dev/mapper/vg_old-lv_root");
        let i = v[0].inodes.unwrap();
        assert_eq!((i.total, i.used, i.free), (3_276_800, 3_198_765, 78_035));
    }

    #[test]
    fn spaces_in_source_and_mount() {
        let body = "Filesystem Type 1K-blocks Used Avail Inodes IUsed IFree Mounted on\n\
                    //nas/Mes documents cifs 1000 500 500 0 0 0 /mnt/a  b\n";
        let v = parse(body).unwrap();
        assert_eq!(v[0].source, "//nas/Mes documents");
        assert_eq!(v[0].mount, "/mnt/a  b");
        assert_eq!(v[0].inodes, None);
    }

    #[test]
    fn unknown_values_are_dashes() {
        let body = "fuse.x fuse - - - - - - /mnt/x\n";
        let v = parse(body).unwrap();
        assert_eq!(v[0].size_kib, 0);
        assert_eq!(v[0].used_percent(), None);
    }

    #[test]
    fn tmpfs_rules() {
        assert!(is_pseudo(Some("tmpfs"), "tmpfs", "/run/user/0"));
        assert!(is_pseudo(Some("tmpfs"), "tmpfs", "/dev/shm"));
        assert!(!is_pseudo(Some("tmpfs"), "tmpfs", "/tmp"));
        assert!(!is_pseudo(Some("tmpfs"), "tmpfs", "/srv"));
        assert!(!is_pseudo(Some("tmpfs"), "tmpfs", "/running"));
        assert!(is_pseudo(Some("cgroup2"), "cgroup2", "/sys/fs/cgroup"));
        assert!(is_pseudo(None, "udev", "/dev"));
        assert!(is_pseudo(None, "tmpfs", "/dev/shm"));
        assert!(!is_pseudo(None, "/dev/sda1", "/"));
    }

    #[test]
    fn errors() {
        assert!(parse("").is_err());
        assert!(parse("df: cannot read table of mounted file systems\n").is_err());
        assert!(parse("--inodes--\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>()) {
            if let Ok(v) = parse(&s) {
                for f in v {
                    let _ = f.used_percent();
                    let _ = f.inodes.map(|i| i.free_percent());
                }
            }
        }

        #[test]
        fn rows_never_panic(s in "[a-z/ 0-9%-]{0,60}") {
            let _ = parse(&s);
            let _ = parse(&format!("{s}\n--inodes--\n{s}\n"));
        }
    }
}
