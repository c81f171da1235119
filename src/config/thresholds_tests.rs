//! Tests of `[thresholds]`: per-field merging and mount points.

use super::*;
use crate::config::load::tests::{FakeSsh, SITE, errors, host, ok};

#[test]
fn thresholds_merge_per_field() {
    let ssh = FakeSsh::default();
    let text = format!(
        "{SITE}[thresholds]\npartition = {{ warn = 70 }}\ncpu = {{ crit = \"99\" }}\n\
         [thresholds.mounts.\"/var/backups/\"]\nwarn = \"95\"\n{}{}\
         [hosts.thresholds]\npartition = {{ crit = \"99\" }}\nswap = {{ crit = \"none\" }}\n\
         [hosts.thresholds.mounts.\"/srv\"]\ncrit = 98.5\n",
        host("plain", ""),
        host("tuned", "")
    );
    let c = ok(&text, &ssh);
    let r = |t: &str| Some(Range::parse(t).unwrap());
    let plain = &c.host("plain").unwrap().thresholds;
    assert_eq!(
        plain.partition,
        Levels {
            warn: r("70"),
            crit: r("90")
        }
    );
    assert_eq!(
        plain.cpu,
        Levels {
            warn: r("95"),
            crit: r("99")
        }
    );
    assert_eq!(
        plain.for_mount("/var/backups"),
        &Levels {
            warn: r("95"),
            crit: r("90")
        }
    );
    assert_eq!(plain.for_mount("/srv"), &plain.partition);
    let tuned = &c.host("tuned").unwrap().thresholds;
    assert_eq!(
        tuned.partition,
        Levels {
            warn: r("70"),
            crit: r("99")
        }
    );
    assert_eq!(
        tuned.swap,
        Levels {
            warn: r("50"),
            crit: None
        }
    );
    assert_eq!(
        tuned.for_mount("/srv"),
        &Levels {
            warn: r("70"),
            crit: r("98.5")
        }
    );
    assert_eq!(
        tuned.for_mount("/var/backups"),
        &Levels {
            warn: r("95"),
            crit: r("99")
        }
    );
    assert_eq!(tuned.inodes, Thresholds::default().inodes);
}

#[test]
fn mount_points() {
    let ssh = FakeSsh::default();
    let errs = errors(
        &format!(
            "{SITE}[thresholds.mounts.\"srv\"]\nwarn = \"1\"\n\
             [thresholds.mounts.\"/data\"]\nwarn = \"1\"\n\
             [thresholds.mounts.\"/data/\"]\nwarn = \"2\"\n"
        ),
        &ssh,
    );
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].starts_with("3:20"), "{errs:?}");
    assert!(errs[0].contains("must be an absolute path"), "{errs:?}");
    assert!(
        errs[1].contains("\"/data/\" is already set on line 5"),
        "{errs:?}"
    );
}
