//! `repl.glusterfs`: `gluster peer status`, `volume info all`, `volume status all` and, per
//! replicated volume, `volume heal VOL info summary` (3.13 and later) or `info` and
//! `info split-brain` (older), without the entries themselves.

use super::{Part, ReplError, failure, last, name, parts};
use crate::probe::parse::{ParseError, clean, key_value, leading_u64};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub host: String,
    /// "Peer in Cluster (Connected)", "Peer Rejected (Connected)", "… (Disconnected)".
    pub state: String,
}

impl Peer {
    pub fn connected(&self) -> bool {
        self.state.ends_with("(Connected)")
    }

    pub fn in_cluster(&self) -> bool {
        self.state.starts_with("Peer in Cluster")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brick {
    /// "server1:/data/brick1/gv0".
    pub name: String,
    /// From `volume status`; `None` when the brick is not listed there (its server is down)
    /// or the status could not be read.
    pub online: Option<bool>,
}

/// A volume's heal counts on one brick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heal {
    pub brick: String,
    /// "Connected", "Transport endpoint is not connected".
    pub status: Option<String>,
    /// Entries waiting to be healed (all of them, split-brain included).
    pub pending: Option<u64>,
    pub split_brain: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    /// "Replicate", "Distributed-Replicate", "Disperse", "Distribute"…
    pub kind: String,
    /// "Started", "Stopped", "Created".
    pub status: String,
    pub bricks: Vec<Brick>,
    /// Self-heal daemons that `volume status` shows offline ("on server2").
    pub daemons_down: Vec<String>,
    /// `volume status` listed this volume.
    pub status_read: bool,
    pub heal: Vec<Heal>,
    /// Why heal information is missing (skipped for time, or the command failed).
    pub heal_note: Option<String>,
}

impl Volume {
    pub fn started(&self) -> bool {
        self.status == "Started"
    }

    /// Holds copies: replicated or dispersed.
    pub fn redundant(&self) -> bool {
        self.kind.contains("Replicate") || self.kind.contains("Disperse")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlusterStatus {
    pub peers: Vec<Peer>,
    pub volumes: Vec<Volume>,
}

fn peers(text: &str) -> Vec<Peer> {
    let mut out = Vec::new();
    let mut host = None;
    for line in text.lines() {
        if let Some(h) = key_value(line, "Hostname") {
            host = Some(name(h));
        } else if let Some(s) = key_value(line, "State")
            && let Some(h) = host.take()
        {
            out.push(Peer {
                host: h,
                state: clean(s, 60),
            });
        }
    }
    out
}

fn info(text: &str) -> Vec<Volume> {
    let mut out: Vec<Volume> = Vec::new();
    for line in text.lines() {
        if let Some(n) = key_value(line, "Volume Name") {
            out.push(Volume {
                name: name(n),
                ..Volume::default()
            });
            continue;
        }
        let Some(v) = out.last_mut() else { continue };
        if let Some(t) = key_value(line, "Type") {
            v.kind = clean(t, 40);
        } else if let Some(s) = key_value(line, "Status") {
            v.status = clean(s, 20);
        } else if let Some((key, brick)) = line.split_once(':')
            && let Some(n) = key.strip_prefix("Brick")
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            // "Brick3: server3:/bricks/b3 (arbiter)".
            let brick = brick.trim();
            let brick = brick.split(" (").next().unwrap_or(brick);
            v.bricks.push(Brick {
                name: name(brick),
                online: None,
            });
        }
    }
    out
}

/// The rows of `volume status all`: process name, ports, `Y`/`N`, pid. A long name wraps
/// onto the next line ("Self-heal Daemon on gluster01.ru-central1.i" + "nternal   N/A …").
fn status(text: &str, volumes: &mut [Volume]) {
    let mut current: Option<usize> = None;
    let mut pending = String::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("Status of volume:") {
            let v = name(v.trim());
            current = volumes.iter().position(|x| x.name == v);
            if let Some(vol) = current.and_then(|i| volumes.get_mut(i)) {
                vol.status_read = true;
            }
            pending.clear();
            continue;
        }
        let Some(vol) = current.and_then(|i| volumes.get_mut(i)) else {
            continue;
        };
        let starts_row = [
            "Brick ",
            "Self-heal Daemon",
            "NFS Server",
            "Quota Daemon",
            "Bitrot",
            "Scrubber",
            "Snapshot Daemon",
            "Tier Daemon",
        ]
        .iter()
        .any(|p| line.starts_with(p));
        if starts_row {
            pending = line.to_string();
        } else if !pending.is_empty() && pending.len() < 1024 {
            pending.push_str(line);
        } else {
            continue;
        }
        let words: Vec<&str> = pending.split_whitespace().collect();
        let n = words.len();
        let online = match words.get(n.wrapping_sub(2)) {
            Some(&"Y") => true,
            Some(&"N") => false,
            _ => continue,
        };
        // Brick rows: "Brick host:/path TCP RDMA Online Pid" (3.7+) or "… Port Online Pid".
        if let Some(brick) = words.get(1).filter(|_| pending.starts_with("Brick "))
            && let Some(b) = vol.bricks.iter_mut().find(|b| b.name == *brick)
        {
            b.online = Some(online);
        } else if pending.starts_with("Self-heal Daemon") && !online {
            let on = pending
                .split_once(" on ")
                .and_then(|(_, r)| r.split_whitespace().next())
                .unwrap_or("?");
            vol.daemons_down.push(name(on));
        }
        pending.clear();
    }
}

/// One heal part: "Brick …", then "Status: …" and the counts.
fn heal(part: &Part<'_>, vol: &mut Volume, split_only: bool) {
    if let Some(why) = part.text.trim().strip_prefix("VIGIE_SKIPPED") {
        vol.heal_note = Some(format!("heal not read: {}", clean(why, 60)));
        return;
    }
    let mut any = false;
    let mut brick: Option<usize> = None;
    for line in part.text.lines() {
        if let Some(b) = line.strip_prefix("Brick ") {
            let b = name(b.trim());
            brick = Some(match vol.heal.iter().position(|h| h.brick == b) {
                Some(i) => i,
                None => {
                    vol.heal.push(Heal {
                        brick: b,
                        ..Heal::default()
                    });
                    vol.heal.len() - 1
                }
            });
            any = true;
            continue;
        }
        let Some(h) = brick.and_then(|i| vol.heal.get_mut(i)) else {
            continue;
        };
        if let Some(s) = key_value(line, "Status") {
            h.status = Some(clean(s, 60));
        } else if let Some(n) = key_value(line, "Number of entries in split-brain") {
            h.split_brain = leading_u64(n);
        } else if let Some(n) = key_value(line, "Total Number of entries")
            .or_else(|| key_value(line, "Number of entries").filter(|_| !split_only))
        {
            h.pending = leading_u64(n);
        }
    }
    if !any {
        vol.heal_note = Some(match failure("heal info", part) {
            ReplError::Blind(w) if part.ok() => format!("heal info: {}", clean(&w, 80)),
            e => e.to_string(),
        });
    }
}

pub fn parse(body: &str) -> Result<GlusterStatus, ReplError> {
    let parts = parts(body);
    let peer_part = last(&parts, "peers").ok_or_else(|| ParseError::new("no peer status"))?;
    if !peer_part.ok() {
        if peer_part.text.contains("Connection failed") {
            return Err(ReplError::Down(
                "glusterd not running (Connection failed)".into(),
            ));
        }
        return Err(failure("gluster peer status", peer_part));
    }
    let mut st = GlusterStatus {
        peers: peers(&peer_part.text),
        volumes: Vec::new(),
    };
    let Some(info_part) = last(&parts, "info") else {
        return Err(ParseError::new("no volume info").into());
    };
    if !info_part.ok() {
        return Err(failure("gluster volume info", info_part));
    }
    st.volumes = info(&info_part.text);
    if let Some(p) = last(&parts, "status") {
        status(&p.text, &mut st.volumes);
    }
    // The last answer of each kind counts: an `info summary` older versions refuse is
    // followed by `info` and `info split-brain`.
    for v in &mut st.volumes {
        for kind in ["heal", "split-brain"] {
            if let Some(p) = parts
                .iter()
                .rev()
                .find(|p| p.name == kind && name(p.arg) == v.name)
            {
                heal(p, v, kind == "split-brain");
            }
        }
    }
    Ok(st)
}

#[cfg(test)]
#[path = "gluster_tests.rs"]
mod tests;
