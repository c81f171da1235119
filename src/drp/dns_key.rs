//! TSIG keys (RFC 8945): the key file, and signing an update / checking the server's answer.
//!
//! The file is BIND's key-file format, as `tsig-keygen` and `ddns-confgen` write it
//! (`key "NAME" { algorithm hmac-sha256; secret "BASE64"; };`, with `#`, `//` and `/* */`
//! comments). Knot's `keymgr -t NAME ALGORITHM` prints its own YAML instead (`key:` / `- id:` /
//! `algorithm:` / `secret:`): that is accepted too, so that the file Knot's administrators
//! already have works as is.
//!
//! hmac-sha256/384/512 are signed by hickory's `TSigner`. hickory does not sign with
//! hmac-sha1, which older BIND set-ups still use: that one is signed here, with hickory's own
//! TSIG encoding and the RustCrypto HMAC the crate already uses for known_hosts.

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::tsig::{
    TSIG, TsigAlgorithm, make_tsig_record, message_tbs, signed_bitmessage_to_buf,
};
use hickory_proto::rr::{Name, TSigVerifier, TSigner};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use std::fmt;

/// Seconds of clock difference the server tolerates (RFC 8945 recommends 300).
const FUDGE: u16 = 300;

/// The HMAC of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "hmac-sha1",
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha384 => "hmac-sha384",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// A note for the operator about this algorithm, if any.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Algorithm::HmacSha1 => Some(
                "hmac-sha1 is accepted for existing set-ups, but RFC 8945 recommends \
                 hmac-sha256: generate a new key when you can",
            ),
            _ => None,
        }
    }

    /// As BIND reads it: case-insensitive, the `hmac-` prefix optional.
    fn from_text(text: &str) -> Result<Algorithm, String> {
        let t = text.to_ascii_lowercase();
        let t = t.strip_prefix("hmac-").unwrap_or(&t);
        match t {
            "sha1" => Ok(Algorithm::HmacSha1),
            "sha256" => Ok(Algorithm::HmacSha256),
            "sha384" => Ok(Algorithm::HmacSha384),
            "sha512" => Ok(Algorithm::HmacSha512),
            "md5" | "md5.sig-alg.reg.int" | "sha224" => Err(format!(
                "algorithm {} is not supported: generate an hmac-sha256 key \
                 (tsig-keygen -a hmac-sha256 NAME, or keymgr -t NAME hmac-sha256)",
                crate::probe::parse::clean(text, 40)
            )),
            _ => Err(format!(
                "unknown algorithm {:?}: expected hmac-sha256, hmac-sha384, hmac-sha512 or \
                 hmac-sha1",
                crate::probe::parse::clean(text, 40)
            )),
        }
    }

    fn hickory(self) -> TsigAlgorithm {
        match self {
            Algorithm::HmacSha1 => TsigAlgorithm::HmacSha1,
            Algorithm::HmacSha256 => TsigAlgorithm::HmacSha256,
            Algorithm::HmacSha384 => TsigAlgorithm::HmacSha384,
            Algorithm::HmacSha512 => TsigAlgorithm::HmacSha512,
        }
    }
}

/// Key material: never printed (its Debug is `***`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A TSIG key read from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigKey {
    /// The key's name, as the server knows it (lowercase, no trailing dot).
    pub name: String,
    pub algorithm: Algorithm,
    secret: Secret,
}

/// What is wrong with a key file, and on which line (0: the file as a whole). Never holds the
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    pub line: usize,
    pub reason: String,
}

impl KeyError {
    fn at(line: usize, reason: impl Into<String>) -> KeyError {
        KeyError {
            line,
            reason: reason.into(),
        }
    }
}

const EXPECTED: &str = "expected a key file: key \"NAME\" { algorithm hmac-sha256; secret \
                        \"BASE64\"; }; (as tsig-keygen writes it), or Knot's keymgr -t output";

/// Reads a key file's text.
pub fn parse_key(text: &str) -> Result<TsigKey, KeyError> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"));
    if first == Some("key:") {
        return parse_knot(text);
    }
    parse_bind(text)
}

// ---------------------------------------------------------------------------------------------
// BIND

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Punct(char),
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, KeyError> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => while chars.next_if(|&c| c != '\n').is_some() {},
            '/' if chars.peek() == Some(&'/') => while chars.next_if(|&c| c != '\n').is_some() {},
            '/' if chars.peek() == Some(&'*') => {
                let start = line;
                chars.next();
                let mut last = ' ';
                loop {
                    match chars.next() {
                        None => return Err(KeyError::at(start, "unclosed /* comment")),
                        Some('/') if last == '*' => break,
                        Some(n) => {
                            line += usize::from(n == '\n');
                            last = n;
                        }
                    }
                }
            }
            '"' => {
                let start = line;
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(KeyError::at(start, "unclosed quoted string")),
                        Some('"') => break,
                        Some('\\') => {
                            if let Some(n) = chars.next() {
                                line += usize::from(n == '\n');
                                s.push(n);
                            }
                        }
                        Some(n) => {
                            line += usize::from(n == '\n');
                            s.push(n);
                        }
                    }
                }
                out.push((Tok::Str(s), start));
            }
            '{' | '}' | ';' => out.push((Tok::Punct(c), line)),
            _ => {
                let mut w = String::from(c);
                while let Some(n) =
                    chars.next_if(|&n| !n.is_whitespace() && !matches!(n, '{' | '}' | ';' | '"'))
                {
                    w.push(n);
                }
                out.push((Tok::Word(w), line));
            }
        }
    }
    Ok(out)
}

fn parse_bind(text: &str) -> Result<TsigKey, KeyError> {
    let toks = tokenize(text)?;
    let mut it = toks.into_iter().peekable();
    let last_line = text.lines().count().max(1);
    let mut key: Option<TsigKey> = None;
    while let Some((tok, line)) = it.next() {
        if tok != Tok::Word("key".into()) {
            return Err(KeyError::at(
                line,
                format!("unexpected {}: {EXPECTED}", describe(&tok)),
            ));
        }
        if key.is_some() {
            return Err(KeyError::at(
                line,
                "a second key: the file must hold only the key vigie signs with",
            ));
        }
        let (name, name_line) = match it.next() {
            Some((Tok::Str(s) | Tok::Word(s), l)) => (s, l),
            Some((t, l)) => {
                return Err(KeyError::at(
                    l,
                    format!(
                        "expected the key's name after `key`, found {}",
                        describe(&t)
                    ),
                ));
            }
            None => return Err(KeyError::at(line, "expected the key's name after `key`")),
        };
        expect(&mut it, '{', name_line)?;
        let mut algorithm = None;
        let mut secret = None;
        loop {
            let Some((tok, l)) = it.next() else {
                return Err(KeyError::at(last_line, "unclosed `{`: expected `};`"));
            };
            match tok {
                Tok::Punct('}') => break,
                Tok::Word(w) if w.eq_ignore_ascii_case("algorithm") => {
                    let value = value(&mut it, "algorithm", l)?;
                    algorithm = Some((
                        Algorithm::from_text(&value).map_err(|r| KeyError::at(l, r))?,
                        l,
                    ));
                }
                Tok::Word(w) if w.eq_ignore_ascii_case("secret") => {
                    secret = Some((value(&mut it, "secret", l)?, l));
                }
                other => {
                    return Err(KeyError::at(
                        l,
                        format!(
                            "unexpected {} in key {:?}: expected `algorithm` or `secret`",
                            describe(&other),
                            crate::probe::parse::clean(&name, 60)
                        ),
                    ));
                }
            }
        }
        expect(&mut it, ';', last_line)?;
        key = Some(build(&name, name_line, algorithm, secret)?);
    }
    key.ok_or_else(|| KeyError::at(0, format!("no key in the file: {EXPECTED}")))
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("`{}`", crate::probe::parse::clean(w, 40)),
        Tok::Str(_) => "a quoted string".into(),
        Tok::Punct(c) => format!("`{c}`"),
    }
}

fn expect(
    it: &mut impl Iterator<Item = (Tok, usize)>,
    want: char,
    line: usize,
) -> Result<(), KeyError> {
    match it.next() {
        Some((Tok::Punct(c), _)) if c == want => Ok(()),
        Some((t, l)) => Err(KeyError::at(
            l,
            format!("expected `{want}`, found {}", describe(&t)),
        )),
        None => Err(KeyError::at(line, format!("expected `{want}` at the end"))),
    }
}

/// `VALUE ;` after `algorithm` or `secret`.
fn value(
    it: &mut impl Iterator<Item = (Tok, usize)>,
    what: &str,
    line: usize,
) -> Result<String, KeyError> {
    let v = match it.next() {
        Some((Tok::Word(s) | Tok::Str(s), _)) => s,
        Some((t, l)) => {
            return Err(KeyError::at(
                l,
                format!("expected a value after `{what}`, found {}", describe(&t)),
            ));
        }
        None => {
            return Err(KeyError::at(
                line,
                format!("expected a value after `{what}`"),
            ));
        }
    };
    expect(it, ';', line)?;
    Ok(v)
}

fn build(
    name: &str,
    name_line: usize,
    algorithm: Option<(Algorithm, usize)>,
    secret: Option<(String, usize)>,
) -> Result<TsigKey, KeyError> {
    let shown = crate::probe::parse::clean(name, 60);
    let trimmed = name.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    let valid = !trimmed.is_empty()
        && trimmed.len() <= 253
        && trimmed.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        });
    let key_name = valid.then(|| trimmed.to_ascii_lowercase()).ok_or_else(|| {
        KeyError::at(
            name_line,
            format!("invalid key name {shown:?}: expected a DNS name such as \"vigie-key\""),
        )
    })?;
    let Some((algorithm, _)) = algorithm else {
        return Err(KeyError::at(
            name_line,
            format!("key {shown:?} has no `algorithm`: expected e.g. algorithm hmac-sha256;"),
        ));
    };
    let Some((secret, secret_line)) = secret else {
        return Err(KeyError::at(
            name_line,
            format!("key {shown:?} has no `secret`"),
        ));
    };
    // BIND accepts base64 split by blanks.
    let compact: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = data_encoding::BASE64
        .decode(compact.as_bytes())
        .map_err(|_| {
            KeyError::at(
                secret_line,
                "the secret is not valid base64 (it is not shown here)",
            )
        })?;
    if bytes.is_empty() {
        return Err(KeyError::at(secret_line, "the secret is empty"));
    }
    Ok(TsigKey {
        name: key_name,
        algorithm,
        secret: Secret(bytes),
    })
}

// ---------------------------------------------------------------------------------------------
// Knot (keymgr -t)

fn parse_knot(text: &str) -> Result<TsigKey, KeyError> {
    let mut name = None;
    let mut algorithm = None;
    let mut secret = None;
    let mut seen_key = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if l == "key:" && !seen_key {
            seen_key = true;
            continue;
        }
        let (field, item_start) = match l.strip_prefix("- ") {
            Some(rest) => (rest.trim_start(), true),
            None => (l, false),
        };
        let Some((k, v)) = field.split_once(':') else {
            return Err(KeyError::at(
                line,
                format!("expected `field: value` in Knot's key list, {EXPECTED}"),
            ));
        };
        let v = unquote(v.trim());
        match (k.trim(), item_start) {
            ("id", true) if name.is_none() => name = Some((v, line)),
            ("id", true) => {
                return Err(KeyError::at(
                    line,
                    "a second key: the file must hold only the key vigie signs with",
                ));
            }
            (_, true) => {
                return Err(KeyError::at(line, "each key starts with `- id: NAME`"));
            }
            ("algorithm", false) if name.is_some() => {
                algorithm = Some((
                    Algorithm::from_text(&v).map_err(|r| KeyError::at(line, r))?,
                    line,
                ));
            }
            ("secret", false) if name.is_some() => secret = Some((v, line)),
            (other, _) => {
                return Err(KeyError::at(
                    line,
                    format!(
                        "unexpected `{}` in Knot's key list: expected `- id:`, `algorithm:` \
                         and `secret:`",
                        crate::probe::parse::clean(other, 40)
                    ),
                ));
            }
        }
    }
    let Some((name, name_line)) = name else {
        return Err(KeyError::at(0, format!("no key in the file: {EXPECTED}")));
    };
    build(&name, name_line, algorithm, secret)
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    v.to_string()
}

// ---------------------------------------------------------------------------------------------
// Signing

/// Checks the server's signature on its answer to a request signed by [`sign`].
pub(super) enum AnswerCheck {
    Hickory(TSigVerifier),
    Sha1 {
        key: Vec<u8>,
        name: Name,
        request_mac: Vec<u8>,
        request_time: u64,
    },
}

/// Signs `message` (its id set, nothing to change after) with `key` at `now` (Unix seconds).
pub(super) fn sign(message: &mut Message, key: &TsigKey, now: u64) -> Result<AnswerCheck, String> {
    let name = Name::from_ascii(&key.name).map_err(|e| format!("key name {}: {e}", key.name))?;
    if key.algorithm != Algorithm::HmacSha1 {
        let signer = TSigner::new(key.secret.0.clone(), key.algorithm.hickory(), name, FUDGE)
            .map_err(|e| format!("TSIG key {}: {e}", key.name))?;
        return match message.finalize(&signer, now) {
            Ok(Some(v)) => Ok(AnswerCheck::Hickory(v)),
            Ok(None) => Err("the update could not be signed".into()),
            Err(e) => Err(format!("signing with key {}: {e}", key.name)),
        };
    }
    let mut name = name;
    name.set_fqdn(true);
    let stub = TSIG::new(
        TsigAlgorithm::HmacSha1,
        now,
        FUDGE,
        Vec::new(),
        message.metadata.id,
        None,
        Vec::new(),
    );
    let tbs = message_tbs(&*message, &stub, &name).map_err(|e| format!("signing: {e}"))?;
    let mac = hmac_sha1(&key.secret.0, &tbs)?;
    message.set_signature(Box::new(make_tsig_record(
        name.clone(),
        stub.set_mac(mac.clone()),
    )));
    Ok(AnswerCheck::Sha1 {
        key: key.secret.0.clone(),
        name,
        request_mac: mac,
        request_time: now,
    })
}

impl AnswerCheck {
    /// `Ok` when `answer` (the raw message) carries the server's valid signature.
    pub(super) fn verify(&mut self, answer: &[u8]) -> Result<(), String> {
        match self {
            AnswerCheck::Hickory(v) => v.verify(answer).map(|_| ()).map_err(|e| e.to_string()),
            AnswerCheck::Sha1 {
                key,
                name,
                request_mac,
                request_time,
            } => {
                let (tbv, record) = signed_bitmessage_to_buf(answer, Some(request_mac), true)
                    .map_err(|e| e.to_string())?;
                if record.name != *name || record.data.algorithm != TsigAlgorithm::HmacSha1 {
                    return Err("signed with another key".into());
                }
                let mut mac = Hmac::<Sha1>::new_from_slice(key).map_err(|e| e.to_string())?;
                mac.update(&tbv);
                mac.verify_slice(&record.data.mac)
                    .map_err(|_| "bad signature".to_string())?;
                let t = record.data.time;
                let fudge = u64::from(record.data.fudge);
                if t.saturating_add(fudge) < *request_time
                    || t.saturating_sub(fudge) > *request_time
                {
                    return Err("signature out of its time window".into());
                }
                Ok(())
            }
        }
    }
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).map_err(|e| e.to_string())?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().to_vec())
}

#[cfg(test)]
impl TsigKey {
    /// A key from its parts (tests).
    pub(super) fn for_tests(name: &str, algorithm: Algorithm, secret: &[u8]) -> TsigKey {
        TsigKey {
            name: name.into(),
            algorithm,
            secret: Secret(secret.to_vec()),
        }
    }
}
