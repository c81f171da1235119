//! Tests of the `df` section parser: GNU and POSIX formats, pseudo filesystems, mounts.

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

#[test]
fn gnu_header_after_errors() {
    // df prints its errors (stderr, unbuffered) before the table (stdout): the rows are what
    // follows the header, and an unparsable line among them is skipped.
    let body = "df: /mnt/nfs: Stale file handle\n\
                /mnt/ghost fuse 1 2 3 4 5 6 /mnt/ghost\n\
                Filesystem     Type 1K-blocks    Used   Avail  Inodes  IUsed   IFree Mounted on\n\
                /dev/sda1      ext4   1000     500     500     100     10      90 /\n\
                not a row\n\
                /dev/sdb1      xfs    2000     500    1500     100     10      90 /srv\n";
    let v = parse(body).unwrap();
    assert_eq!(
        mounts(&v),
        ["/", "/srv"],
        "nothing before the header is a row"
    );
    // Without any header (a df that lost it), rows are still read.
    assert_eq!(
        mounts(&parse("/dev/sda1 ext4 1 1 0 1 1 0 /\n").unwrap()),
        ["/"]
    );
}

#[test]
fn over_mounts_keep_the_last() {
    let body = "Filesystem Type 1K-blocks Used Avail Inodes IUsed IFree Mounted on\n\
                /dev/sdb1 ext4 1000 950 50 100 10 90 /srv\n\
                /dev/sda1 ext4 1000 500 500 100 10 90 /\n\
                /dev/sdc1 xfs 1000 100 900 100 10 90 /srv\n\
                tmpfs tmpfs 1000 0 1000 100 1 99 /tmp\n\
                /dev/sdd1 ext4 1000 10 990 100 1 99 /tmp\n";
    let v = parse(body).unwrap();
    assert_eq!(mounts(&v), ["/", "/srv", "/tmp"]);
    assert_eq!(v[1].source, "/dev/sdc1");
    assert_eq!(v[2].source, "/dev/sdd1");
}

#[test]
fn posix_types_from_proc_mounts() {
    // The probe's POSIX fallback: df -P -k, df -P -i, then /proc/mounts.
    let v = parse(include_str!(
        "../../../tests/fixtures/probe/df_centos6_mounts.txt"
    ))
    .unwrap();
    assert_eq!(
        mounts(&v),
        ["/", "/boot", "/home", "/data"],
        "iso9660 and squashfs dropped, /dev/shm (tmpfs) dropped, /data once"
    );
    assert_eq!(
        v[0].fstype.as_deref(),
        Some("ext4"),
        "not the rootfs below it"
    );
    let data = &v[3];
    assert_eq!(
        (data.source.as_str(), data.fstype.as_deref()),
        ("/dev/sdc1", Some("xfs"))
    );
    assert_eq!(data.inodes.map(|i| i.free), Some(195_302_214));
    // A mount the table does not list keeps no type (its source stands for it).
    let body = "Filesystem 1024-blocks Used Available Capacity Mounted on\n\
                /dev/sda1 1000 500 500 50% /\n\
                /dev/sdb1 1000 500 500 50% /x\n--inodes--\n--mounts--\n/dev/sda1 / ext4 rw 0 0\n";
    let v = parse(body).unwrap();
    assert_eq!(v[0].fstype.as_deref(), Some("ext4"));
    assert_eq!(v[1].fstype, None);
}

#[test]
fn proc_mounts_escapes() {
    assert_eq!(unescape_mount("/mnt/live\\040image"), "/mnt/live image");
    assert_eq!(unescape_mount("/a\\134b\\011c"), "/a\\b\tc");
    assert_eq!(unescape_mount("/odd\\9x\\"), "/odd\\9x\\");
    assert_eq!(unescape_mount("/x\\777"), "/x\\777", "not a byte");
    let t = mount_types(&[
        "/dev/loop0 /mnt/live\\040image squashfs ro 0 0",
        "short line",
    ]);
    assert_eq!(t, [("/mnt/live image".to_string(), "squashfs".to_string())]);
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
    fn rows_never_panic(s in "[a-z/ 0-9%\\\\-]{0,60}") {
        let _ = parse(&s);
        let _ = parse(&format!("{s}\n--inodes--\n{s}\n"));
        let _ = parse(&format!("{s}\n--inodes--\n{s}\n--mounts--\n{s}\n"));
        let _ = unescape_mount(&s);
    }
}
