//! Transport errors, worded for the operator.

use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SshError {
    #[error("cannot connect to {address}:{port}: {reason}")]
    Connect {
        address: String,
        port: u16,
        reason: String,
    },
    #[error("no answer from {address}:{port} within {}s", .after.as_secs_f64())]
    ConnectTimeout {
        address: String,
        port: u16,
        after: Duration,
    },
    #[error("via {jump}: {reason}")]
    Jump { jump: String, reason: String },
    #[error(
        "HOST KEY CHANGED for {host}: it presents {presented}, known_hosts {path} line {line} records {recorded}; \
         possible man-in-the-middle, nothing was executed"
    )]
    HostKeyChanged {
        host: String,
        presented: String,
        recorded: String,
        path: String,
        line: usize,
    },
    #[error("host key of {host} is REVOKED (known_hosts {path} line {line}); nothing was executed")]
    HostKeyRevoked {
        host: String,
        path: String,
        line: usize,
    },
    #[error(
        "host key of {host} is of another type than known_hosts {path} line {line} records \
         ({presented} presented, {recorded} recorded): refused, nothing was executed"
    )]
    HostKeyOtherType {
        host: String,
        presented: String,
        recorded: String,
        path: String,
        line: usize,
    },
    #[error(
        "{host} is trusted only through a @cert-authority line (known_hosts {path} line {line}); \
         host certificates are not supported: record its plain host key in known_hosts"
    )]
    HostKeyCertAuthority {
        host: String,
        path: String,
        line: usize,
    },
    #[error(
        "unknown host key for {host} ({presented}): not in {path}; check it, then run once with --accept-new to record it"
    )]
    HostKeyUnknown {
        host: String,
        presented: String,
        path: String,
    },
    #[error("authentication as {user} refused; tried: {tried}")]
    Auth { user: String, tried: String },
    #[error("{0}")]
    Protocol(String),
    #[error("no output within {}s: host or sshd not answering", .0.as_secs_f64())]
    NoAnswer(Duration),
    #[error("connection lost: {0}")]
    Lost(String),
}

impl SshError {
    /// A host-key problem is an alert in its own right, not just "unreachable".
    pub fn is_host_key_alert(&self) -> bool {
        matches!(
            self,
            SshError::HostKeyChanged { .. }
                | SshError::HostKeyRevoked { .. }
                | SshError::HostKeyUnknown { .. }
        ) || matches!(self, SshError::Jump { reason, .. } if reason.contains("HOST KEY"))
    }
}
