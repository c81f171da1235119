//! One DRP run at a time (SPEC §6): a lock on the DRP host, whoever the jump host and the
//! console. It is a directory, `/var/lib/vigie/lock` (see below for other users), holding an
//! `owner` file: owner (`$USER@jump host`), jump host, pid, start time, run id and a random
//! nonce. Only the nonce releases it: the run that holds it, or an operator who read it with
//! `vigie drp status` and forces a stale lock with `vigie drp unlock --nonce N`.
//!
//! Taking it is atomic: the owner file is written in a private directory first, which is then
//! renamed to the lock's path (rename(2) cannot replace a lock that holds a file), so a lock is
//! never seen without its owner. Where: `/var/lib/vigie` as root, or for another user when that
//! directory exists and is writable (one place for a team sharing a non-root account: create it
//! group-writable); otherwise the user's own state directory
//! (`${XDG_STATE_HOME:-$HOME/.local/state}/vigie`) — then two accounts would have two locks,
//! which is why the status always names the path.
//!
//! Every remote command goes through Vigie's SSH pool: a fixed command line (`sh -s`), the
//! script on its standard input, every value single-quoted.

use crate::ssh::Pool;
use jiff::Timestamp;
use std::time::Duration;

/// The first line of an owner file.
const MAGIC: &str = "vigie-lock 1";

/// The lock's remote side: POSIX sh (dash, bash), `VL_*` set before it.
const SCRIPT: &str = r#"
umask 077
if [ -n "$VL_DIR" ]; then d=$VL_DIR
elif [ "$(id -u)" = 0 ]; then d=/var/lib/vigie
elif [ -d /var/lib/vigie ] && [ -w /var/lib/vigie ]; then d=/var/lib/vigie
else d=${XDG_STATE_HOME:-$HOME/.local/state}/vigie
fi
L=$d/lock
echo "path $L"
show() {
  if [ -f "$L/owner" ]; then echo held; cat "$L/owner"; echo; echo end
  elif [ -e "$L" ]; then echo ownerless
  else echo free
  fi
}
ours() { grep -F -x -q "nonce=$VL_NONCE" "$L/owner" 2>/dev/null; }
case $VL_OP in
status) show ;;
acquire)
  mkdir -p "$d" 2>/dev/null || { echo "error cannot create $d"; exit 0; }
  t=$d/.lock-$VL_NONCE
  rm -rf "$t"
  if ! { mkdir "$t" && printf '%s\n' "$VL_OWNER" > "$t/owner"; } 2>/dev/null; then
    rm -rf "$t"; echo "error cannot write in $d"; exit 0
  fi
  # Onto an existing lock, mv either fails or moves the directory inside it: both are seen.
  if mv "$t" "$L" 2>/dev/null && [ ! -e "$L/.lock-$VL_NONCE" ] && ours; then
    echo acquired
  else
    rm -rf "$t" "$L/.lock-$VL_NONCE"; show
  fi ;;
release)
  if [ ! -e "$L" ]; then echo free
  elif ours; then
    g=$d/.released-$VL_NONCE
    if mv "$L" "$g" 2>/dev/null && rm -rf "$g"; then echo released
    else echo "error cannot remove $L"
    fi
  else echo refused; show
  fi ;;
*) echo "error unknown operation" ;;
esac
"#;

/// Who holds the lock: the content of its owner file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOwner {
    /// `$USER@jump host`.
    pub owner: String,
    pub jump_host: String,
    /// The console's process on the jump host.
    pub pid: u32,
    pub started: Timestamp,
    pub run: String,
    /// Random hex: releases the lock.
    pub nonce: String,
}

impl LockOwner {
    /// This console's ownership of run `run`, with a new nonce.
    pub fn new(run: &str, now: Timestamp) -> LockOwner {
        let op = super::journal::Operator::from_env();
        let jump_host = op.jump_host.unwrap_or_else(|| "?".into());
        LockOwner {
            owner: format!("{}@{jump_host}", op.user.unwrap_or_else(|| "?".into())),
            jump_host,
            pid: std::process::id(),
            started: now,
            run: run.to_string(),
            nonce: format!("{:016x}", rand::random::<u64>()),
        }
    }

    /// The owner file.
    pub fn render(&self) -> String {
        let v = |s: &str| one_line(s);
        format!(
            "{MAGIC}\nowner={}\njump_host={}\npid={}\nstarted={}\nrun={}\nnonce={}",
            v(&self.owner),
            v(&self.jump_host),
            self.pid,
            self.started,
            v(&self.run),
            v(&self.nonce)
        )
    }

    /// An owner file (remote text: sanitised). Pure; never panics.
    pub fn parse(text: &str) -> Result<LockOwner, String> {
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(MAGIC) {
            return Err("not a Vigie lock file".into());
        }
        let mut get = std::collections::BTreeMap::new();
        for line in lines {
            if let Some((k, v)) = line.split_once('=') {
                get.entry(k.trim())
                    .or_insert_with(|| crate::probe::parse::clean(v, 200));
            }
        }
        let field = |k: &str| {
            get.get(k)
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| format!("the lock file has no `{k}`"))
        };
        Ok(LockOwner {
            owner: field("owner")?,
            jump_host: field("jump_host")?,
            pid: field("pid")?
                .parse()
                .map_err(|_| "the lock file's pid is not a number".to_string())?,
            started: field("started")?
                .parse()
                .map_err(|_| "the lock file's start time is not a time".to_string())?,
            run: field("run")?,
            nonce: field("nonce")?,
        })
    }

    /// "alice@jump1 (pid 4242, run 20261129T031500Z-7f3a, since 2026-11-29T03:15:00Z, nonce
    /// 0123456789abcdef)".
    pub fn describe(&self) -> String {
        format!(
            "{} (pid {}, run {}, since {}, nonce {})",
            self.owner, self.pid, self.run, self.started, self.nonce
        )
    }
}

/// Control characters would break the line format: replaced.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// What the lock's status is on the host, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockStatus {
    Free {
        path: String,
    },
    Held {
        path: String,
        owner: LockOwner,
    },
    /// Something is at the lock's path without an owner file: not made by Vigie.
    Ownerless {
        path: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    #[error("another DRP run holds the lock on {host} ({path}): {}", .holder.describe())]
    Held {
        host: String,
        path: String,
        /// Boxed: keeps every `Result` of the lock small.
        holder: Box<LockOwner>,
    },
    #[error(
        "{path} on {host} exists but has no owner file: it was not made by Vigie; look at it and \
         remove it by hand"
    )]
    Ownerless { host: String, path: String },
    #[error(
        "the DRP lock on {host} is held by {}, not with nonce {nonce}: not released",
        .holder.describe()
    )]
    WrongNonce {
        host: String,
        nonce: String,
        /// Boxed: keeps every `Result` of the lock small.
        holder: Box<LockOwner>,
    },
    #[error("no DRP lock is held on {host} ({path})")]
    NotHeld { host: String, path: String },
    #[error("invalid nonce {0:?}: expected the hexadecimal nonce `vigie drp status` shows")]
    BadNonce(String),
    #[error("DRP lock on {host}: {reason}")]
    Remote { host: String, reason: String },
}

/// What the remote side answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Acquired,
    Released,
    Refused(LockStatus),
    Status(LockStatus),
    Error(String),
}

/// The script's standard input: the values, single-quoted, then the script. `None` for a NUL
/// byte in a value.
pub(crate) fn script_input(
    op: &str,
    dir: Option<&str>,
    nonce: &str,
    owner: &str,
) -> Option<Vec<u8>> {
    let q = crate::probe::sh_quote;
    Some(
        format!(
            "VL_OP={}\nVL_DIR={}\nVL_NONCE={}\nVL_OWNER={}\n{SCRIPT}",
            q(op)?,
            q(dir.unwrap_or(""))?,
            q(nonce)?,
            q(owner)?
        )
        .into_bytes(),
    )
}

/// The script's output. Pure; never panics.
pub(crate) fn parse_reply(out: &str) -> Result<(String, Reply), String> {
    let mut lines = out.lines();
    let path = lines
        .next()
        .and_then(|l| l.strip_prefix("path "))
        .map(|p| crate::probe::parse::clean(p, 300))
        .ok_or_else(|| "no answer from the lock script".to_string())?;
    let status = |first: Option<&str>, rest: &mut std::str::Lines| -> Result<LockStatus, String> {
        match first {
            Some("free") => Ok(LockStatus::Free { path: path.clone() }),
            Some("ownerless") => Ok(LockStatus::Ownerless { path: path.clone() }),
            Some("held") => {
                let file: Vec<&str> = rest.by_ref().take_while(|l| *l != "end").collect();
                Ok(LockStatus::Held {
                    path: path.clone(),
                    owner: LockOwner::parse(&file.join("\n"))?,
                })
            }
            other => Err(format!(
                "unexpected answer {:?}",
                crate::probe::parse::clean(other.unwrap_or(""), 80)
            )),
        }
    };
    let first = lines.next();
    let reply = match first {
        Some("acquired") => Reply::Acquired,
        Some("released") => Reply::Released,
        Some("refused") => {
            let next = lines.next();
            Reply::Refused(status(next, &mut lines)?)
        }
        Some(l) if l.starts_with("error ") => Reply::Error(crate::probe::parse::clean(
            l.strip_prefix("error ").unwrap_or(l),
            300,
        )),
        _ => Reply::Status(status(first, &mut lines)?),
    };
    Ok((path, reply))
}

/// The lock on one host, reached through the pool.
pub struct DrpLock<'a> {
    pool: &'a Pool,
    host: String,
    dir: Option<String>,
}

/// Bounds of one lock command: a few file operations once connected.
const FIRST_BYTE: Duration = Duration::from_secs(15);
const TOTAL: Duration = Duration::from_secs(30);

impl<'a> DrpLock<'a> {
    /// The lock on `host` (the DRP host), in its default directory.
    pub fn new(pool: &'a Pool, host: &str) -> DrpLock<'a> {
        DrpLock {
            pool,
            host: host.to_string(),
            dir: None,
        }
    }

    /// The lock in directory `dir` of the host instead (tests).
    pub fn in_dir(mut self, dir: &str) -> DrpLock<'a> {
        self.dir = Some(dir.to_string());
        self
    }

    async fn run(&self, op: &str, nonce: &str, owner: &str) -> Result<(String, Reply), LockError> {
        let remote = |reason: String| LockError::Remote {
            host: self.host.clone(),
            reason,
        };
        let stdin = script_input(op, self.dir.as_deref(), nonce, owner)
            .ok_or_else(|| remote("a NUL byte in the lock's values".into()))?;
        let (conn, _) = self
            .pool
            .get(&self.host)
            .await
            .map_err(|e| remote(e.to_string()))?;
        let out = conn
            .exec(crate::probe::COMMAND, &stdin, FIRST_BYTE, TOTAL)
            .await
            .map_err(|e| remote(e.to_string()))?;
        if out.timed_out {
            return Err(remote(format!(
                "no complete answer within {} s",
                TOTAL.as_secs()
            )));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        parse_reply(&text).map_err(|why| {
            let err = crate::probe::parse::clean(&String::from_utf8_lossy(&out.stderr), 200);
            remote(if err.is_empty() {
                why
            } else {
                format!("{why} ({err})")
            })
        })
    }

    /// Takes the lock for `owner`; refused, naming the holder, when another run holds it.
    /// Returns the lock's path on the host.
    pub async fn acquire(&self, owner: &LockOwner) -> Result<String, LockError> {
        hex(&owner.nonce)?;
        let (path, reply) = self.run("acquire", &owner.nonce, &owner.render()).await?;
        match reply {
            Reply::Acquired => Ok(path),
            Reply::Status(LockStatus::Held { owner: holder, .. }) => Err(LockError::Held {
                host: self.host.clone(),
                path,
                holder: Box::new(holder),
            }),
            Reply::Status(LockStatus::Ownerless { .. }) => Err(LockError::Ownerless {
                host: self.host.clone(),
                path,
            }),
            other => Err(self.unexpected(other)),
        }
    }

    /// Releases our lock (our nonce).
    pub async fn release(&self, nonce: &str) -> Result<(), LockError> {
        self.unlock(nonce).await.map(|_| ())
    }

    /// Forces a stale lock with the nonce its status shows (`vigie drp unlock --nonce N`);
    /// returns whose it was.
    pub async fn force_unlock(&self, nonce: &str) -> Result<Option<LockOwner>, LockError> {
        let before = match self.status().await? {
            LockStatus::Held { owner, .. } => Some(owner),
            _ => None,
        };
        self.unlock(nonce).await?;
        Ok(before.filter(|o| o.nonce == nonce))
    }

    async fn unlock(&self, nonce: &str) -> Result<(), LockError> {
        hex(nonce)?;
        let (path, reply) = self.run("release", nonce, "").await?;
        match reply {
            Reply::Released => Ok(()),
            Reply::Status(LockStatus::Free { .. }) => Err(LockError::NotHeld {
                host: self.host.clone(),
                path,
            }),
            Reply::Refused(LockStatus::Held { owner, .. }) => Err(LockError::WrongNonce {
                host: self.host.clone(),
                nonce: nonce.to_string(),
                holder: Box::new(owner),
            }),
            Reply::Refused(LockStatus::Ownerless { .. }) => Err(LockError::Ownerless {
                host: self.host.clone(),
                path,
            }),
            other => Err(self.unexpected(other)),
        }
    }

    /// Who holds the lock, if anyone. Creates nothing on the host.
    pub async fn status(&self) -> Result<LockStatus, LockError> {
        match self.run("status", "", "").await?.1 {
            Reply::Status(s) => Ok(s),
            other => Err(self.unexpected(other)),
        }
    }

    fn unexpected(&self, reply: Reply) -> LockError {
        LockError::Remote {
            host: self.host.clone(),
            reason: match reply {
                Reply::Error(e) => e,
                other => format!("unexpected answer: {other:?}"),
            },
        }
    }
}

/// A nonce is hexadecimal (it is part of a file name and of a grep on the host).
fn hex(nonce: &str) -> Result<(), LockError> {
    if nonce.is_empty() || nonce.len() > 64 || !nonce.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(LockError::BadNonce(crate::text::sanitize(nonce)));
    }
    Ok(())
}

#[cfg(test)]
#[path = "lock_tests.rs"]
mod tests;
