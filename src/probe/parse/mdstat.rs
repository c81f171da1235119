//! `mdstat`: /proc/mdstat, Linux software RAID.

use super::{ParseError, clean, finite};

/// One member device of an array, as in `sdb1[1](F)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdMember {
    pub name: String,
    /// The number in brackets (the device's number in the array, not its slot).
    pub number: Option<u32>,
    /// `(F)`: faulty.
    pub failed: bool,
    /// `(S)`: spare.
    pub spare: bool,
    /// `(W)`, `(R)`, `(J)`: write-mostly, replacement, journal.
    pub write_mostly: bool,
    pub replacement: bool,
    pub journal: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    Resync,
    Recovery,
    Check,
    Reshape,
    Repair,
}

impl SyncKind {
    pub fn word(self) -> &'static str {
        match self {
            SyncKind::Resync => "resync",
            SyncKind::Recovery => "recovery",
            SyncKind::Check => "check",
            SyncKind::Reshape => "reshape",
            SyncKind::Repair => "repair",
        }
    }

    fn from_word(w: &str) -> Option<SyncKind> {
        Some(match w {
            "resync" => SyncKind::Resync,
            "recovery" => SyncKind::Recovery,
            "check" => SyncKind::Check,
            "reshape" => SyncKind::Reshape,
            "repair" => SyncKind::Repair,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SyncState {
    /// Running, with the progress line's numbers.
    Running {
        percent: Option<f64>,
        /// As md prints it, e.g. "164.5min".
        finish: Option<String>,
        /// e.g. "172897K/sec".
        speed: Option<String>,
    },
    /// `resync=DELAYED`: waiting for another array on the same disks.
    Delayed,
    /// `resync=PENDING`: waits for the array's first write (auto-read-only).
    Pending,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyncAction {
    pub kind: SyncKind,
    pub state: SyncState,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MdArray {
    /// e.g. "md0".
    pub name: String,
    pub active: bool,
    /// "(read-only)" or "(auto-read-only)".
    pub read_only: bool,
    /// e.g. "raid1"; `None` for inactive arrays.
    pub level: Option<String>,
    pub members: Vec<MdMember>,
    /// `[n/m]`: devices the array should have, devices working.
    pub disks: Option<(u32, u32)>,
    /// `[UU_]`: one letter per slot, `_` for a missing device.
    pub status: Option<String>,
    /// An IMSM/DDF container (`super external:imsm`, inactive by nature).
    pub container: bool,
    pub sync: Option<SyncAction>,
}

impl MdArray {
    /// Fewer working devices than slots.
    pub fn degraded(&self) -> bool {
        let by_count = self.disks.is_some_and(|(n, m)| m < n);
        let by_status = self.status.as_deref().is_some_and(|s| s.contains('_'));
        by_count || by_status
    }

    pub fn failed_members(&self) -> Vec<&str> {
        self.members
            .iter()
            .filter(|m| m.failed)
            .map(|m| m.name.as_str())
            .collect()
    }

    pub fn spares(&self) -> usize {
        self.members.iter().filter(|m| m.spare && !m.failed).count()
    }
}

fn member(word: &str) -> Option<MdMember> {
    let (name, rest) = word.split_once('[')?;
    let (number, flags) = rest.split_once(']')?;
    if name.is_empty() {
        return None;
    }
    Some(MdMember {
        name: clean(name, 40),
        number: number.parse().ok(),
        failed: flags.contains("(F)"),
        spare: flags.contains("(S)"),
        write_mostly: flags.contains("(W)"),
        replacement: flags.contains("(R)"),
        journal: flags.contains("(J)"),
    })
}

fn header(line: &str) -> Option<MdArray> {
    if line.starts_with(char::is_whitespace) {
        return None;
    }
    let (name, rest) = line.split_once(" : ")?;
    let name = name.trim();
    if !name.starts_with("md") || name.contains(char::is_whitespace) {
        return None;
    }
    let mut words = rest.split_whitespace().peekable();
    let active = match words.next()? {
        "active" => true,
        "inactive" => false,
        _ => return None,
    };
    let mut read_only = false;
    while let Some(w) = words.peek() {
        if w.starts_with('(') {
            read_only |= w.contains("read-only");
            words.next();
        } else {
            break;
        }
    }
    let mut level = None;
    let mut members = Vec::new();
    for w in words {
        match member(w) {
            Some(m) => members.push(m),
            None if level.is_none() && members.is_empty() => level = Some(clean(w, 20)),
            None => {}
        }
    }
    Some(MdArray {
        name: clean(name, 40),
        active,
        read_only,
        level,
        members,
        disks: None,
        status: None,
        container: false,
        sync: None,
    })
}

fn detail(array: &mut MdArray, line: &str) {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.contains(&"blocks") {
        array.container = array.level.is_none() && line.contains("super external:");
        for w in &words {
            let Some(inner) = w.strip_prefix('[').and_then(|x| x.strip_suffix(']')) else {
                continue;
            };
            if let Some((n, m)) = inner.split_once('/') {
                if let (Ok(n), Ok(m)) = (n.parse(), m.parse()) {
                    array.disks = Some((n, m));
                }
            } else if !inner.is_empty() && inner.chars().all(|c| c == 'U' || c == '_') {
                array.status = Some(inner.to_string());
            }
        }
    }
    for (i, w) in words.iter().enumerate() {
        if let Some((k, v)) = w.split_once('=')
            && let Some(kind) = SyncKind::from_word(k)
        {
            let state = match v {
                "DELAYED" => SyncState::Delayed,
                "PENDING" => SyncState::Pending,
                _ => continue,
            };
            array.sync = Some(SyncAction { kind, state });
            return;
        }
        let Some(kind) = SyncKind::from_word(w) else {
            continue;
        };
        if words.get(i + 1) != Some(&"=") {
            continue;
        }
        let percent = words
            .get(i + 2)
            .and_then(|p| p.strip_suffix('%'))
            .and_then(finite)
            .map(|p| p.clamp(0.0, 100.0));
        let field = |key: &str| {
            words
                .iter()
                .find_map(|x| x.strip_prefix(key))
                .map(|v| clean(v, 20))
        };
        array.sync = Some(SyncAction {
            kind,
            state: SyncState::Running {
                percent,
                finish: field("finish="),
                speed: field("speed="),
            },
        });
        return;
    }
}

/// The arrays of /proc/mdstat, in file order (an empty list: the md driver is loaded but
/// there is no array).
pub fn parse(body: &str) -> Result<Vec<MdArray>, ParseError> {
    if !body.lines().any(|l| l.starts_with("Personalities")) {
        return Err(ParseError::new("mdstat: no Personalities line"));
    }
    let mut arrays: Vec<MdArray> = Vec::new();
    let mut in_array = false;
    for line in body.lines() {
        if let Some(a) = header(line) {
            arrays.push(a);
            in_array = true;
        } else if line.starts_with(char::is_whitespace) {
            if let (true, Some(a)) = (in_array, arrays.last_mut()) {
                detail(a, line);
            }
        } else {
            in_array = false;
        }
    }
    Ok(arrays)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            parse(include_str!(concat!(
                "../../../tests/fixtures/probe/",
                $name
            )))
            .unwrap()
        };
    }

    #[test]
    fn clean_raid1() {
        // Debian 12, kernel 6.1.
        let v = fixture!("mdstat_raid1_clean.txt");
        assert_eq!(v.len(), 2);
        let md1 = &v[0];
        assert_eq!(md1.name, "md1");
        assert_eq!(md1.level.as_deref(), Some("raid1"));
        assert_eq!(md1.members.len(), 2);
        assert_eq!(md1.disks, Some((2, 2)));
        assert_eq!(md1.status.as_deref(), Some("UU"));
        assert!(!md1.degraded() && md1.sync.is_none() && md1.active);
    }

    #[test]
    fn degraded_raid1() {
        let v = fixture!("mdstat_raid1_degraded.txt");
        assert!(v.iter().all(MdArray::degraded));
        assert_eq!(v[0].failed_members(), ["sdb1"]);
        assert!(v[1].failed_members().is_empty(), "removed, not failed");
        assert_eq!(v[1].members.len(), 1);
    }

    #[test]
    fn resync_delayed_pending() {
        let v = fixture!("mdstat_resync.txt");
        let s0 = v[0].sync.as_ref().unwrap();
        assert_eq!(s0.kind, SyncKind::Resync);
        assert_eq!(
            s0.state,
            SyncState::Running {
                percent: Some(22.1),
                finish: Some("63.4min".into()),
                speed: Some("199955K/sec".into())
            }
        );
        assert_eq!(v[1].sync.as_ref().unwrap().state, SyncState::Delayed);
        assert_eq!(v[2].sync.as_ref().unwrap().state, SyncState::Pending);
        assert!(v[2].read_only);
        assert_eq!(v[2].level.as_deref(), Some("raid1"));
    }

    #[test]
    fn recovery_raid5() {
        // RHEL 8.9, kernel 4.18.
        let v = fixture!("mdstat_recovery.txt");
        let a = &v[0];
        assert_eq!(a.name, "md127");
        assert_eq!(a.level.as_deref(), Some("raid5"));
        assert_eq!(a.disks, Some((4, 3)));
        assert!(a.degraded());
        let s = a.sync.as_ref().unwrap();
        assert_eq!(s.kind, SyncKind::Recovery);
        assert!(matches!(s.state, SyncState::Running { percent: Some(p), .. } if p == 12.6));
    }

    #[test]
    fn check() {
        let v = fixture!("mdstat_check.txt");
        let s = v[0].sync.as_ref().unwrap();
        assert_eq!(s.kind, SyncKind::Check);
        assert!(!v[0].degraded());
    }

    #[test]
    fn raid10_raid6_raid0() {
        let v = fixture!("mdstat_raid10_raid6_raid0.txt");
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].level.as_deref(), Some("raid0"));
        assert_eq!(v[0].disks, None);
        assert!(!v[0].degraded());
        assert_eq!(v[1].status.as_deref(), Some("UUU_UU"));
        assert_eq!(v[1].failed_members(), ["sdi1"]);
        assert_eq!(v[1].spares(), 1);
        assert_eq!(v[2].level.as_deref(), Some("raid10"));
        assert_eq!(v[2].disks, Some((4, 4)));
    }

    #[test]
    fn imsm_container() {
        let v = fixture!("mdstat_imsm.txt");
        assert!(!v[0].container && v[0].active);
        assert!(v[1].container && !v[1].active);
        assert!(v[1].members.iter().all(|m| m.spare));
    }

    #[test]
    fn no_arrays_and_reshape() {
        assert!(fixture!("mdstat_none.txt").is_empty());
        let body = "Personalities : [raid5]\nmd0 : active raid5 sdd[3] sdc[2] sdb[1] sda[0]\n      \
                    3906764800 blocks super 1.2 level 5, 512k chunk, algorithm 2 [4/4] [UUUU]\n      \
                    [>....................]  reshape =  1.6% (32081920/1953382400) finish=540.3min speed=59261K/sec\n";
        let v = parse(body).unwrap();
        assert_eq!(v[0].sync.as_ref().unwrap().kind, SyncKind::Reshape);
        assert!(parse("").is_err());
        assert!(parse("garbage\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>()) {
            let _ = parse(&s);
            let _ = parse(&format!("Personalities : [raid1]\n{s}"));
        }

        #[test]
        fn shaped_input_never_panics(s in "(md[0-9] : (in)?active [a-z0-9\\[\\]()= %./_U-]{0,40}\n( {6}[a-zA-Z0-9\\[\\]()=%./_ -]{0,60}\n){0,3}){0,4}") {
            let _ = parse(&format!("Personalities : [raid1]\n{s}"));
        }
    }
}
