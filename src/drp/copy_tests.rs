use super::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn hp(host: &str, path: &str) -> HostPath {
    HostPath {
        host: host.into(),
        path: path.into(),
    }
}

fn spec() -> CopySpec {
    CopySpec::new(
        hp("backup-a", "/var/backups/files/2024-06-12/"),
        hp("drp", "/srv/www/"),
        "ssh -F /etc/vigie/transfer_ssh_config",
    )
    .unwrap()
}

fn fixture(version: &str, name: &str) -> (String, i32) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rsync")
        .join(version);
    let text = std::fs::read(dir.join(format!("{name}.txt"))).unwrap();
    let rc = std::fs::read_to_string(dir.join(format!("{name}.rc")))
        .map(|s| s.trim().parse().unwrap())
        .unwrap_or(0);
    (String::from_utf8(text).unwrap(), rc)
}

const VERSIONS: [&str; 2] = ["3.2.7", "3.5.0"];

fn dry(version: &str, name: &str) -> DryRunOutcome {
    let (text, rc) = fixture(version, name);
    DryRunOutcome {
        rc,
        report: parse_dry_run(&text),
        truncated: false,
    }
}

// ---------------------------------------------------------------------------------------------
// The command

#[test]
fn the_plan_shows_the_exact_rsync_command() {
    assert_eq!(
        spec().command_line(Phase::Preview),
        "rsync -a -H --numeric-ids --delete -s --no-inc-recursive --partial-dir=.vigie-partial \
         --timeout=300 -n -i --stats -e 'ssh -F /etc/vigie/transfer_ssh_config' -- \
         backup-a:/var/backups/files/2024-06-12/ /srv/www/"
    );
    assert!(
        spec()
            .command_line(Phase::Copy)
            .contains(" --info=progress2 --stats -e ")
    );
    assert_eq!(spec().runs_on(), "drp", "rsync pulls, on the target");
    // Both ends on one host: a local copy, no transfer command.
    let local = CopySpec::new(hp("drp", "/srv/a/"), hp("drp", "/srv/b/"), "ssh").unwrap();
    assert_eq!(local.source_arg(), "/srv/a/");
    assert!(!local.command_line(Phase::Copy).contains(" -e "));
}

#[test]
fn dangerous_or_ambiguous_copies_are_refused() {
    let ssh = "ssh";
    let cases = [
        (
            hp("backup-a", "files/x/"),
            hp("drp", "/srv/www/"),
            "not absolute",
        ),
        (hp("backup-a", "/x/"), hp("drp", "srv/www/"), "not absolute"),
        (
            hp("backup-a", "/x/../etc/"),
            hp("drp", "/srv/www/"),
            "`.` or `..`",
        ),
        (
            hp("backup-a", "/x/"),
            hp("drp", "/srv/www/./"),
            "`.` or `..`",
        ),
        (hp("backup-a", "/x/*"), hp("drp", "/srv/www/"), "wildcard"),
        (hp("backup-a", "/x/"), hp("drp", "/srv/"), "too close to /"),
        (hp("backup-a", "/x/"), hp("drp", "/"), "too close to /"),
        (
            hp("backup-a", "/x/"),
            hp("drp", "//srv//"),
            "too close to /",
        ),
        (
            hp("backup-a", "/x\n/"),
            hp("drp", "/srv/www/"),
            "control character",
        ),
        (
            hp("-oProxyCommand=x", "/x/"),
            hp("drp", "/srv/www/"),
            "not a host name",
        ),
        (hp("a b", "/x/"), hp("drp", "/srv/www/"), "not a host name"),
        (
            hp("backup-a", "/x/"),
            hp("drp", "/srv/www/"),
            "transfer_ssh",
        ),
    ];
    for (i, (from, to, why)) in cases.into_iter().enumerate() {
        let ssh = if why == "transfer_ssh" { " " } else { ssh };
        let e = CopySpec::new(from, to, ssh).unwrap_err().to_string();
        assert!(e.contains(why), "case {i}: {e}");
    }
}

/// A stand-in rsync that reports its version and prints its arguments one per line.
fn fake_rsync(dir: &Path, version: &str) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = bin.join("rsync");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'rsync  version {version}  protocol version 31'; \
             echo 'Copyright'; exit 0; fi\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn run_script(script: &str, path: &str) -> (String, i32) {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn hostile_paths_reach_rsync_as_single_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = fake_rsync(tmp.path(), "3.2.7");
    let target = tmp.path().join("t $(touch PWNED) 'q' \"d\" `x`/");
    let s = CopySpec::new(
        hp("backup-a", "/var/backups/it's a $HOME; `id` \"dir\"/"),
        hp("drp", target.to_str().unwrap()),
        "ssh -F /etc/vigie/transfer_ssh_config",
    )
    .unwrap();
    let (out, rc) = run_script(&s.script(Phase::Preview), bin.to_str().unwrap());
    assert_eq!(rc, 0, "{out}");
    let args: Vec<&str> = out.lines().collect();
    assert_eq!(
        args.first().copied(),
        Some("VIGIE_RSYNC progress2 rsync  version 3.2.7  protocol version 31")
    );
    let want_tail = [
        "[-n]",
        "[-i]",
        "[--stats]",
        "[-e]",
        "[ssh -F /etc/vigie/transfer_ssh_config]",
        "[--]",
        "[backup-a:/var/backups/it's a $HOME; `id` \"dir\"/]",
    ];
    assert_eq!(&args[9..16], &want_tail, "{out}");
    assert_eq!(args[16], format!("[{}]", target.display()));
    assert!(!tmp.path().join("PWNED").exists() && !Path::new("PWNED").exists());
    // The dry run creates nothing; the copy creates the target's parent (rsync makes the last
    // directory itself).
    assert!(!target.exists());
    let deep = tmp.path().join("scratch/drill/www/");
    let s = CopySpec::new(
        hp("backup-a", "/x/"),
        hp("drp", deep.to_str().unwrap()),
        "ssh",
    )
    .unwrap();
    let (out, rc) = run_script(&s.script(Phase::Copy), bin.to_str().unwrap());
    assert_eq!(rc, 0, "{out}");
    assert!(tmp.path().join("scratch/drill").is_dir() && !deep.exists());
    assert!(
        out.contains("[--info=progress2]\n[--stats]\n[-e]\n[ssh]\n"),
        "{out}"
    );
}

#[test]
fn rsync_3_0_is_followed_by_itemized_lines_and_a_missing_rsync_is_said() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = fake_rsync(tmp.path(), "3.0.9");
    let (out, _) = run_script(&spec().script(Phase::Copy), bin.to_str().unwrap());
    assert!(
        out.starts_with("VIGIE_RSYNC itemize rsync  version 3.0.9"),
        "{out}"
    );
    assert!(out.contains("[-i]\n[--stats]\n[-e]"), "{out}");
    assert!(!out.contains("progress2"), "{out}");
    // Without rsync the script says so (its exit 127) rather than failing obscurely.
    assert!(spec().script(Phase::Preview).contains(
        "if ! command -v rsync >/dev/null 2>&1; then\n    echo \"VIGIE_RSYNC missing\"\n"
    ));
    let d = parse_dry_run("VIGIE_RSYNC missing\nrsync is not installed on drp\n").unwrap();
    assert_eq!(
        d.messages.first().map(String::as_str),
        Some("rsync is not installed on the target host")
    );
}

/// The scripts with the real rsync of this machine, both ends local: preview, copy with
/// progress, then a verification that finds nothing left to do.
#[test]
fn the_three_phases_with_the_real_rsync() {
    if Command::new("rsync").arg("--version").output().is_err() {
        panic!("rsync is needed for this test (apt-get install rsync)");
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("site/src");
    std::fs::create_dir_all(src.join("img")).unwrap();
    std::fs::write(src.join("index.html"), vec![b'x'; 3000]).unwrap();
    std::fs::write(src.join("img/logo.png"), vec![b'y'; 50_000]).unwrap();
    let dst = tmp.path().join("site/dst");
    std::fs::create_dir_all(&dst).unwrap();
    std::fs::write(dst.join("stale.html"), b"old").unwrap();
    let s = CopySpec::new(
        hp("drp", &format!("{}/", src.display())),
        hp("drp", &format!("{}/", dst.display())),
        "ssh",
    )
    .unwrap();
    let path = "/usr/local/bin:/usr/bin:/bin";
    let (out, rc) = run_script(&s.script(Phase::Preview), path);
    let preview = DryRunOutcome {
        rc,
        report: parse_dry_run(&out),
        truncated: false,
    };
    let p = preview.report.clone().unwrap();
    assert_eq!(
        (p.to_transfer, p.bytes, p.deletions),
        (2, Some(53_000), 1),
        "{out}"
    );
    assert_eq!(p.sample_deletions, ["stale.html"]);
    assert!(preview.verified().is_err());
    assert!(dst.join("stale.html").exists(), "a dry run changes nothing");
    let (out, rc) = run_script(&s.script(Phase::Copy), path);
    assert_eq!(rc, 0, "{out}");
    assert_eq!(progress_mode(&out), Some(ProgressMode::Progress2), "{out}");
    let mut progress = Progress::from_preview(&p);
    progress.feed(&out);
    assert_eq!(progress.bytes_done(), 53_000);
    progress.finished();
    assert_eq!(progress.summary(), "51.8 KiB of 51.8 KiB (100 %)");
    let (out, rc) = run_script(&s.script(Phase::Verify), path);
    let verify = DryRunOutcome {
        rc,
        report: parse_dry_run(&out),
        truncated: false,
    };
    assert_eq!(verify.verified(), Ok(()), "{out}");
    assert!(!dst.join("stale.html").exists());
}

// ---------------------------------------------------------------------------------------------
// Dry runs (fixtures captured with tests/fixtures/rsync/capture.sh)

#[test]
fn a_fresh_copy_preview_counts_files_bytes_and_new_directories() {
    for v in VERSIONS {
        let d = dry(v, "fresh-preview").report.unwrap();
        assert_eq!(d.files_total, Some(16), "{v}");
        assert_eq!(
            (d.to_transfer, d.bytes, d.total_size),
            (9, Some(845_004), Some(850_014))
        );
        assert_eq!((d.created, d.created_dirs, d.deletions), (15, 4, 0));
        assert_eq!(d.sample_transfers[..2], ["conf/app.conf", "www/index.html"]);
        assert!(d.complete && d.messages.is_empty(), "{d:?}");
        assert_eq!(d.summary(), "9 files to copy (825 KiB), 4 new directories");
    }
}

#[test]
fn an_update_preview_names_what_would_be_deleted() {
    for v in VERSIONS {
        let d = dry(v, "update-preview").report.unwrap();
        assert_eq!((d.to_transfer, d.bytes), (2, Some(97_000)), "{v}");
        assert_eq!((d.deletions, d.created, d.changed), (3, 1, 3));
        assert_eq!(
            d.sample_deletions,
            ["conf/app.conf", "conf/", "www/page6.html"]
        );
        assert_eq!(
            d.summary(),
            "2 files to copy (94.7 KiB), 3 to delete (conf/app.conf, conf/, www/page6.html), \
             3 attribute changes"
        );
    }
}

#[test]
fn after_a_copy_the_second_dry_run_shows_no_change() {
    for v in VERSIONS {
        for name in ["fresh-verify", "update-verify"] {
            let o = dry(v, name);
            assert_eq!(o.verified(), Ok(()), "{v} {name}");
            assert_eq!(o.report.unwrap().summary(), "no change");
        }
        // A preview with work to do is no verification.
        let e = dry(v, "update-preview").verified().unwrap_err();
        assert!(
            e.starts_with("the target still differs: 2 files to copy"),
            "{e}"
        );
    }
}

#[test]
fn rsync_errors_are_named() {
    for v in VERSIONS {
        let o = dry(v, "missing-source");
        assert_eq!(o.rc, 23);
        let e = o.verified().unwrap_err();
        assert!(
            e.starts_with(
                "rsync exit 23 (partial transfer due to error): rsync: [sender] change_dir \
                 \"/tmp/vigie-rsync-fixtures/no-such-dir\" failed: No such file or directory (2)"
            ),
            "{v}: {e}"
        );
        let d = dry(v, "permission-preview").report.unwrap();
        assert!(d.messages[0].contains(
            "opendir \"/tmp/vigie-rsync-fixtures/perm/src/locked\" failed: Permission denied (13)"
        ));
        assert_eq!(
            d.messages[1],
            "IO error encountered -- skipping file deletion"
        );
        let o = dry(v, "unreachable-preview");
        let e = o.verified().unwrap_err();
        assert!(
            e.contains("): ssh: Could not resolve hostname no-such-host.invalid"),
            "{v}: {e}"
        );
        assert!(o.report.unwrap().files_total.is_none());
    }
}

#[test]
fn rsync_before_3_1_is_read_too() {
    // rsync 2.6 as quoted on the rsync mailing list (see the fixtures' README): no digit
    // groups, "Number of files transferred".
    let (text, _) = fixture("2.6", "stats-mailing-list");
    let d = parse_dry_run(&text).unwrap();
    assert_eq!((d.files_total, d.to_transfer), (Some(161_530), 327));
    assert_eq!(
        (d.bytes, d.total_size),
        (Some(945_709_165), Some(97_936_829_135))
    );
    assert!(d.complete);
}

#[test]
fn nothing_from_rsync_is_an_error() {
    assert!(parse_dry_run("").is_err());
    assert!(parse_dry_run("\n\r\n").is_err());
    let d = parse_dry_run("Permission denied (publickey).\n").unwrap();
    assert_eq!(d.messages, ["Permission denied (publickey)."]);
}

// ---------------------------------------------------------------------------------------------
// Progress

#[test]
fn progress2_records_are_read() {
    let (text, _) = fixture("3.5.0", "fresh-copy");
    let recs = parse_records(&text);
    assert_eq!(recs.first().map(|r| (r.bytes, r.percent)), Some((0, 0)));
    let mid = recs.iter().find(|r| r.bytes == 441_612).unwrap();
    assert_eq!(mid.time, Some(Duration::from_secs(2)));
    assert_eq!(mid.transferred, None);
    let last = recs.last().unwrap();
    assert_eq!(
        (last.bytes, last.percent, last.transferred, last.to_check),
        (845_004, 99, Some(9), Some((0, 16)))
    );
    assert!(!last.incremental);
    assert!((last.rate - 204.11 * 1024.0).abs() < 1.0);
}

#[test]
fn progress_is_measured_against_the_preview_and_reaches_100_only_on_success() {
    for v in VERSIONS {
        let preview = dry(v, "update-preview").report.unwrap();
        let (copy, rc) = fixture(v, "update-copy");
        assert_eq!(rc, 0);
        // rsync's own percentage counts the unchanged files: 10 % at the end of this update.
        assert_eq!(parse_records(&copy).last().map(|r| r.percent), Some(10));
        let mut p = Progress::from_preview(&preview);
        p.feed(&copy);
        assert_eq!((p.bytes_done(), p.total()), (97_000, Some(97_000)));
        assert_eq!(p.fraction(), Some(0.999));
        assert!(
            p.summary().starts_with("94.7 KiB of 94.7 KiB (99 %), "),
            "{}",
            p.summary()
        );
        p.finished();
        assert_eq!(p.summary(), "94.7 KiB of 94.7 KiB (100 %)");
    }
}

#[test]
fn progress_never_goes_backwards() {
    for v in VERSIONS {
        // Incremental recursion (not what the copy step runs): rsync's percentage falls from
        // 99 to 59 as the file list grows; the tracker's does not.
        let (text, _) = fixture(v, "increcursive-drop");
        let recs = parse_records(&text);
        assert_eq!(recs.len(), 21, "{v}");
        assert!(recs.windows(2).any(|w| w[1].percent < w[0].percent));
        assert!(recs.iter().all(|r| r.incremental));
        let mut p = Progress::new(Some(700_000), None);
        let mut last = 0.0;
        for seg in text.split('\r') {
            p.feed(seg);
            let f = p.fraction().unwrap();
            assert!(f >= last, "{v}: {f} < {last}");
            last = f;
        }
        // Records read out of order (a console re-reading an older piece): the highest stays.
        let (fresh, _) = fixture(v, "fresh-copy");
        let mut p = Progress::from_preview(&dry(v, "fresh-preview").report.unwrap());
        p.feed(&fresh);
        let high = p.bytes_done();
        p.feed(fresh.split('\r').nth(3).unwrap());
        assert_eq!(p.bytes_done(), high);
        assert!(p.went_back());
        assert!(
            p.summary()
                .ends_with("(rsync recounted; the highest count is kept)")
        );
    }
}

#[test]
fn rate_and_time_left_come_from_the_latest_record() {
    let (text, _) = fixture("3.5.0", "vanished-copy");
    let mut p = Progress::new(Some(400_000), Some(1));
    let head: String = text.split('\r').take(3).collect::<Vec<_>>().join("\r");
    p.feed(&head);
    assert_eq!(p.bytes_done(), 229_376);
    // 170,624 bytes left at 200.18 kB/s.
    assert_eq!(p.eta(), Some(Duration::from_secs(1)));
    assert_eq!(
        p.summary(),
        "224 KiB of 391 KiB (57 %), 200 KiB/s, about 1 s left"
    );
    let unknown = Progress::new(None, None);
    assert_eq!(unknown.fraction(), None);
    assert_eq!(unknown.summary(), "0 B copied, time left unknown");
}

#[test]
fn the_copy_s_messages_are_found_even_over_a_record() {
    for v in VERSIONS {
        let (text, rc) = fixture(v, "vanished-copy");
        assert_eq!(rc, 24);
        let e = errors(&text);
        assert_eq!(
            e[0], "file has vanished: \"/tmp/vigie-rsync-fixtures/vanish/src/z-last.txt\"",
            "{v}"
        );
        assert!(e[1].starts_with(
            "rsync warning: some files vanished before they could be transferred (code 24)"
        ));
        assert_eq!(
            exit_meaning(rc),
            "exit 24 (partial transfer due to vanished source files)"
        );
        let (text, _) = fixture(v, "permission-copy");
        let e = errors(&text);
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e[2].contains("send_files failed to open"), "{e:?}");
        let (text, _) = fixture(v, "fresh-copy");
        assert!(errors(&text).is_empty(), "{:?}", errors(&text));
    }
}

#[test]
fn rsync_3_0_progress_counts_itemized_transfers() {
    let (text, _) = fixture("3.5.0", "fresh-preview");
    assert_eq!(count_itemized(&text), 9);
    let mut p = Progress::new(None, Some(9));
    for chunk in text.split_inclusive('\n').collect::<Vec<_>>().chunks(4) {
        p.feed_items(&chunk.concat());
    }
    assert_eq!(p.files_done(), 9);
    assert_eq!(p.fraction(), Some(0.999));
}

#[test]
fn the_copy_says_first_how_it_reports_progress() {
    let head = "VIGIE_RSYNC progress2 rsync  version 3.2.7  protocol version 32\n\r   0   0%";
    assert_eq!(progress_mode(head), Some(ProgressMode::Progress2));
    let head = "VIGIE_RSYNC itemize rsync  version 3.0.9  protocol version 30\n";
    assert_eq!(progress_mode(head), Some(ProgressMode::Itemize));
    assert_eq!(
        progress_mode("VIGIE_RSYNC missing\n"),
        Some(ProgressMode::Missing)
    );
    // Only the first line counts: a file name cannot announce a mode.
    assert_eq!(progress_mode(""), None);
    assert_eq!(progress_mode(">f+++++++++ x\nVIGIE_RSYNC itemize"), None);
    let mut p = Progress::new(None, Some(3));
    p.set_read_to(120);
    p.set_read_to(80);
    assert_eq!(p.read_to(), 120, "the read position never goes back either");
}

proptest::proptest! {
    #[test]
    fn readers_never_panic(s in proptest::prelude::any::<String>()) {
        let _ = parse_dry_run(&s);
        let _ = parse_records(&s);
        let _ = errors(&s);
        let _ = count_itemized(&s);
    }

    #[test]
    fn shaped_output_never_panics(s in "((\r {0,12}[0-9,]{1,12} +[0-9]{1,3}% +[0-9.]{1,7}[kMGT]?B/s +[0-9?]{1,4}:[0-9?]{2}:[0-9?]{2}( \\((xfr#[0-9]{0,4}, )?(to|ir)-chk=[0-9/]{0,9}\\))?)|([<>ch.*][fdLDS][.+a-z ]{0,11} [a-z/ ]{0,10}\n)|(Number of [a-z ]{0,20}: [0-9,]{0,9}( \\([a-z]{0,4}: [0-9]{0,3}\\))?\n)){0,12}") {
        let _ = parse_dry_run(&s);
        let _ = errors(&s);
        let mut p = Progress::new(Some(1000), Some(3));
        p.feed(&s);
        let _ = p.summary();
    }

    #[test]
    fn progress_is_monotonic(pieces in proptest::collection::vec("[ 0-9,%.:?()#=/a-zA-Z\r\n-]{0,60}", 0..20)) {
        let mut p = Progress::new(Some(5_000), Some(4));
        let mut last = (0u64, 0.0f64);
        for piece in &pieces {
            p.feed(piece);
            let now = (p.bytes_done(), p.fraction().unwrap_or(0.0));
            proptest::prop_assert!(now.0 >= last.0 && now.1 >= last.1);
            last = now;
        }
    }
}
