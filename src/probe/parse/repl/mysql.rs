//! `repl.mysql`: the replica's status in the mysql client's vertical layout (`-E`), from
//! `SHOW ALL SLAVES STATUS` (MariaDB, every connection), `SHOW REPLICA STATUS` (MySQL 8.0.22
//! and later: Replica_/Source_ column names) or `SHOW SLAVE STATUS` (older: Slave_/Master_);
//! on a primary, the replicas reading its binary log (processlist).

use super::{ReplError, failure, last, name, parts};
use crate::probe::parse::{ParseError, clean};

/// One replication channel (MySQL) or connection (MariaDB multi-source).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Channel {
    /// Channel_Name / Connection_name; empty for the default one.
    pub name: String,
    /// "10.77.1.11:3306".
    pub source: Option<String>,
    /// Yes, No, Connecting.
    pub io_running: Option<String>,
    pub sql_running: Option<String>,
    /// Seconds_Behind_Master / _Source; `None` when NULL (a thread stopped).
    pub behind: Option<u64>,
    /// A delayed replica's configured delay (SQL_Delay), seconds.
    pub delay: u64,
    pub io_error: Option<String>,
    pub sql_error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MysqlStatus {
    /// Empty: this server replicates from nobody.
    pub channels: Vec<Channel>,
    /// On a server that is no replica: the addresses of the replicas connected to it
    /// (`None` when that could not be read).
    pub replicas: Option<Vec<String>>,
}

/// The rows of `-E` output: "*** 1. row ***", then "   Field_Name: value" lines aligned on
/// their colons. A value can span lines (GTID sets, an error quoting a query); the first
/// occurrence of a field wins and a field line must sit at the row's colon column, so text
/// inside a value cannot stand for a field read before it.
fn rows(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = Vec::new();
    let mut colon: Option<usize> = None;
    for line in text.lines() {
        if line.starts_with("***") && line.contains(". row ") {
            out.push(Vec::new());
            colon = None;
            continue;
        }
        let Some(row) = out.last_mut() else { continue };
        let field = line.find(':').and_then(|at| {
            let key = line.get(..at)?.trim_start();
            let ok = !key.is_empty()
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && colon.is_none_or(|c| c == at);
            ok.then_some((at, key))
        });
        match field {
            Some((at, key)) => {
                colon.get_or_insert(at);
                if !row.iter().any(|(k, _)| k == key) {
                    let value = line.get(at + 1..).unwrap_or("").trim();
                    row.push((key.to_string(), value.to_string()));
                }
            }
            None => {
                if let Some((_, v)) = row.last_mut()
                    && v.len() < 4096
                {
                    v.push('\n');
                    v.push_str(line);
                }
            }
        }
    }
    out
}

fn channel(row: &[(String, String)]) -> Channel {
    let get = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| row.iter().find(|(key, _)| key == k))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty() && *v != "NULL")
    };
    let host = get(&["Source_Host", "Master_Host"]);
    let port = get(&["Source_Port", "Master_Port"]);
    Channel {
        name: get(&["Channel_Name", "Connection_name"])
            .map(name)
            .unwrap_or_default(),
        source: host.map(|h| match port {
            Some(p) => clean(&format!("{h}:{p}"), 80),
            None => clean(h, 80),
        }),
        io_running: get(&["Replica_IO_Running", "Slave_IO_Running"]).map(|v| clean(v, 20)),
        sql_running: get(&["Replica_SQL_Running", "Slave_SQL_Running"]).map(|v| clean(v, 20)),
        behind: get(&["Seconds_Behind_Source", "Seconds_Behind_Master"])
            .and_then(|v| v.parse().ok()),
        delay: get(&["SQL_Delay"])
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        io_error: get(&["Last_IO_Error"]).map(|v| clean(v, 240)),
        sql_error: get(&["Last_SQL_Error", "Last_Error"]).map(|v| clean(v, 160)),
    }
}

pub fn parse(body: &str) -> Result<MysqlStatus, ReplError> {
    let parts = parts(body);
    let part = last(&parts, "replica").ok_or_else(|| ParseError::new("no replica status"))?;
    if !part.ok() {
        let t = &part.text;
        // 2002: no socket, 2003: nothing listening, 2013: connection lost, 2006: gone away.
        return Err(
            if ["ERROR 2002", "ERROR 2003", "ERROR 2013", "ERROR 2006"]
                .iter()
                .any(|e| t.contains(e))
            {
                ReplError::Down(format!("MySQL server not answering ({})", part.excerpt()))
            } else {
                failure("mysql", part)
            },
        );
    }
    let channels: Vec<Channel> = rows(&part.text).iter().map(|r| channel(r)).collect();
    let replicas = last(&parts, "primary").filter(|p| p.ok()).map(|p| {
        let mut hosts: Vec<String> = p
            .text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|h| {
                // "10.77.2.22:41234": the replica's address, not its ephemeral port.
                let host = match h.rsplit_once(':') {
                    Some((a, port)) if port.bytes().all(|b| b.is_ascii_digit()) => a,
                    _ => h,
                };
                name(host)
            })
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
    });
    if channels.is_empty() && !part.text.trim().is_empty() {
        return Err(ParseError::new("replica status without rows").into());
    }
    Ok(MysqlStatus { channels, replicas })
}

#[cfg(test)]
#[path = "mysql_tests.rs"]
mod tests;
