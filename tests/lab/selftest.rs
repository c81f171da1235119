// Self-test of the lab and of tests/common/lab.rs. Not compiled by default (cargo only picks
// tests/*.rs): to run it, create tests/lab_selftest.rs containing
//     mod common;
//     include!("lab/selftest.rs");
// then `tests/lab/lab.sh up && cargo test --test lab_selftest`.
use common::lab::{HOSTS, Lab};
use std::time::{Duration, Instant};

fn ssh_ok(lab: &Lab, host: &str) -> bool {
    let out = lab.ssh(host, "hostname");
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == host
}

#[test]
fn every_host_answers_through_the_bastion() {
    let lab = Lab::require();
    for h in HOSTS {
        let before = lab.sshd_log_count(h, "Accepted publickey for root");
        assert!(ssh_ok(&lab, h), "{h} does not answer");
        assert_eq!(
            lab.sshd_log_count(h, "Accepted publickey for root"),
            before + 1
        );
        assert!(
            lab.sshd_log(h)
                .contains("Starting session: command for root")
        );
        assert_eq!(lab.sh(h, "hostname").trim(), h);
    }
}

#[test]
fn srv_is_64_mib_and_fill_fills_it() {
    let lab = Lab::require();
    let size = lab.sh("prod", "df -B1M --output=size /srv | tail -n 1");
    assert_eq!(size.trim(), "64");
    {
        let _fill = lab.fill("prod", "/srv", 95);
        let pct = lab.sh("prod", "df --output=pcent /srv | tail -n 1");
        assert!(
            pct.trim().trim_end_matches('%').parse::<u32>().unwrap() >= 95,
            "{pct}"
        );
    }
    let pct = lab.sh("prod", "df --output=pcent /srv | tail -n 1");
    assert_eq!(pct.trim(), "0%");
}

#[test]
fn cut_and_freeze_make_a_host_unreachable_until_dropped() {
    let lab = Lab::require();
    {
        let _cut = lab.cut("backup-b");
        assert!(!ssh_ok(&lab, "backup-b"));
    }
    assert!(ssh_ok(&lab, "backup-b"));
    {
        let _frozen = lab.freeze("drp");
        let t = Instant::now();
        assert!(!ssh_ok(&lab, "drp"));
        assert!(t.elapsed() >= Duration::from_secs(2));
    }
    assert!(ssh_ok(&lab, "drp"));
}

#[test]
fn guards_undo_faults_during_a_panic() {
    let lab = Lab::require();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _k = lab.kill_proc("prod", "labwatchd");
        let _w = lab.wrong_hostkey("prod");
        let _s = lab.sshd_stop("backup-a");
        let _f = lab.forward_off();
        panic!("boom");
    }));
    assert!(r.is_err());
    assert!(
        lab.sh("prod", "pgrep -x labwatchd || true")
            .trim()
            .parse::<u32>()
            .is_ok()
    );
    assert!(ssh_ok(&lab, "prod"));
    assert!(ssh_ok(&lab, "backup-a"));
    lab.sh("prod", "timeout 2 bash -c '</dev/tcp/10.77.2.21/22'");
}

#[test]
fn wrong_hostkey_is_refused() {
    let lab = Lab::require();
    let _w = lab.wrong_hostkey("prod");
    let out = lab.ssh("prod", "hostname");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
    );
}

#[test]
fn the_vigie_binary_runs_with_the_lab_config() {
    let lab = Lab::require();
    let out = lab.vigie(&["config", "check"]);
    eprintln!(
        "vigie config check: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
