//! `repl.pacemaker` / `repl.heartbeat`: the cluster manager, from `crm_mon` (XML of
//! pacemaker 2.x `--output-as=xml` or 1.1 `--as-xml`, else text of either) or, for heartbeat v1
//! clusters without Pacemaker, `cl_status`.

use super::xml::{Element, elements};
use super::{Part, ReplError, failure, last, name, parts};
use crate::probe::parse::{ParseError, clean};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A full cluster member.
    Member,
    /// A Pacemaker remote or guest node (bundle, VM).
    Remote,
    /// A heartbeat ping node (a router the cluster pings).
    Ping,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    pub online: bool,
    pub standby: bool,
    pub maintenance: bool,
    /// Lost without being fenced: the cluster cannot know what it runs.
    pub unclean: bool,
    /// Joining.
    pub pending: bool,
}

impl Node {
    fn new(n: &str, kind: NodeKind) -> Node {
        Node {
            name: name(n),
            kind,
            online: false,
            standby: false,
            maintenance: false,
            unclean: false,
            pending: false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterStatus {
    /// Heartbeat v1 (cl_status) rather than Pacemaker.
    pub heartbeat: bool,
    /// corosync's cluster_name.
    pub name: Option<String>,
    /// The designated controller; `None` when there is none (or heartbeat).
    pub dc: Option<String>,
    /// `None` when the output does not say.
    pub quorum: Option<bool>,
    pub nodes: Vec<Node>,
    /// Resource instances active (started, promoted, unpromoted…).
    pub active: usize,
    /// Resources the cluster marks failed (ids).
    pub failed: Vec<String>,
    /// Resources the cluster does not manage, or blocked (ids).
    pub unmanaged: Vec<String>,
    /// Failed operations still recorded: "WebSite_start_0 on pcmk-1: not running".
    pub failed_actions: Vec<String>,
    /// `maintenance-mode=true`: the cluster manages nothing.
    pub maintenance: bool,
    /// Heartbeat v1: which resources this node holds (all, local, foreign, none, transition).
    pub resources_held: Option<String>,
}

/// The cluster as this node sees it.
pub fn parse(body: &str) -> Result<ClusterStatus, ReplError> {
    let parts = parts(body);
    let cluster_name = last(&parts, "name")
        .map(|p| name(p.text.trim()))
        .filter(|n| !n.is_empty());
    if parts.iter().any(|p| p.name == "hbstatus") {
        return heartbeat(&parts);
    }
    let answer = parts
        .iter()
        .rev()
        .find(|p| p.name == "xml" || p.name == "text")
        .ok_or_else(|| ParseError::new("crm_mon: no output"))?;
    let mut status =
        if answer.text.contains("<pacemaker-result") || answer.text.contains("<crm_mon") {
            from_xml(answer)?
        } else if answer.ok() {
            from_text(&answer.text)?
        } else {
            return Err(crm_failure(answer));
        };
    status.name = cluster_name;
    Ok(status)
}

/// crm_mon could not connect: the cluster stack is down on this node (or Vigie may not look).
fn crm_failure(part: &Part<'_>) -> ReplError {
    let t = &part.text;
    let lower = t.to_ascii_lowercase();
    // "Connection to cluster failed: Permission denied" is Vigie not allowed to look (not in
    // haclient), not the cluster down.
    if lower.contains("permission") || lower.contains("not permitted") || lower.contains("sudo:") {
        return failure("crm_mon", part);
    }
    if t.contains("not available on this node")
        || t.contains("Transport endpoint is not connected")
        || t.contains("Connection to cluster failed")
        || t.contains("Not connected")
        || t.contains("Connection refused")
    {
        ReplError::Down(format!(
            "cluster stack not running on this node ({})",
            part.excerpt()
        ))
    } else {
        failure("crm_mon", part)
    }
}

fn from_xml(part: &Part<'_>) -> Result<ClusterStatus, ReplError> {
    let all = elements(&part.text);
    // pacemaker 2.x reports its own failure inside the XML.
    if let Some(s) = all
        .iter()
        .find(|e| e.name == "status" && e.under("pacemaker-result"))
        && s.attr("code").is_some_and(|c| c != "0")
    {
        let errors: Vec<&str> = all
            .iter()
            .filter(|e| e.name == "error" && e.within("status"))
            .map(|e| e.text.trim())
            .collect();
        let why = if errors.is_empty() {
            s.attr("message").unwrap_or("").to_string()
        } else {
            errors.join(" / ")
        };
        let failed = Part {
            name: "xml",
            arg: "",
            text: why,
            rc: part.rc,
        };
        return Err(crm_failure(&failed));
    }
    if !all.iter().any(|e| e.name == "summary" || e.name == "nodes") {
        return Err(ParseError::new("crm_mon XML without summary or nodes").into());
    }
    let mut st = ClusterStatus::default();
    for e in &all {
        match e.name {
            "current_dc" if e.under("summary") => {
                st.dc = (e.attr("present") != Some("false"))
                    .then(|| e.attr("name").map(name))
                    .flatten();
                st.quorum = e.attr("with_quorum").map(|q| q == "true");
            }
            "cluster_options" => st.maintenance = e.is("maintenance-mode"),
            "node" if e.under("nodes") => st.nodes.push(xml_node(e)),
            "resource" if e.within("resources") || e.under("node") => {
                let id = e.attr("id").map(name).unwrap_or_default();
                if e.is("active") {
                    st.active += 1;
                }
                if e.is("failed") && !st.failed.contains(&id) {
                    st.failed.push(id.clone());
                }
                if (e.attr("managed") == Some("false") || e.is("blocked"))
                    && !st.unmanaged.contains(&id)
                {
                    st.unmanaged.push(id);
                }
            }
            "failure" if e.under("failures") => {
                let what = e.attr("op_key").or(e.attr("id")).unwrap_or("?");
                let on = e.attr("node").unwrap_or("?");
                let why = e.attr("exitstatus").or(e.attr("status")).unwrap_or("?");
                st.failed_actions
                    .push(clean(&format!("{what} on {on}: {why}"), 120));
            }
            _ => {}
        }
    }
    Ok(st)
}

fn xml_node(e: &Element<'_>) -> Node {
    let kind = match e.attr("type") {
        Some("remote" | "guest") => NodeKind::Remote,
        Some("ping") => NodeKind::Ping,
        _ => NodeKind::Member,
    };
    let mut n = Node::new(e.attr("name").unwrap_or("?"), kind);
    n.online = e.is("online");
    n.standby = e.is("standby") || e.is("standby_onfail");
    n.maintenance = e.is("maintenance");
    n.unclean = e.is("unclean");
    n.pending = e.is("pending");
    n
}

/// The names in "Online: [ a b ]".
fn bracket_list(s: &str) -> Vec<&str> {
    let inner = s
        .split_once('[')
        .and_then(|(_, r)| r.rsplit_once(']'))
        .map(|(i, _)| i)
        .unwrap_or("");
    inner.split_whitespace().collect()
}

/// `crm_mon -1` text, pacemaker 1.1 ("Online: [ a b ]", "Failed Actions:") and 2.x (the same
/// lines as "  * Online: [ a b ]", "Failed Resource Actions:").
fn from_text(text: &str) -> Result<ClusterStatus, ReplError> {
    let mut st = ClusterStatus::default();
    let mut seen = false;
    let mut in_failed = false;
    let node = |st: &mut ClusterStatus, n: &str, kind: NodeKind| -> usize {
        let n = name(n);
        match st.nodes.iter().position(|x| x.name == n) {
            Some(i) => i,
            None => {
                st.nodes.push(Node::new(&n, kind));
                st.nodes.len() - 1
            }
        }
    };
    for raw in text.lines() {
        let line = raw.trim();
        let item = line.strip_prefix("* ").unwrap_or(line);
        if line.is_empty() {
            in_failed = false;
            continue;
        }
        if let Some(dc) = item.strip_prefix("Current DC:") {
            seen = true;
            let dc = dc.trim();
            st.dc = (!dc.starts_with("NONE"))
                .then(|| dc.split_whitespace().next().map(name))
                .flatten();
            st.quorum = if dc.contains("WITHOUT quorum") {
                Some(false)
            } else if dc.contains("with quorum") {
                Some(true)
            } else {
                None
            };
            continue;
        }
        let lists: [(&str, NodeKind, bool); 6] = [
            ("Online:", NodeKind::Member, true),
            ("OFFLINE:", NodeKind::Member, false),
            ("RemoteOnline:", NodeKind::Remote, true),
            ("RemoteOFFLINE:", NodeKind::Remote, false),
            ("GuestOnline:", NodeKind::Remote, true),
            ("GuestOFFLINE:", NodeKind::Remote, false),
        ];
        if let Some((list, kind, online)) = lists.iter().find(|(p, ..)| item.starts_with(p)) {
            seen = true;
            for n in bracket_list(item) {
                // "httpd-bundle-0@cluster01": the guest, then where it runs.
                let n = match n.split_once('@') {
                    Some((guest, _)) if list.starts_with("Guest") => guest,
                    _ => n,
                };
                let i = node(&mut st, n, *kind);
                if let Some(x) = st.nodes.get_mut(i) {
                    x.online = *online;
                }
            }
            continue;
        }
        // "Node pcmk-1: standby", "Node node1: UNCLEAN (offline)", "Node x: OFFLINE (standby)".
        if let Some(rest) = item.strip_prefix("Node ")
            && let Some((n, state)) = rest.split_once(':')
            && !n.contains(char::is_whitespace)
            && !state.trim().is_empty()
        {
            seen = true;
            let i = node(&mut st, n, NodeKind::Member);
            if let Some(x) = st.nodes.get_mut(i) {
                let s = state.to_ascii_lowercase();
                x.online = !s.contains("offline") && !s.contains("unclean");
                x.standby = s.contains("standby");
                x.maintenance = s.contains("maintenance");
                x.unclean = s.contains("unclean");
                x.pending = s.contains("pending");
            }
            continue;
        }
        if item.starts_with("Failed Actions") || item.starts_with("Failed Resource Actions") {
            in_failed = true;
            continue;
        }
        if in_failed {
            if line.starts_with("* ") {
                // "WebSite_start_0 on pcmk-1 'not running' (7): call=…"
                let mut quoted = item.split('\'');
                let what = quoted.next().unwrap_or("").trim();
                let action = match quoted.next() {
                    Some(why) => format!("{what}: {why}"),
                    None => what.to_string(),
                };
                st.failed_actions.push(clean(&action, 120));
            }
            continue;
        }
        if line.ends_with(':') && !line.contains('(') {
            continue;
        }
        // A resource line: "ClusterIP\t(ocf::heartbeat:IPaddr2):\t Started pcmk-1",
        // "* mysql\t(lsb:mysql):\t FAILED node1 (unmanaged)".
        if let Some((id, rest)) = item.split_once('(')
            && rest.contains("):")
        {
            let id = name(id.trim());
            let words = rest.rsplit_once("):").map(|(_, w)| w).unwrap_or("");
            if words.contains("FAILED") {
                st.failed.push(id.clone());
            } else if words.contains("Started")
                || words.contains("Promoted")
                || words.contains("Unpromoted")
                || words.contains("Master")
                || words.contains("Slave")
            {
                st.active += 1;
            }
            if words.contains("unmanaged") || words.contains("blocked") {
                st.unmanaged.push(id);
            }
        } else if let Some((state, list)) = item.split_once(':')
            && matches!(
                state,
                "Started" | "Masters" | "Slaves" | "Promoted" | "Unpromoted"
            )
        {
            // Clone instances: "Started: [ cluster01 cluster02 ]".
            st.active += bracket_list(list).len();
        }
        if line.contains("maintenance-mode") || line.contains("Resource management is DISABLED") {
            st.maintenance = true;
        }
    }
    if !seen {
        return Err(ParseError::new("crm_mon text without DC or node lines").into());
    }
    Ok(st)
}

/// Heartbeat v1: `cl_status hbstatus`, `listnodes`, `nodestatus NODE`, `rscstatus`.
fn heartbeat(parts: &[Part<'_>]) -> Result<ClusterStatus, ReplError> {
    let hb = last(parts, "hbstatus").ok_or_else(|| ParseError::new("no hbstatus"))?;
    if hb.text.contains("is stopped") {
        return Err(ReplError::Down("heartbeat is stopped on this node".into()));
    }
    if hb.text.contains("refuses my connection") {
        return Err(ReplError::Blind(
            "heartbeat refuses cl_status's connection (not root or hacluster?)".into(),
        ));
    }
    if !hb.ok() || !hb.text.contains("is running") {
        return Err(failure("cl_status hbstatus", hb));
    }
    let mut st = ClusterStatus {
        heartbeat: true,
        ..ClusterStatus::default()
    };
    for p in parts.iter().filter(|p| p.name == "node") {
        let status = p.text.trim();
        let mut n = Node::new(
            p.arg,
            if status == "ping" {
                NodeKind::Ping
            } else {
                NodeKind::Member
            },
        );
        // cl_status: "active", "up" and "ping" are alive; anything else ("dead") is not.
        n.online = matches!(status, "active" | "up" | "ping");
        n.pending = status == "up";
        st.nodes.push(n);
    }
    if st.nodes.is_empty()
        && let Some(p) = last(parts, "nodes")
        && !p.ok()
    {
        return Err(failure("cl_status listnodes", p));
    }
    st.resources_held = last(parts, "resources")
        .filter(|p| p.ok())
        .map(|p| clean(p.text.trim(), 20))
        .filter(|r| !r.is_empty());
    Ok(st)
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
