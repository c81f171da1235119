//! `quota`: `repquota -a -u -p` (quota-tools ≥ 4: grace times as seconds since the epoch).

use super::{ParseError, clean};

/// When the grace period of a soft limit ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grace {
    /// Not over the soft limit (or no grace running).
    None,
    /// Seconds since the epoch (`-p`).
    Until(i64),
    /// As repquota prints it without `-p`: "6days", "13:02", "none" (expired).
    Text(String),
}

/// Usage and limits of one resource: KiB for blocks, a count for files. 0 = no limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub used: u64,
    pub soft: u64,
    pub hard: u64,
    pub grace: Grace,
}

impl Limits {
    pub fn limited(&self) -> bool {
        self.soft > 0 || self.hard > 0
    }

    pub fn over_soft(&self) -> bool {
        self.soft > 0 && self.used > self.soft
    }

    /// Usage has reached the hard limit: no more allocation is possible.
    pub fn at_hard(&self) -> bool {
        self.hard > 0 && self.used >= self.hard
    }

    /// The grace period is over (the soft limit now acts as a hard one). `now`: remote
    /// clock, seconds since the epoch.
    pub fn grace_expired(&self, now: Option<f64>) -> bool {
        if !self.over_soft() {
            return false;
        }
        match (&self.grace, now) {
            (Grace::Until(t), Some(now)) => (*t as f64) <= now,
            (Grace::Text(t), _) => t == "none",
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuota {
    /// A user name, or `#uid` when the uid has no name.
    pub user: String,
    pub blocks: Limits,
    pub files: Limits,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaReport {
    /// The device as repquota names it, e.g. "/dev/mapper/vg0-home".
    pub device: String,
    pub users: Vec<UserQuota>,
}

fn grace(word: &str) -> Grace {
    match word.parse::<i64>() {
        Ok(0) => Grace::None,
        Ok(t) => Grace::Until(t),
        Err(_) => Grace::Text(clean(word, 20)),
    }
}

fn is_num(w: &str) -> bool {
    !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit())
}

fn row(line: &str) -> Option<UserQuota> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let (name, flags, rest) = match w.as_slice() {
        [name, flags, rest @ ..] => (*name, *flags, rest),
        _ => return None,
    };
    if flags.len() != 2 || !flags.bytes().all(|b| b == b'+' || b == b'-') {
        return None;
    }
    let n = |s: &str| s.parse::<u64>().ok();
    // used soft hard [grace] used soft hard [grace]: graces are always there with -p ("0"),
    // blank without -p unless over the soft limit.
    let (b, bg, f, fg) = match rest {
        [bu, bs, bh, bg, fu, fs, fh, fg] => {
            ([*bu, *bs, *bh], Some(*bg), [*fu, *fs, *fh], Some(*fg))
        }
        [bu, bs, bh, fu, fs, fh] => ([*bu, *bs, *bh], None, [*fu, *fs, *fh], None),
        // One grace only: the block one is text (never a bare number) when present.
        [bu, bs, bh, x, y, z, t] if !is_num(x) => ([*bu, *bs, *bh], Some(*x), [*y, *z, *t], None),
        [bu, bs, bh, fu, fs, fh, fg] => ([*bu, *bs, *bh], None, [*fu, *fs, *fh], Some(*fg)),
        _ => return None,
    };
    let limits = |[used, soft, hard]: [&str; 3], g: Option<&str>| -> Option<Limits> {
        Some(Limits {
            used: n(used)?,
            soft: n(soft)?,
            hard: n(hard)?,
            grace: g.map(grace).unwrap_or(Grace::None),
        })
    };
    Some(UserQuota {
        user: clean(name, 40),
        blocks: limits(b, bg)?,
        files: limits(f, fg)?,
    })
}

pub fn parse(body: &str) -> Result<Vec<QuotaReport>, ParseError> {
    let mut reports: Vec<QuotaReport> = Vec::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("*** Report for user quotas on device ") {
            reports.push(QuotaReport {
                device: clean(rest, 100),
                users: Vec::new(),
            });
        } else if let (Some(r), Some(u)) = (reports.last_mut(), row(line)) {
            r.users.push(u);
        }
    }
    if reports.is_empty() && body.lines().any(|l| !l.trim().is_empty()) {
        let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(ParseError::new(format!("repquota: {}", clean(first, 100))));
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repquota_with_raw_grace() {
        // quota-tools 4.06 (Debian 12), `repquota -a -u -p`: ext4 /home and XFS /srv.
        let v = parse(include_str!("../../../tests/fixtures/probe/repquota.txt")).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].device, "/dev/mapper/vg0-home");
        assert_eq!(v[0].users.len(), 7);
        let user = |n: &str| v[0].users.iter().find(|u| u.user == n).unwrap();
        let now = Some(1_795_908_868.0);
        let alice = user("alice");
        assert!(alice.blocks.over_soft() && !alice.blocks.at_hard());
        assert_eq!(alice.blocks.grace, Grace::Until(1_796_400_000));
        assert!(!alice.blocks.grace_expired(now));
        let bob = user("bob");
        assert!(bob.blocks.at_hard());
        let carol = user("carol");
        assert!(carol.files.over_soft() && !carol.blocks.over_soft());
        assert!(user("dave").blocks.grace_expired(now));
        assert!(!user("root").blocks.limited());
        assert_eq!(user("#1005").blocks.used, 512);
        assert_eq!(v[1].users[1].blocks.soft, 1_048_576_000);
    }

    #[test]
    fn without_raw_grace() {
        // quota-tools 3.17 (CentOS 6) prints grace as text and leaves it blank when unused.
        let body = "*** Report for user quotas on device /dev/sdb1\n\
                    Block grace time: 7days; Inode grace time: 7days\n\
                    User            used    soft    hard  grace    used  soft  hard  grace\n\
                    ----------------------------------------------------------------------\n\
                    root      --      20       0       0              2     0     0       \n\
                    eve       +-  120000  100000  150000  6days      40     0     0       \n\
                    frank     +-  120000  100000  150000   none      40     0     0       \n\
                    gina      -+     100       0       0             40    30    50  23:10\n";
        let v = parse(body).unwrap();
        let u = &v[0].users;
        assert_eq!(u.len(), 4);
        assert_eq!(u[1].blocks.grace, Grace::Text("6days".into()));
        assert!(!u[1].blocks.grace_expired(None));
        assert!(u[2].blocks.grace_expired(None));
        assert_eq!(u[3].files.grace, Grace::Text("23:10".into()));
        assert!(u[3].files.over_soft());
    }

    #[test]
    fn errors_and_empty() {
        assert!(parse("").unwrap().is_empty());
        assert!(
            parse("repquota: Cannot open quotafile /home/aquota.user: Permission denied\n")
                .is_err()
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>()) {
            let _ = parse(&s);
            let _ = parse(&format!("*** Report for user quotas on device /dev/x\n{s}"));
        }

        #[test]
        fn rows_never_panic(s in "([a-z#0-9]{1,6} [+-]{2}( [0-9a-z:]{1,6}){5,9}\n){0,5}") {
            let v = parse(&format!("*** Report for user quotas on device /dev/x\n{s}")).unwrap();
            for u in v.iter().flat_map(|r| &r.users) {
                let _ = (u.blocks.grace_expired(Some(1.0)), u.files.at_hard());
            }
        }
    }
}
