//! Tests of the lock: its owner file, the script's answers, and the script itself run by the
//! local dash and bash (Debian's and RHEL's /bin/sh) on a scratch directory. The same script
//! through SSH on the lab's DRP host is tested in tests/drp_plan.rs.

use super::*;
use std::io::Write as _;
use std::process::{Command, Stdio};

fn owner(nonce: &str) -> LockOwner {
    LockOwner {
        owner: "alice@jump1".into(),
        jump_host: "jump1".into(),
        pid: 4242,
        started: "2026-11-29T03:15:00Z".parse().unwrap(),
        run: "20261129T031500Z-7f3a".into(),
        nonce: nonce.into(),
    }
}

#[test]
fn the_owner_file_round_trips() {
    let o = owner("0123456789abcdef");
    let text = o.render();
    assert_eq!(
        text,
        "vigie-lock 1\nowner=alice@jump1\njump_host=jump1\npid=4242\n\
         started=2026-11-29T03:15:00Z\nrun=20261129T031500Z-7f3a\nnonce=0123456789abcdef"
    );
    assert_eq!(LockOwner::parse(&text), Ok(o.clone()));
    // A value cannot add a line.
    let mut evil = o.clone();
    evil.owner = "mallory\nnonce=ffff".into();
    let back = LockOwner::parse(&evil.render()).unwrap();
    assert_eq!(back.owner, "mallory?nonce=ffff");
    assert_eq!(back.nonce, "0123456789abcdef");
    assert_eq!(
        o.describe(),
        "alice@jump1 (pid 4242, run 20261129T031500Z-7f3a, since 2026-11-29T03:15:00Z, nonce \
         0123456789abcdef)"
    );
    assert!(LockOwner::parse("owner=x").is_err());
    assert!(
        LockOwner::parse("vigie-lock 1\nowner=x")
            .unwrap_err()
            .contains("jump_host")
    );
    let fresh = LockOwner::new("r1", "2026-11-29T03:15:00Z".parse().unwrap());
    assert_eq!(fresh.nonce.len(), 16);
    assert_eq!(fresh.pid, std::process::id());
    assert_ne!(fresh.nonce, LockOwner::new("r1", fresh.started).nonce);
}

#[test]
fn answers() {
    let held = format!(
        "path /var/lib/vigie/lock\nheld\n{}\n\nend\n",
        owner("ab").render()
    );
    assert_eq!(
        parse_reply(&held),
        Ok((
            "/var/lib/vigie/lock".into(),
            Reply::Status(LockStatus::Held {
                path: "/var/lib/vigie/lock".into(),
                owner: owner("ab")
            })
        ))
    );
    assert_eq!(
        parse_reply("path /l\nacquired\n").unwrap().1,
        Reply::Acquired
    );
    assert_eq!(
        parse_reply("path /l\nreleased\n").unwrap().1,
        Reply::Released
    );
    assert_eq!(
        parse_reply("path /l\nfree\n").unwrap().1,
        Reply::Status(LockStatus::Free { path: "/l".into() })
    );
    assert_eq!(
        parse_reply("path /l\nrefused\nownerless\n").unwrap().1,
        Reply::Refused(LockStatus::Ownerless { path: "/l".into() })
    );
    assert_eq!(
        parse_reply("path /l\nerror cannot create /l\n").unwrap().1,
        Reply::Error("cannot create /l".into())
    );
    assert!(parse_reply("").is_err());
    assert!(parse_reply("path /l\nwhat\n").is_err());
    assert!(parse_reply("path /l\nheld\nvigie-lock 1\nend\n").is_err());
}

#[test]
fn nonces_are_hexadecimal() {
    for bad in ["", "x'; rm -rf /", "../a", "0123 4567", &"a".repeat(65)] {
        assert!(matches!(hex(bad), Err(LockError::BadNonce(_))), "{bad:?}");
    }
    assert!(hex("0123456789abcdefABCDEF").is_ok());
}

/// The shells the script must run under: dash (Debian's /bin/sh) and bash (RHEL's).
fn shells() -> Vec<&'static str> {
    let found: Vec<&str> = ["dash", "bash"]
        .into_iter()
        .filter(|s| Command::new(s).arg("-c").arg("true").status().is_ok())
        .collect();
    assert!(!found.is_empty(), "neither dash nor bash is installed");
    found
}

/// Runs the lock script under `shell` on directory `dir`, as the remote host would.
fn local(shell: &str, dir: &str, op: &str, nonce: &str, owner: &str) -> Reply {
    let input = script_input(op, Some(dir), nonce, owner).unwrap();
    let mut child = Command::new(shell)
        .arg("-s")
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let (path, reply) = parse_reply(&text).unwrap_or_else(|e| panic!("{shell}: {e}: {text}"));
    assert_eq!(path, format!("{dir}/lock"));
    reply
}

#[test]
fn the_script_takes_refuses_and_releases() {
    for sh in shells() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state/vigie");
        let dir = dir.to_str().unwrap();
        let a = owner("aaaa1111");
        let b = owner("bbbb2222");
        // Status creates nothing.
        assert_eq!(
            local(sh, dir, "status", "", ""),
            Reply::Status(LockStatus::Free {
                path: format!("{dir}/lock")
            })
        );
        assert!(!tmp.path().join("state").exists(), "{sh}");
        assert_eq!(
            local(sh, dir, "acquire", &a.nonce, &a.render()),
            Reply::Acquired,
            "{sh}"
        );
        // A second run is refused, naming the holder; nothing of it is left behind.
        assert_eq!(
            local(sh, dir, "acquire", &b.nonce, &b.render()),
            Reply::Status(LockStatus::Held {
                path: format!("{dir}/lock"),
                owner: a.clone()
            }),
            "{sh}"
        );
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["lock"], "{sh}");
        let inside: Vec<_> = std::fs::read_dir(format!("{dir}/lock"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(inside, ["owner"], "{sh}");
        // The wrong nonce is refused, the right one releases.
        assert!(
            matches!(local(sh, dir, "release", &b.nonce, ""), Reply::Refused(LockStatus::Held { owner, .. }) if owner == a),
            "{sh}"
        );
        assert_eq!(
            local(sh, dir, "release", &a.nonce, ""),
            Reply::Released,
            "{sh}"
        );
        assert_eq!(
            local(sh, dir, "release", &a.nonce, ""),
            Reply::Status(LockStatus::Free {
                path: format!("{dir}/lock")
            })
        );
        // Free again: the other run takes it.
        assert_eq!(
            local(sh, dir, "acquire", &b.nonce, &b.render()),
            Reply::Acquired,
            "{sh}"
        );
        // Something else at the lock's path is not taken over.
        std::fs::remove_dir_all(format!("{dir}/lock")).unwrap();
        std::fs::create_dir(format!("{dir}/lock")).unwrap();
        std::fs::write(format!("{dir}/lock/notes"), "x").unwrap();
        assert_eq!(
            local(sh, dir, "acquire", &a.nonce, &a.render()),
            Reply::Status(LockStatus::Ownerless {
                path: format!("{dir}/lock")
            }),
            "{sh}"
        );
        assert!(!std::path::Path::new(&format!("{dir}/lock/.lock-{}", a.nonce)).exists());
    }
}

#[test]
fn concurrent_acquisitions_leave_exactly_one_holder() {
    let sh = shells()[0];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vigie");
    let dir = dir.to_str().unwrap().to_string();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let o = owner(&format!("{i:08x}"));
                local(sh, &dir, "acquire", &o.nonce, &o.render()) == Reply::Acquired
            })
        })
        .collect();
    let won = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|w| *w)
        .count();
    assert_eq!(won, 1);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_answer(text in "(path /l\n)?(held\n|refused\n|error |free\n)?\\PC{0,200}") {
            let _ = parse_reply(&text);
            let _ = LockOwner::parse(&text);
        }
    }
}
