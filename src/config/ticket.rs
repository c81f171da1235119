//! `[ticket]` (SPEC §6): the webhook a DRP `ticket` step posts to (`crate::drp::ticket`).
//!
//! Everything that can go wrong with the template is found when the file is loaded, not at
//! 3 a.m. in the middle of an activation: an unknown or unclosed placeholder, a template that is
//! not valid JSON once filled, a placeholder outside a JSON string. The bearer token is a
//! secret: its file is named here and read only when a ticket is posted.

use super::error::Problems;
use super::fields::{UrlFault, http_url, list, path, table_in};
use super::load::Env;
use serde::Deserialize;
use serde_spanned::Spanned;
use std::path::{Path, PathBuf};
use toml::de::DeValue;

/// The placeholders a template may use. `title` and `body` are the step's; the others
/// describe the run (the engine fills them all, see `crate::drp::ticket::TicketVars`).
pub const TICKET_PLACEHOLDERS: &[&str] = &[
    "title", "body", "site", "runbook", "mode", "order", "run_id", "step", "operator", "now",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTicket {
    url: Spanned<String>,
    token_file: Spanned<String>,
    template: Spanned<String>,
    id_pointer: Spanned<String>,
    ca_file: Option<Spanned<String>>,
}

/// `[ticket]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketSettings {
    /// http or https, with a host, without credentials.
    pub url: reqwest::Url,
    /// The bearer token's file, read (and trimmed) at each post; never logged.
    pub token_file: PathBuf,
    /// The JSON body, with `{{name}}` placeholders filled JSON-string-escaped.
    pub template: Template,
    /// RFC 6901 JSON pointer to the created ticket's id in the answer ("" = the whole answer).
    pub id_pointer: String,
    /// Extension: PEM certificates trusted besides the system's (an internal CA).
    pub ca_file: Option<PathBuf>,
}

/// A JSON text with `{{name}}` placeholders, parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Placeholder(String),
}

impl Template {
    /// Parses `text`; an unknown or unclosed placeholder, or a text that is not JSON once
    /// filled, is an error in words.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(format!(
                    "unclosed placeholder at `{}`: expected {{{{name}}}}",
                    cut(&rest[open..], 20)
                ));
            };
            let name = after[..close].trim();
            if !TICKET_PLACEHOLDERS.contains(&name) {
                return Err(format!(
                    "unknown placeholder {{{{{}}}}}: expected one of {}",
                    cut(name, 40),
                    list(TICKET_PLACEHOLDERS.iter().copied())
                ));
            }
            parts.push(Part::Placeholder(name.to_string()));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        let template = Template { parts };
        // A value with every character JSON must escape: the filled template parses only if
        // each placeholder sits inside a JSON string.
        let filled = template
            .render(|_| Some("a \"quoted\" \\ value\non two lines\t\u{1}".to_string()))
            .unwrap_or_default();
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&filled) {
            return Err(format!(
                "not valid JSON once its placeholders are filled ({e}): write each \
                 placeholder inside a JSON string, e.g. {{\"title\": \"{{{{title}}}}\"}}"
            ));
        }
        Ok(template)
    }

    /// The placeholders used, in order of appearance (repeated ones repeated).
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder(n) => Some(n.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The body: each placeholder replaced by `value(name)` escaped as the inside of a JSON
    /// string (quotes, backslashes and control characters), so that no value can break the
    /// JSON. `Err(name)` when `value` has none for a placeholder.
    pub fn render(&self, value: impl Fn(&str) -> Option<String>) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Placeholder(name) => {
                    let v = value(name).ok_or_else(|| name.clone())?;
                    out.push_str(&json_string_inside(&v));
                }
            }
        }
        Ok(out)
    }
}

/// `s` as the inside of a JSON string literal (without the surrounding quotes).
pub fn json_string_inside(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_string()
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// An RFC 6901 JSON pointer: empty (the whole document) or `/`-separated tokens in which `~`
/// is only ever `~0` (a `~`) or `~1` (a `/`).
pub fn check_pointer(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Ok(());
    }
    if !p.starts_with('/') {
        return Err(format!(
            "{p:?} is not a JSON pointer: it starts with `/`, e.g. \"/id\" or \"/data/ticket/id\""
        ));
    }
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "{p:?} is not a JSON pointer: `~` is written `~0` and `/` inside a key `~1`"
            ));
        }
    }
    Ok(())
}

pub(super) fn check_ticket(
    v: Spanned<DeValue>,
    env: &Env,
    base: &Path,
    p: &mut Problems,
) -> Option<TicketSettings> {
    let raw = table_in::<RawTicket>(v, "[ticket]", None, p)?;
    let url = check_url(&raw.url, p);
    let token_file = if raw.token_file.get_ref().trim().is_empty() {
        p.at(
            raw.token_file.span(),
            "empty `token_file`: expected the path of the file holding the bearer token, e.g. \
             \"/etc/vigie/ticket.token\"",
        );
        PathBuf::new()
    } else {
        path(&raw.token_file, "token_file", env, base, p)
    };
    let template = match Template::parse(raw.template.get_ref()) {
        Ok(t) => Some(t),
        Err(why) => {
            p.at(raw.template.span(), format!("`template`: {why}"));
            None
        }
    };
    if let Err(why) = check_pointer(raw.id_pointer.get_ref()) {
        p.at(raw.id_pointer.span(), format!("`id_pointer`: {why}"));
    }
    let ca_file = raw.ca_file.as_ref().map(|v| {
        let file = path(v, "ca_file", env, base, p);
        if let Err(why) = crate::web::tls::read_ca_file(&file) {
            p.at(v.span(), format!("`ca_file`: {why}"));
        }
        file
    });
    Some(TicketSettings {
        url: url?,
        token_file,
        template: template?,
        id_pointer: raw.id_pointer.into_inner(),
        ca_file,
    })
}

fn check_url(v: &Spanned<String>, p: &mut Problems) -> Option<reqwest::Url> {
    let text = v.get_ref();
    let why = match http_url(text) {
        Ok(url) => return Some(url),
        Err(UrlFault::Invalid(e)) => format!(
            "invalid `url` {text:?}: {e}; expected e.g. \
             \"https://tickets.example.test/api/tickets\""
        ),
        Err(UrlFault::Scheme(scheme)) => format!(
            "unsupported URL scheme `{scheme}` in `url`: expected an https:// (or http://) URL"
        ),
        Err(UrlFault::NoHost) => format!("`url` {text:?} has no host"),
        Err(UrlFault::Credentials) => {
            "credentials in `url` are refused: the token goes in the file `token_file` names"
                .to_string()
        }
    };
    p.at(v.span(), why);
    None
}

#[cfg(test)]
#[path = "ticket_tests.rs"]
mod tests;
