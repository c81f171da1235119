//! Public-key authentication: identity files first (as OpenSSH orders them), then ssh-agent.

use russh::client::Handle;
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// OpenSSH's default identity files, used when neither the config nor ~/.ssh/config names one.
pub fn default_identities() -> Vec<PathBuf> {
    match std::env::var_os("HOME") {
        Some(home) => ["id_ed25519", "id_ecdsa", "id_rsa"]
            .iter()
            .map(|f| Path::new(&home).join(".ssh").join(f))
            .collect(),
        None => Vec::new(),
    }
}

enum Loaded {
    Key(Arc<PrivateKey>),
    Skip(String),
}

fn load(path: &Path) -> Loaded {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Loaded::Skip(String::new()),
        Err(e) => Loaded::Skip(format!("{}: {e}", path.display())),
        Ok(text) => match russh::keys::decode_secret_key(&text, None) {
            Ok(k) => Loaded::Key(Arc::new(k)),
            Err(russh::keys::Error::KeyIsEncrypted) => Loaded::Skip(format!(
                "{}: encrypted (load it into ssh-agent)",
                path.display()
            )),
            Err(e) => Loaded::Skip(format!("{}: unreadable key ({e})", path.display())),
        },
    }
}

/// The signature hash an RSA key must use with this server (SHA-2 when it says it accepts
/// it); `None` for other key types.
async fn rsa_hash<H: russh::client::Handler>(
    handle: &Handle<H>,
    algorithm: russh::keys::Algorithm,
) -> Option<russh::keys::HashAlg> {
    if !algorithm.is_rsa() {
        return None;
    }
    handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
}

/// Try every identity, then every agent key. Returns what was tried, for the error message.
pub async fn authenticate<H: russh::client::Handler>(
    handle: &mut Handle<H>,
    user: &str,
    identities: &[PathBuf],
) -> Result<(), String> {
    let mut tried: Vec<String> = Vec::new();
    for path in identities {
        let key = match load(path) {
            Loaded::Key(k) => k,
            Loaded::Skip(why) => {
                if !why.is_empty() {
                    tried.push(why);
                }
                continue;
            }
        };
        let hash = rsa_hash(handle, key.algorithm()).await;
        match handle
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key, hash))
            .await
        {
            Ok(r) if r.success() => return Ok(()),
            Ok(_) => tried.push(format!("{} (refused)", path.display())),
            Err(e) => {
                tried.push(format!("{} ({e})", path.display()));
                return Err(tried.join(", "));
            }
        }
    }
    if std::env::var_os("SSH_AUTH_SOCK").is_some() {
        match AgentClient::connect_env().await {
            Err(e) => tried.push(format!("ssh-agent unreachable ({e})")),
            Ok(mut agent) => {
                let ids = match agent.request_identities().await {
                    Ok(ids) => ids,
                    Err(e) => {
                        tried.push(format!("ssh-agent refused to list its keys ({e})"));
                        Vec::new()
                    }
                };
                if ids.is_empty() && !tried.iter().any(|t| t.starts_with("ssh-agent")) {
                    tried.push("ssh-agent (no keys)".into());
                }
                for id in ids {
                    let AgentIdentity::PublicKey { key, comment } = id else {
                        continue;
                    };
                    let hash = rsa_hash(handle, key.algorithm()).await;
                    match handle
                        .authenticate_publickey_with(user, key, hash, &mut agent)
                        .await
                    {
                        Ok(r) if r.success() => return Ok(()),
                        Ok(_) => tried.push(format!("agent key {comment} (refused)")),
                        Err(e) => tried.push(format!("agent key {comment} ({e:?})")),
                    }
                }
            }
        }
    }
    if tried.is_empty() {
        tried.push("no identity file found and no ssh-agent".into());
    }
    Err(tried.join(", "))
}
