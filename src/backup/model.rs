//! Backups as configured (SPEC §5) and as read on the backup servers.

use std::time::Duration;

/// `days`: which days a copy is expected on. Day parity is the day number since the Unix
/// epoch in the site's time zone (never the day of the month, which breaks the alternation
/// at every 31st).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Days {
    All,
    Even,
    Odd,
}

impl Days {
    pub fn word(self) -> &'static str {
        match self {
            Days::All => "all",
            Days::Even => "even",
            Days::Odd => "odd",
        }
    }
}

/// How a copy's backups are found on its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupFormat {
    /// The newest complete entry (file or directory) under `path` whose name matches
    /// `pattern` (a shell glob).
    Files { pattern: String },
    /// A restic repository at `path`; the password comes from `password_file` on the host.
    Restic { password_file: Option<String> },
    /// A borg repository at `path`; the passphrase from `password_file` on the host.
    Borg { password_file: Option<String> },
    /// A command run on the host that prints one backup a line:
    /// `<capture time RFC 3339 or epoch seconds> <size in bytes> [<name>]`.
    Command { command: String },
}

impl BackupFormat {
    pub fn word(&self) -> &'static str {
        match self {
            BackupFormat::Files { .. } => "files",
            BackupFormat::Restic { .. } => "restic",
            BackupFormat::Borg { .. } => "borg",
            BackupFormat::Command { .. } => "command",
        }
    }
}

/// One `[[datasets.copies]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// A `[[hosts]]` name (a backup server).
    pub host: String,
    pub path: String,
    /// The interval between two backups on the days this copy runs.
    pub every: Duration,
    pub days: Days,
    pub format: BackupFormat,
    /// How late a backup may be before its slot counts as missed.
    pub grace: Duration,
}

/// How a DRP step restores a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restore {
    /// `port`: the PostgreSQL server's port on the host restored on, when not the default
    /// (its unix socket is used either way).
    Postgresql {
        database: String,
        port: Option<u16>,
    },
    Mysql {
        database: String,
    },
    Files,
}

/// One `[[datasets]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pub name: String,
    /// The site's limit on data loss for this dataset.
    pub max_loss: Duration,
    pub restore: Option<Restore>,
    pub copies: Vec<Copy>,
}

/// One good (complete) backup as found on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// When its data was taken (dump start, snapshot time), not when the copy finished.
    pub captured_at: jiff::Timestamp,
    /// When it was complete, if known (its duration is part of the worst case).
    pub finished_at: Option<jiff::Timestamp>,
    pub bytes: Option<u64>,
    /// File name, snapshot id or archive name, for display (sanitised remote text).
    pub name: String,
}

/// What the probe found for one copy on its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyReading {
    /// Good backups, newest first (the last days' worth, for the timeline).
    Found(Vec<Backup>),
    /// The copy could not be read: the reason, for an UNKNOWN (tool missing, repository
    /// locked, permission denied, path absent).
    Unreadable(String),
}
