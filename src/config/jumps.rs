//! OpenSSH resolution and jumps: the graph of hosts that fills each `[[hosts]]` entry from
//! OpenSSH's configuration, resolves `jump` / ProxyJump chains (synthesising the jump hosts
//! the file does not list), and reports unknown names and cycles.

use super::error::Problems;
use super::fields::list;
use super::load::{Draft, Env, SshDefaults};
use super::openssh::{self, JumpHop, SshFacts, SshLookup};
use super::{HostConfig, Role, Thresholds};
use std::collections::{HashMap, HashSet};
use std::ops::Range as Span;
use std::path::PathBuf;

/// Why a ProxyCommand from the OpenSSH configuration is refused rather than ignored: Vigie
/// cannot run it, and connecting directly instead would silently take another route.
const PROXYCOMMAND: &str = "ProxyCommand from the OpenSSH configuration is not supported: \
                            declare the jump host with `jump` (ProxyJump)";

/// The hosts of the file (in order) resolved through `lookup`, then the jump hosts they need;
/// every problem found is added to `problems`.
pub(super) fn resolve(
    drafts: Vec<Draft>,
    unreadable: HashSet<String>,
    lookup: &dyn SshLookup,
    ssh: &SshDefaults,
    env: &Env,
    global: &Thresholds,
    problems: &mut Problems,
) -> Vec<HostConfig> {
    let mut graph = Graph {
        hosts: Vec::new(),
        nodes: Vec::new(),
        index: HashMap::new(),
        unreadable,
        lookup,
        ssh,
        env,
        global,
        problems,
    };
    graph.build(drafts);
    graph.check_cycles();
    graph.hosts
}

/// Where a jump came from, for messages.
#[derive(Clone)]
enum Origin {
    /// `jump = "…"` in the file, at this span.
    File(Span<usize>),
    /// ProxyJump in the OpenSSH configuration, for the host declared at this span.
    OpenSsh { host: String, at: Span<usize> },
}

impl Origin {
    fn span(&self) -> Span<usize> {
        match self {
            Origin::File(s) => s.clone(),
            Origin::OpenSsh { at, .. } => at.clone(),
        }
    }

    fn describe(&self, spec: &str) -> String {
        match self {
            Origin::File(_) => format!("jump `{spec}`"),
            Origin::OpenSsh { host, .. } => {
                format!("ProxyJump `{spec}` (OpenSSH configuration of `{host}`)")
            }
        }
    }
}

/// What the graph knows of a host besides its [`HostConfig`].
struct Node {
    state: JumpState,
    /// Where the host is declared: its `name` (file hosts), or what made it up (jump hosts).
    decl: Span<usize>,
    /// Where its jump comes from.
    jump_origin: Option<Origin>,
}

enum JumpState {
    /// Not resolved yet: the spec and where it comes from.
    Pending(String, Origin),
    Resolving,
    Done,
}

struct Graph<'a, 'p, 't> {
    /// The file's hosts (in order), then synthesised jump hosts.
    hosts: Vec<HostConfig>,
    /// Per host, same order.
    nodes: Vec<Node>,
    index: HashMap<String, usize>,
    unreadable: HashSet<String>,
    lookup: &'a dyn SshLookup,
    ssh: &'a SshDefaults,
    env: &'a Env<'a>,
    global: &'a Thresholds,
    problems: &'p mut Problems<'t>,
}

impl Graph<'_, '_, '_> {
    fn build(&mut self, drafts: Vec<Draft>) {
        prefetch(
            self.lookup,
            drafts
                .iter()
                .filter(|d| d.needs_lookup())
                .map(|d| d.name.as_str()),
        );
        let file_names: Vec<String> = drafts.iter().map(|d| d.name.clone()).collect();
        for d in drafts {
            let facts = if d.needs_lookup() {
                self.facts(&d.name, &d.name_span, None)
            } else {
                None
            };
            let facts = facts.unwrap_or_default();
            let address = d
                .address
                .or_else(|| facts.hostname.clone())
                .unwrap_or_else(|| d.name.clone());
            let user = d
                .user
                .or_else(|| self.default_user(&facts, &d.name, &d.name_span));
            let mut identities = d.identities;
            identities.extend(self.ssh_config_identities(&facts));
            let identities = self.with_default_identities(identities);
            let jump = match d.jump {
                Some(j) => Some((j.get_ref().clone(), Origin::File(j.span()))),
                None => match (&facts.proxyjump, &facts.proxycommand) {
                    (Some(pj), _) => Some((
                        pj.clone(),
                        Origin::OpenSsh {
                            host: d.name.clone(),
                            at: d.name_span.clone(),
                        },
                    )),
                    (None, Some(_)) => {
                        self.problems.at(d.name_span.clone(), PROXYCOMMAND);
                        None
                    }
                    (None, None) => None,
                },
            };
            let public_address = d.public_address.unwrap_or_else(|| address.clone());
            let host = HostConfig {
                name: d.name.clone(),
                address,
                port: d.port.or(facts.port).unwrap_or(22),
                user: user.unwrap_or_default(),
                role: d.role,
                datacenter: d.datacenter,
                jump: None,
                public_address,
                processes: d.processes,
                services: d.services,
                apps: d.apps,
                identities,
                thresholds: d.thresholds,
                supervised: true,
            };
            let (state, jump_origin) = match jump {
                Some((spec, origin)) => (JumpState::Pending(spec, origin.clone()), Some(origin)),
                None => (JumpState::Done, None),
            };
            self.index.insert(host.name.clone(), self.hosts.len());
            self.hosts.push(host);
            self.nodes.push(Node {
                state,
                decl: d.name_span,
                jump_origin,
            });
        }
        for i in 0..file_names.len() {
            self.resolve_jump_of(i);
        }
    }

    /// OpenSSH's word on `name`; problems are reported at `at`.
    fn facts(&mut self, name: &str, at: &Span<usize>, origin: Option<&Origin>) -> Option<SshFacts> {
        match self.lookup.lookup(name) {
            Ok(facts) => facts,
            Err(why) => {
                let about = match origin {
                    Some(o) => format!("{}: ", o.describe(name)),
                    None => String::new(),
                };
                self.problems.at(
                    at.clone(),
                    format!("{about}OpenSSH cannot resolve host `{name}`: {why}"),
                );
                None
            }
        }
    }

    fn default_user(&mut self, facts: &SshFacts, name: &str, at: &Span<usize>) -> Option<String> {
        let user = facts
            .user
            .clone()
            .or_else(|| self.ssh.user.clone())
            .or_else(|| self.env.user.clone())
            .or_else(|| facts.default_user.clone());
        if user.is_none() {
            self.problems.at(
                at.clone(),
                format!(
                    "no SSH user for `{name}`: set `user` on the host or in [ssh] \
                     (the local user name is unknown)"
                ),
            );
        }
        user
    }

    fn ssh_config_identities(&self, facts: &SshFacts) -> Vec<PathBuf> {
        facts
            .identities
            .iter()
            .map(|f| match (f.strip_prefix("~/"), &self.env.home) {
                (Some(rest), Some(home)) => home.join(rest),
                _ => PathBuf::from(f),
            })
            .collect()
    }

    /// Adds `[ssh] identity`; removes repeats. Empty means OpenSSH's default keys (the SSH
    /// layer's `default_identities`).
    fn with_default_identities(&self, mut ids: Vec<PathBuf>) -> Vec<PathBuf> {
        ids.extend(self.ssh.identities.iter().cloned());
        let mut seen = HashSet::new();
        ids.retain(|p| seen.insert(p.clone()));
        ids
    }

    fn is_file_host(&self, i: usize) -> bool {
        self.hosts[i].supervised
    }

    fn resolve_jump_of(&mut self, i: usize) {
        let (spec, origin) = match std::mem::replace(&mut self.nodes[i].state, JumpState::Resolving)
        {
            JumpState::Pending(spec, origin) => (spec, origin),
            other => {
                self.nodes[i].state = other;
                return;
            }
        };
        let name = self.hosts[i].name.clone();
        let hops = match openssh::parse_jump_spec(&spec) {
            Ok(hops) => hops,
            Err(e) => {
                let what = origin.describe(&spec);
                self.problems.at(origin.span(), format!("{what}: {e}"));
                self.nodes[i].state = JumpState::Done;
                return;
            }
        };
        if hops.iter().any(|h| h.host == name) {
            let what = origin.describe(&spec);
            self.problems.at(
                origin.span(),
                format!(
                    "host `{name}` jumps through itself ({what}): expected another host, \
                     or \"none\""
                ),
            );
            self.nodes[i].state = JumpState::Done;
            return;
        }
        let jump = self.resolve_chain(&hops, &origin);
        self.hosts[i].jump = jump;
        self.nodes[i].state = JumpState::Done;
    }

    /// The node to jump through for a chain `a,b,…` (connect to a, through it to b, …).
    fn resolve_chain(&mut self, hops: &[JumpHop], origin: &Origin) -> Option<String> {
        let mut via: Option<String> = None;
        let mut prefix = String::new();
        for (k, hop) in hops.iter().enumerate() {
            if k > 0 {
                prefix.push(',');
            }
            prefix.push_str(&hop.spec);
            via = Some(self.resolve_hop(hop, via.as_deref(), k > 0, &prefix, origin)?);
        }
        via
    }

    /// The node for one hop, reached through `via` (chained), or through its own jump.
    fn resolve_hop(
        &mut self,
        hop: &JumpHop,
        via: Option<&str>,
        chained: bool,
        prefix: &str,
        origin: &Origin,
    ) -> Option<String> {
        let synth_name = if chained { prefix } else { hop.spec.as_str() };
        if let Some(&j) = self.index.get(&hop.host)
            && self.is_file_host(j)
        {
            self.resolve_jump_of(j);
            let base = &self.hosts[j];
            let same_endpoint = hop.user.as_ref().is_none_or(|u| *u == base.user)
                && hop.port.is_none_or(|p| p == base.port);
            let same_route = !chained || base.jump.as_deref() == via;
            if same_endpoint && same_route {
                return Some(base.name.clone());
            }
            // The same machine, reached as another user/port or another way: a copy.
            if self.index.contains_key(synth_name) {
                return Some(synth_name.to_string());
            }
            let mut copy = base.clone();
            copy.name = synth_name.to_string();
            if let Some(u) = &hop.user {
                copy.user = u.clone();
            }
            if let Some(p) = hop.port {
                copy.port = p;
            }
            if chained {
                copy.jump = via.map(str::to_string);
            }
            copy.supervised = false;
            copy.processes.clear();
            copy.services.clear();
            copy.apps = Default::default();
            self.push_synth(copy, origin);
            return Some(synth_name.to_string());
        }
        if self.unreadable.contains(&hop.host) {
            // Already reported: that entry could not be read.
            return None;
        }
        if let Some(&j) = self.index.get(synth_name) {
            return Some(self.hosts[j].name.clone());
        }
        let facts = self.facts(&hop.host, &origin.span(), Some(origin));
        let known = facts.as_ref().is_some_and(SshFacts::is_known);
        if matches!(origin, Origin::File(_)) && !known {
            let names: Vec<&str> = self
                .hosts
                .iter()
                .filter(|h| h.supervised)
                .map(|h| h.name.as_str())
                .collect();
            let mut msg = format!(
                "jump `{}` names no host: expected one of the [[hosts]] names ({}){}",
                hop.host,
                list(names.iter().copied()),
                if facts.is_some() {
                    " or a host of the OpenSSH configuration"
                } else {
                    ""
                }
            );
            if let Some(close) = closest(&hop.host, &names) {
                msg.push_str(&format!("; did you mean `{close}`?"));
            }
            self.problems.at(origin.span(), msg);
            return None;
        }
        let facts = facts.unwrap_or_default();
        // Reached on its own (not as a later hop of a chain, where OpenSSH ignores it too).
        if !chained && facts.proxyjump.is_none() && facts.proxycommand.is_some() {
            let what = origin.describe(&hop.spec);
            self.problems
                .at(origin.span(), format!("{what}: {PROXYCOMMAND}"));
        }
        let user = hop
            .user
            .clone()
            .or_else(|| self.default_user(&facts, &hop.host, &origin.span()));
        let address = facts.hostname.clone().unwrap_or_else(|| hop.host.clone());
        let identities = self.with_default_identities(self.ssh_config_identities(&facts));
        let host = HostConfig {
            name: synth_name.to_string(),
            public_address: address.clone(),
            address,
            port: hop.port.or(facts.port).unwrap_or(22),
            user: user.unwrap_or_default(),
            role: Role::Bastion,
            datacenter: "-".to_string(),
            jump: via.map(str::to_string),
            processes: Vec::new(),
            services: Vec::new(),
            apps: Default::default(),
            identities,
            thresholds: self.global.clone(),
            supervised: false,
        };
        let i = self.push_synth(host, origin);
        if !chained && let Some(pj) = &facts.proxyjump {
            // Its own ProxyJump, as OpenSSH would follow it.
            let own = Origin::OpenSsh {
                host: synth_name.to_string(),
                at: origin.span(),
            };
            self.nodes[i].state = JumpState::Pending(pj.clone(), own.clone());
            self.nodes[i].jump_origin = Some(own);
            self.resolve_jump_of(i);
        }
        Some(synth_name.to_string())
    }

    fn push_synth(&mut self, host: HostConfig, origin: &Origin) -> usize {
        let i = self.hosts.len();
        self.index.insert(host.name.clone(), i);
        self.hosts.push(host);
        self.nodes.push(Node {
            state: JumpState::Done,
            decl: origin.span(),
            jump_origin: None,
        });
        i
    }

    /// Reports every jump cycle once, at the first place in the file that leads into it.
    fn check_cycles(&mut self) {
        let mut reported: HashSet<Vec<String>> = HashSet::new();
        for start in 0..self.hosts.len() {
            let mut path: Vec<usize> = vec![start];
            let mut cur = start;
            while let Some(next) = self.hosts[cur]
                .jump
                .as_ref()
                .and_then(|j| self.index.get(j).copied())
            {
                if let Some(pos) = path.iter().position(|&n| n == next) {
                    let cycle: Vec<usize> = path[pos..].to_vec();
                    let mut key: Vec<String> =
                        cycle.iter().map(|&n| self.hosts[n].name.clone()).collect();
                    key.sort();
                    if reported.insert(key) {
                        self.report_cycle(&cycle);
                    }
                    break;
                }
                path.push(next);
                cur = next;
            }
        }
    }

    fn report_cycle(&mut self, cycle: &[usize]) {
        // Start the story at the first host of the file that is in the cycle.
        let first = cycle
            .iter()
            .enumerate()
            .min_by_key(|&(_, &n)| n)
            .map_or(0, |(k, _)| k);
        let mut names: Vec<&str> = cycle[first..]
            .iter()
            .chain(&cycle[..first])
            .map(|&n| self.hosts[n].name.as_str())
            .collect();
        names.push(names[0]);
        let story = names.join(" → ");
        // Point at a `jump = …` of the file when one is part of the cycle.
        let file_jump = cycle
            .iter()
            .filter_map(|&n| match &self.nodes[n].jump_origin {
                Some(Origin::File(span)) => Some((n, span.clone())),
                _ => None,
            })
            .min_by_key(|(n, _)| *n);
        let (span, from_openssh) = match file_jump {
            Some((_, span)) => (span, false),
            None => (self.nodes[cycle[first]].decl.clone(), true),
        };
        let note = if from_openssh {
            " (ProxyJump from the OpenSSH configuration)"
        } else {
            ""
        };
        self.problems.at(
            span,
            format!(
                "jump cycle: {story}{note}; a chain of jumps must end at a host reached directly"
            ),
        );
    }
}

/// Runs the lookups of many names side by side (each is two short `ssh -G` processes).
fn prefetch<'n>(lookup: &dyn SshLookup, names: impl Iterator<Item = &'n str>) {
    let names: Vec<&str> = names.collect();
    for chunk in names.chunks(16) {
        std::thread::scope(|s| {
            for name in chunk {
                s.spawn(move || {
                    let _ = lookup.lookup(name);
                });
            }
        });
    }
}

/// The candidate nearest to `word` when it is a likely typo (edit distance ≤ 2).
pub(super) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|&(d, c)| d <= 2 && d < c.chars().count())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
#[path = "jumps_tests.rs"]
mod tests;
