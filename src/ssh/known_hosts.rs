//! Strict host-key checking against an OpenSSH known_hosts file.
//!
//! Matches the way OpenSSH reads the file: plain, wildcard (`*`, `?`), negated (`!`) and
//! hashed (`|1|salt|hash`) host patterns, `[host]:port` for non-standard ports, `@revoked`
//! entries; `@cert-authority` lines are skipped (host certificates are not accepted). A line
//! that does not parse is skipped, as OpenSSH does, instead of failing the whole file.

use hmac::{Hmac, KeyInit, Mac};
use russh::keys::ssh_key::known_hosts::{Entry, HostPatterns, Marker};
use russh::keys::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;
use std::path::Path;

/// What known_hosts says about the key a server presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A recorded key of the same type matches.
    Trusted,
    /// Nothing is recorded for the host.
    Unknown,
    /// Keys of other types are recorded for the host, none of the presented type: OpenSSH
    /// would have negotiated a recorded type; a server that cannot is suspect, so this is
    /// refused even with `--accept-new`.
    OtherTypeKnown { line: usize, recorded: String },
    /// The host is trusted only through a `@cert-authority` line, and host certificates are
    /// not accepted: refused even with `--accept-new`, which would bypass the CA.
    CertAuthorityOnly { line: usize },
    /// A different key of the same type is recorded: possible man-in-the-middle.
    Changed { line: usize, recorded: String },
    /// The key is explicitly revoked.
    Revoked { line: usize },
}

/// The name under which OpenSSH records a host: `host`, or `[host]:port` off port 22.
pub fn lookup_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// SHA256 fingerprint as OpenSSH prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

fn entries(text: &str) -> impl Iterator<Item = (usize, Entry)> + '_ {
    text.lines().enumerate().filter_map(|(i, line)| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        // ssh-key wants single spaces between fields; known_hosts allows any blanks.
        let normalised = line.split_whitespace().collect::<Vec<_>>().join(" ");
        normalised.parse::<Entry>().ok().map(|e| (i + 1, e))
    })
}

/// Glob match as in OpenSSH's match_pattern: `*` any run, `?` one character.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p].eq_ignore_ascii_case(&text[t])) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

fn patterns_match(patterns: &HostPatterns, name: &str) -> bool {
    match patterns {
        HostPatterns::HashedName { salt, hash } => match Hmac::<Sha1>::new_from_slice(salt) {
            Ok(mac) => mac.chain_update(name.as_bytes()).verify_slice(hash).is_ok(),
            Err(_) => false,
        },
        HostPatterns::Patterns(list) => {
            let mut matched = false;
            for p in list {
                if let Some(neg) = p.strip_prefix('!') {
                    if glob(neg.as_bytes(), name.as_bytes()) {
                        return false;
                    }
                } else if glob(p.as_bytes(), name.as_bytes()) {
                    matched = true;
                }
            }
            matched
        }
    }
}

/// Judge `key`, presented by `host:port`, against the known_hosts text.
pub fn verdict(text: &str, host: &str, port: u16, key: &PublicKey) -> Verdict {
    let name = lookup_name(host, port);
    let mut trusted = false;
    let mut changed = None;
    let mut other_type = None;
    let mut cert_authority = None;
    for (line, entry) in entries(text) {
        if !patterns_match(entry.host_patterns(), &name) {
            continue;
        }
        let recorded = entry.public_key();
        match entry.marker() {
            Some(Marker::Revoked) => {
                if recorded.key_data() == key.key_data() {
                    return Verdict::Revoked { line };
                }
                continue;
            }
            Some(Marker::CertAuthority) => {
                cert_authority.get_or_insert(line);
                continue;
            }
            None => {}
        }
        if recorded.algorithm() != key.algorithm() {
            other_type.get_or_insert((line, fingerprint(recorded)));
        } else if recorded.key_data() == key.key_data() {
            trusted = true;
        } else {
            changed.get_or_insert((line, fingerprint(recorded)));
        }
    }
    match (trusted, changed, other_type, cert_authority) {
        (true, ..) => Verdict::Trusted,
        (false, Some((line, recorded)), ..) => Verdict::Changed { line, recorded },
        (false, None, Some((line, recorded)), _) => Verdict::OtherTypeKnown { line, recorded },
        (false, None, None, Some(line)) => Verdict::CertAuthorityOnly { line },
        (false, None, None, None) => Verdict::Unknown,
    }
}

/// Key algorithms recorded for the host, so the key exchange can ask the server for a key
/// type we can verify (as OpenSSH orders HostKeyAlgorithms by what known_hosts holds).
pub fn recorded_algorithms(text: &str, host: &str, port: u16) -> Vec<Algorithm> {
    let name = lookup_name(host, port);
    let mut algs = Vec::new();
    for (_, entry) in entries(text) {
        if entry.marker().is_none() && patterns_match(entry.host_patterns(), &name) {
            let alg = entry.public_key().algorithm();
            if !algs.contains(&alg) {
                algs.push(alg);
            }
        }
    }
    algs
}

/// Read the file; a missing file is an empty one (every host unknown).
pub fn read(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e),
    }
}

/// Append the key for `host:port` (`--accept-new`), durably: a full disk must not leave a
/// half-written line behind a message saying the key was recorded.
pub fn record(path: &Path, host: &str, port: u16, key: &PublicKey) -> Result<(), String> {
    use std::io::Write;
    let fail = |e: &dyn std::fmt::Display| {
        format!("cannot record the host key in {}: {e}", path.display())
    };
    let openssh = key.to_openssh().map_err(|e| fail(&e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    }
    let existing = read(path).map_err(|e| fail(&e))?;
    let separator = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let line = format!("{separator}{} {openssh}\n", lookup_name(host, port));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| fail(&e))?;
    file.write_all(line.as_bytes()).map_err(|e| fail(&e))?;
    file.sync_data().map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const ED_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G2sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    #[test]
    fn plain_entry_is_trusted_and_other_key_is_changed() {
        let kh = format!("# comment\n10.0.0.1   {ED_A}\n");
        assert_eq!(verdict(&kh, "10.0.0.1", 22, &key(ED_A)), Verdict::Trusted);
        assert!(matches!(
            verdict(&kh, "10.0.0.1", 22, &key(ED_B)),
            Verdict::Changed { line: 2, .. }
        ));
        assert_eq!(verdict(&kh, "10.0.0.2", 22, &key(ED_A)), Verdict::Unknown);
    }

    #[test]
    fn non_standard_port_uses_brackets() {
        let kh = format!("[h.example]:2222 {ED_A}\n");
        assert_eq!(
            verdict(&kh, "h.example", 2222, &key(ED_A)),
            Verdict::Trusted
        );
        assert_eq!(verdict(&kh, "h.example", 22, &key(ED_A)), Verdict::Unknown);
    }

    #[test]
    fn hashed_entry_matches() {
        // `ssh-keygen -H` of "example.com", from russh's own test data.
        let kh = "|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF\n";
        let k =
            key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF");
        assert_eq!(verdict(kh, "example.com", 22, &k), Verdict::Trusted);
        assert!(matches!(
            verdict(kh, "example.com", 22, &key(ED_A)),
            Verdict::Changed { line: 1, .. }
        ));
        assert_eq!(verdict(kh, "example.org", 22, &k), Verdict::Unknown);
        assert_eq!(
            recorded_algorithms(kh, "example.com", 22),
            vec![Algorithm::Ed25519]
        );
        assert!(recorded_algorithms(kh, "example.org", 22).is_empty());
    }

    #[test]
    fn wildcards_and_negation() {
        let kh = format!("*.dc1.example,!bad.dc1.example {ED_A}\n");
        assert_eq!(
            verdict(&kh, "prod.dc1.example", 22, &key(ED_A)),
            Verdict::Trusted
        );
        assert_eq!(
            verdict(&kh, "bad.dc1.example", 22, &key(ED_A)),
            Verdict::Unknown
        );
    }

    #[test]
    fn revoked_key_is_refused_even_if_also_listed() {
        let kh = format!("h {ED_A}\n@revoked * {ED_A}\n");
        assert_eq!(
            verdict(&kh, "h", 22, &key(ED_A)),
            Verdict::Revoked { line: 2 }
        );
    }

    #[test]
    fn a_key_of_another_type_or_a_cert_authority_alone_is_not_unknown() {
        const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDdASTY7w91oMPZys+Uro8iF0zzBfzs9ti/RZxLwMij2b5rRrpsk7vjBiaF5cjuadF1y4kTwbksasnbMwN0NON3yad9oO4TpIzznkmJH33s2BU5HFaeP35sYzJkhF6wpowLHmyqrNwTFOtJJwBxODgwpM8UpMhQ86SAfhk/ir79pw==";
        let kh = format!("h {RSA}\n");
        assert!(matches!(
            verdict(&kh, "h", 22, &key(ED_A)),
            Verdict::OtherTypeKnown { line: 1, .. }
        ));
        let ca = format!("@cert-authority *.example {ED_B}\n");
        assert_eq!(
            verdict(&ca, "h.example", 22, &key(ED_A)),
            Verdict::CertAuthorityOnly { line: 1 }
        );
    }

    #[test]
    fn recording_appends_a_line_that_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_hosts");
        record(&path, "10.0.0.9", 2222, &key(ED_A)).unwrap();
        let text = read(&path).unwrap();
        assert_eq!(
            verdict(&text, "10.0.0.9", 2222, &key(ED_A)),
            Verdict::Trusted
        );
        assert!(text.starts_with("[10.0.0.9]:2222 ssh-ed25519 "));
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let kh = format!("h ssh-ed25519 notbase64\n\u{1b}[31m junk\nh {ED_A}\n");
        assert_eq!(verdict(&kh, "h", 22, &key(ED_A)), Verdict::Trusted);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".*", host in "[a-z.*?!]{0,12}") {
            let _ = verdict(&text, &host, 22, &key(ED_A));
            let _ = glob(host.as_bytes(), text.as_bytes());
        }
    }
}
