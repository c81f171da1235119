//! `df`: GNU `df -k --output=source,fstype,size,used,avail,itotal,iused,iavail,target`
//! (errors, such as a stale NFS handle, may come before its header), or on systems whose df
//! has no `--output` (coreutils < 8.21: CentOS 6, busybox) `df -P -k`, a line `--inodes--`,
//! `df -P -i`, a line `--mounts--`, then /proc/mounts (for the filesystem types POSIX df does
//! not print).
//!
//! Pseudo filesystems are dropped here, and a mount point mounted over is listed once (as the
//! filesystem mounted last, the one it shows), so every [`Filesystem`] returned is worth a
//! check.

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

/// The GNU header line: `Filesystem Type 1K-blocks Used Avail Inodes IUsed IFree Mounted on`.
fn is_gnu_header(line: &str) -> bool {
    let mut words = line.split_whitespace();
    words.next() == Some("Filesystem") && words.next() == Some("Type")
}

fn parse_gnu(lines: &[&str]) -> Vec<Filesystem> {
    use Kind::*;
    // df prints its errors before the table: the rows are what follows the header, wherever
    // it is (without a header, any line shaped like a row).
    let rows = match lines.iter().position(|l| is_gnu_header(l)) {
        Some(h) => lines.get(h + 1..).unwrap_or_default(),
        None => lines,
    };
    rows.iter()
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

/// A field of /proc/mounts as the kernel escapes it (`\040` for a blank, `\011` tab,
/// `\012` newline, `\134` backslash), decoded.
fn unescape_mount(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| b == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .map(|d| d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0')))
            .and_then(|v| u8::try_from(v).ok());
        match octal {
            Some(v) => {
                out.push(v);
                i += 4;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `(mount point, type)` of each /proc/mounts line, in mount order.
fn mount_types(lines: &[&str]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_source, mount, fstype) = (f.next()?, f.next()?, f.next()?);
            Some((clean(&unescape_mount(mount), 300), clean(fstype, 40)))
        })
        .collect()
}

fn parse_posix(blocks: &[&str], inode_part: &[&str], mounts: &[&str]) -> Vec<Filesystem> {
    use Kind::*;
    let inode_rows: Vec<(String, Option<Inodes>, String)> = inode_part
        .iter()
        .filter(|l| !is_noise(l))
        .filter_map(|l| split_row(l, &[Num, Num, Num, Pct]))
        .filter_map(|(source, f, mount)| match f.as_slice() {
            [t, u, fr, _] => Some((source, inodes(t, u, fr), mount)),
            _ => None,
        })
        .collect();
    let types = mount_types(mounts);
    blocks
        .iter()
        .filter(|l| !is_noise(l))
        .filter_map(|l| split_row(l, &[Num, Num, Num, Pct]))
        .filter_map(|(source, f, mount)| {
            let [size, used, avail, _] = f.as_slice() else {
                return None;
            };
            let inodes = inode_rows
                .iter()
                .rev()
                .find(|(s, _, m)| *s == source && *m == mount)
                .and_then(|(_, i, _)| *i);
            // The type of what is mounted there last (the one df sees).
            let fstype = types
                .iter()
                .rev()
                .find(|(m, _)| *m == mount)
                .map(|(_, t)| t.clone());
            Some(Filesystem {
                source,
                fstype,
                size_kib: num(size),
                used_kib: num(used),
                avail_kib: num(avail),
                inodes,
                mount,
            })
        })
        .collect()
}

/// The body cut at the probe's marker lines: df's own output, then (POSIX fallback only)
/// the inode listing and /proc/mounts.
struct Parts<'a> {
    blocks: Vec<&'a str>,
    inodes: Vec<&'a str>,
    mounts: Vec<&'a str>,
    posix: bool,
}

fn parts(body: &str) -> Parts<'_> {
    let mut p = Parts {
        blocks: Vec::new(),
        inodes: Vec::new(),
        mounts: Vec::new(),
        posix: false,
    };
    let mut part = 0;
    for line in body.lines() {
        match line.trim() {
            "--inodes--" => {
                part = 1;
                p.posix = true;
            }
            "--mounts--" => {
                part = 2;
                p.posix = true;
            }
            _ => match part {
                0 => p.blocks.push(line),
                1 => p.inodes.push(line),
                _ => p.mounts.push(line),
            },
        }
    }
    p
}

pub fn parse(body: &str) -> Result<Vec<Filesystem>, ParseError> {
    let p = parts(body);
    let all = if p.posix {
        parse_posix(&p.blocks, &p.inodes, &p.mounts)
    } else {
        parse_gnu(&p.blocks)
    };
    if all.is_empty() {
        let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(ParseError::new(format!(
            "df ({}): no filesystem listed{}",
            if p.posix { "POSIX" } else { "GNU" },
            if first.is_empty() {
                String::new()
            } else {
                format!(": {}", clean(first, 80))
            }
        )));
    }
    // One filesystem per mount point: the last row, as a filesystem mounted over another
    // hides it (df < 8.21 lists both, and the first one is no longer what the mount holds).
    let mut seen = BTreeSet::new();
    let mut last: Vec<Filesystem> = all
        .into_iter()
        .rev()
        .filter(|f| seen.insert(f.mount.clone()))
        .collect();
    last.reverse();
    Ok(last
        .into_iter()
        .filter(|f| !is_pseudo(f.fstype.as_deref(), &f.source, &f.mount))
        .collect())
}

#[cfg(test)]
#[path = "df_tests.rs"]
mod tests;
