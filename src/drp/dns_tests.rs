use super::key::AnswerCheck;
use super::*;
use hickory_proto::op::Message;
use proptest::prelude::*;
use std::time::Duration;

/// The format BIND's tsig-keygen and ddns-confgen write: `write_key_file()` in
/// bin/confgen/keygen.c of BIND 9 (isc-projects/bind9) prints
/// `key "%s" {\n\talgorithm %s;\n\tsecret "%s";\n};\n`. The secret is a 32-byte one.
const BIND: &str = "key \"vigie-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"qGygK+VlVaR9tYCAUBABGMGLv+pvK6nOXvZJ8KNLals=\";\n};\n";

/// Real output of `keymgr -t vigie-key hmac-sha256`, Knot DNS 3.2.6 (Debian 12).
const KNOT: &str = "# hmac-sha256:vigie-key:qGygK+VlVaR9tYCAUBABGMGLv+pvK6nOXvZJ8KNLals=\n\
key:\n  - id: vigie-key\n    algorithm: hmac-sha256\n    secret: qGygK+VlVaR9tYCAUBABGMGLv+pvK6nOXvZJ8KNLals=\n";

/// Real output of `keymgr -t old-key hmac-sha1`, Knot DNS 3.2.6 (Debian 12).
const KNOT_SHA1: &str = "# hmac-sha1:old-key:UyIS5ue9B+wMstRJ/WppuPXv3ww=\n\
key:\n  - id: old-key\n    algorithm: hmac-sha1\n    secret: UyIS5ue9B+wMstRJ/WppuPXv3ww=\n";

const SECRET_B64: &str = "qGygK+VlVaR9tYCAUBABGMGLv+pvK6nOXvZJ8KNLals=";

fn secret_bytes() -> Vec<u8> {
    data_encoding::BASE64.decode(SECRET_B64.as_bytes()).unwrap()
}

#[test]
fn bind_and_knot_key_files_are_read() {
    let want = TsigKey::for_tests("vigie-key", Algorithm::HmacSha256, &secret_bytes());
    assert_eq!(parse_key(BIND), Ok(want.clone()));
    assert_eq!(parse_key(KNOT), Ok(want));
    let old = parse_key(KNOT_SHA1).unwrap();
    assert_eq!(
        (old.name.as_str(), old.algorithm),
        ("old-key", Algorithm::HmacSha1)
    );
    assert!(old.algorithm.note().unwrap().contains("hmac-sha256"));
    assert_eq!(Algorithm::HmacSha256.note(), None);

    // BIND's own liberties: comments, one line, an absolute name, the algorithm in capitals
    // without its prefix, a secret split by blanks.
    let loose = "# the DRP's key\n/* rotated\n 2026 */ key vigie-key. { // name\n\
                 algorithm SHA512; secret \"qGygK+VlVaR9tYCAUBAB GMGLv+pvK6nOXvZJ8KNLals=\"; };";
    let k = parse_key(loose).unwrap();
    assert_eq!(
        (k.name.as_str(), k.algorithm),
        ("vigie-key", Algorithm::HmacSha512)
    );
    assert_eq!(
        k,
        TsigKey::for_tests("vigie-key", Algorithm::HmacSha512, &secret_bytes())
    );
}

#[test]
fn garbled_key_files_are_located_and_never_show_the_secret() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "no key in the file"),
        (
            "key \"k\" {\n algorithm hmac-sha256;\n secret \"not base64!\";\n};\n",
            3,
            "not valid base64",
        ),
        (
            "key \"k\" {\n algorithm hmac-md5;\n secret \"AAAA\";\n};\n",
            2,
            "hmac-md5 is not supported",
        ),
        (
            "key \"k\" {\n algorithm rot13;\n secret \"AAAA\";\n};\n",
            2,
            "unknown algorithm \"rot13\"",
        ),
        (
            "key \"k\" {\n secret \"AAAA\";\n};\n",
            1,
            "has no `algorithm`",
        ),
        (
            "key \"k\" {\n algorithm hmac-sha256;\n};\n",
            1,
            "has no `secret`",
        ),
        (
            "key \"k\" {\n algorithm hmac-sha256;\n secret \"AAAA\"\n};\n",
            4,
            "expected `;`, found `}`",
        ),
        (
            "key \"k\" {\n algorithm hmac-sha256;\n secret \"AAAA\";\n",
            3,
            "unclosed `{`",
        ),
        (
            "key \"k\" {\n algorithm hmac-sha256;\n secret \"AAAA;\n};\n",
            3,
            "unclosed quoted string",
        ),
        ("options { };\n", 1, "unexpected `options`"),
        (
            "key \"a\" { algorithm hmac-sha256; secret \"AAAA\"; };\nkey \"b\" { algorithm hmac-sha256; secret \"AAAA\"; };\n",
            2,
            "a second key",
        ),
        (
            "key \"k\" {\n algorithm hmac-sha256;\n keyfile \"x\";\n};\n",
            3,
            "expected `algorithm` or `secret`",
        ),
        (
            "key \"a b\" { algorithm hmac-sha256; secret \"AAAA\"; };\n",
            1,
            "invalid key name",
        ),
        (
            "key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: !!!\n",
            4,
            "not valid base64",
        ),
        (
            "key:\n  - id: k\n    algorithm: hmac-sha256\n    size: 12\n",
            4,
            "unexpected `size`",
        ),
        (
            "key:\n  - id: a\n    secret: AAAA\n  - id: b\n",
            4,
            "a second key",
        ),
    ];
    for (text, line, words) in cases {
        let e = parse_key(text).unwrap_err();
        assert_eq!(e.line, *line, "{text:?}: {e:?}");
        assert!(e.reason.contains(words), "{text:?}: {e:?}");
    }
    // The secret is in no error and no Debug output.
    let bad = BIND.replace("hmac-sha256", "hmac-sha1024");
    let e = parse_key(&bad).unwrap_err();
    assert!(!format!("{e:?}").contains("qGyg"), "{e:?}");
    let k = parse_key(BIND).unwrap();
    assert!(!format!("{k:?}").contains("qGyg"), "{k:?}");
    assert!(format!("{k:?}").contains("***"), "{k:?}");
}

#[test]
fn a_missing_key_file_is_named() {
    let e = read_key(Path::new("/nonexistent/tsig.key")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "TSIG key file /nonexistent/tsig.key: cannot read: no such file or directory"
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tsig.key");
    std::fs::write(
        &f,
        "key \"k\" {\n algorithm hmac-sha256;\n secret \"%%%\";\n};\n",
    )
    .unwrap();
    assert_eq!(
        read_key(&f).unwrap_err().to_string(),
        format!(
            "TSIG key file {}:3: the secret is not valid base64 (it is not shown here)",
            f.display()
        )
    );
}

/// A signed update verifies against itself with hickory's own verifier for the SHA-2 keys,
/// and the hand-made hmac-sha1 signature has the shape hickory checks (tested end to end
/// against Knot in tests/drp_dns.rs).
#[test]
fn updates_are_signed() {
    for alg in [Algorithm::HmacSha256, Algorithm::HmacSha1] {
        let key = TsigKey::for_tests("vigie-key", alg, &secret_bytes());
        let mut old = RecordSet::with_ttl(fqdn("www.example.test").unwrap(), RecordType::A, 0);
        old.add_rdata(rdata("203.0.113.11".parse().unwrap()));
        let mut new = RecordSet::with_ttl(fqdn("www.example.test").unwrap(), RecordType::A, 60);
        new.add_rdata(rdata("203.0.113.21".parse().unwrap()));
        let mut m =
            update_message::compare_and_swap(old, new, fqdn("example.test").unwrap(), false);
        let check = key::sign(&mut m, &key, 1_700_000_000).unwrap();
        let sig = m.signature().unwrap();
        assert_eq!(sig.name.to_ascii(), "vigie-key.");
        assert_eq!(sig.data.time, 1_700_000_000);
        assert_eq!(
            sig.data.mac.len(),
            if alg == Algorithm::HmacSha1 { 20 } else { 32 }
        );
        assert!(matches!(
            (alg, check),
            (Algorithm::HmacSha1, AnswerCheck::Sha1 { .. })
                | (Algorithm::HmacSha256, AnswerCheck::Hickory(_))
        ));
        // The message round-trips with its prerequisite, delete and add.
        let back = Message::from_vec(&m.to_vec().unwrap()).unwrap();
        assert!(back.signature().is_some());
    }
}

/// A success is believed only when the server signed it: an unsigned answer, or one signed
/// with another secret, is refused.
#[test]
fn unsigned_or_forged_answers_are_not_believed() {
    for alg in [Algorithm::HmacSha256, Algorithm::HmacSha1] {
        let key = TsigKey::for_tests("vigie-key", alg, &secret_bytes());
        let mut m = Message::query();
        m.metadata.op_code = hickory_proto::op::OpCode::Update;
        let now = unix_now();
        let mut check = key::sign(&mut m, &key, now).unwrap();
        let unsigned = Message::response(m.metadata.id, hickory_proto::op::OpCode::Update);
        assert!(
            check.verify(&unsigned.to_vec().unwrap()).is_err(),
            "{alg:?}"
        );

        // Signed as a server would, but with another secret.
        let forger = TsigKey::for_tests("vigie-key", alg, b"another secret, not the key's");
        let mut forged = Message::response(m.metadata.id, hickory_proto::op::OpCode::Update);
        key::sign(&mut forged, &forger, now).unwrap();
        assert!(check.verify(&forged.to_vec().unwrap()).is_err(), "{alg:?}");
    }
}

fn settings() -> DnsSettings {
    DnsSettings {
        servers: vec![
            "10.77.1.53:53".parse().unwrap(),
            "10.77.2.53:53".parse().unwrap(),
        ],
        zone: "example.test".into(),
        record: "www.example.test".into(),
        tsig_key_file: PathBuf::from("/etc/vigie/tsig.key"),
        verify_timeout: Duration::from_secs(120),
    }
}

#[test]
fn the_preview_is_the_nsupdate_script() {
    let p = preview(
        &settings(),
        "203.0.113.11".parse().unwrap(),
        "203.0.113.21".parse().unwrap(),
    );
    let text = p.join("\n");
    for line in [
        "update sent to 10.77.1.53:53 over TCP, signed with the TSIG key in /etc/vigie/tsig.key",
        "  server 10.77.1.53 53",
        "  zone example.test.",
        "  prereq yxrrset www.example.test. IN A 203.0.113.11",
        "  update delete www.example.test. IN A 203.0.113.11",
        "  update add www.example.test. TTL IN A 203.0.113.21",
        "then every server (10.77.1.53:53, 10.77.2.53:53) must answer 203.0.113.21 within 120 s",
    ] {
        assert!(text.contains(line), "{line}\n---\n{text}");
    }
}

#[test]
fn refusals_say_what_to_do() {
    let s = settings();
    let before = RrSet {
        addresses: vec!["203.0.113.21".parse().unwrap()],
        ttl: Some(60),
    };
    let from = "203.0.113.11".parse().unwrap();
    let m = |code, tsig| meaning(code, tsig, &s, "vigie-key", from, &before);
    assert_eq!(
        m(ResponseCode::NXRRSet, None),
        "the record no longer holds exactly 203.0.113.11: it was changed by someone or something \
         else; it held 203.0.113.21 (TTL 60 s) just before"
    );
    assert!(m(ResponseCode::NotAuth, Some("BADSIG")).contains("secret differs"));
    assert!(m(ResponseCode::NotAuth, Some("BADKEY")).contains("does not know a key"));
    assert!(
        m(ResponseCode::Refused, None)
            .contains("ACL must allow key vigie-key to update example.test")
    );
    let out = SwitchOutcome::Refused(Refusal {
        server: s.servers[0],
        rcode: 9,
        code: "NOTAUTH",
        tsig_error: Some("BADSIG".into()),
        meaning: m(ResponseCode::NotAuth, Some("BADSIG")),
    });
    assert_eq!(
        out.summary(),
        "DNS update to 10.77.1.53:53 refused: NOTAUTH, TSIG BADSIG (TSIG key vigie-key rejected: \
         the secret differs from the server's); nothing was changed"
    );
}

#[tokio::test]
async fn bad_requests_send_nothing() {
    let s = settings();
    let e = switch(
        &s,
        "203.0.113.11".parse().unwrap(),
        "2001:db8::1".parse().unwrap(),
    )
    .await;
    assert!(
        matches!(e, Err(DnsError::Request(ref r)) if r.contains("two families")),
        "{e:?}"
    );
    let e = switch(
        &s,
        "203.0.113.11".parse().unwrap(),
        "203.0.113.11".parse().unwrap(),
    )
    .await;
    assert!(matches!(e, Err(DnsError::Request(_))), "{e:?}");
    // The key file is read before anything goes on the network.
    let e = switch(
        &s,
        "203.0.113.11".parse().unwrap(),
        "203.0.113.21".parse().unwrap(),
    )
    .await;
    assert!(matches!(e, Err(DnsError::Key { .. })), "{e:?}");
}

proptest! {
    /// Reading a key file never panics, and never puts its secret in an error.
    #[test]
    fn parse_key_never_panics(text in any::<String>()) {
        if let Err(e) = parse_key(&text) {
            prop_assert!(e.line <= text.lines().count().max(1));
        }
    }

    #[test]
    fn key_shaped_text_never_panics(
        name in "[a-z\"{};. -]{0,12}",
        alg in "(hmac-)?(sha1|sha256|md5|x)",
        secret in "[A-Za-z0-9+/=\" ;]{0,20}",
        tail in "[{};\" /*#\n]{0,6}",
    ) {
        let text = format!("key {name} {{ algorithm {alg}; secret \"{secret}\"; }};{tail}");
        let _ = parse_key(&text);
        let knot = format!("key:\n  - id: {name}\n    algorithm: {alg}\n    secret: {secret}\n{tail}");
        let _ = parse_key(&knot);
    }
}
