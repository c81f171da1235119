//! Check results and their evaluation from probe readings.
//!
//! Every function here is pure: readings and thresholds in, `Check`s out.

pub mod apps;
pub mod hardware;
pub mod host;
pub mod network;
mod quota;
pub mod range;
pub mod replication;
pub mod system;

pub use host::{ExecTiming, HostMemory, evaluate};

use serde::Serialize;

/// A Nagios state. The derive order is *not* the severity order: use [`State::severity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Ok,
    Warn,
    Crit,
    Unknown,
}

impl State {
    /// Severity for "worst of": OK < UNKNOWN < WARN < CRIT (SPEC §4).
    pub fn severity(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Unknown => 1,
            State::Warn => 2,
            State::Crit => 3,
        }
    }

    /// The Nagios plugin exit code: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN.
    pub fn exit_code(self) -> i32 {
        match self {
            State::Ok => 0,
            State::Warn => 1,
            State::Crit => 2,
            State::Unknown => 3,
        }
    }

    pub fn worst(self, other: State) -> State {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warn => "WARN",
            State::Crit => "CRIT",
            State::Unknown => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// The worst state of a set, OK when empty.
pub fn worst<I: IntoIterator<Item = State>>(states: I) -> State {
    states.into_iter().fold(State::Ok, State::worst)
}

/// One check result, as it appears in `vigie check --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub id: String,
    pub state: State,
    /// One human line: what was measured and, when not OK, why.
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<&'static str>,
}

impl Check {
    pub fn new(id: impl Into<String>, state: State, summary: impl Into<String>) -> Self {
        Check {
            id: id.into(),
            state,
            summary: summary.into(),
            value: None,
            unit: None,
        }
    }

    pub fn with_value(mut self, value: f64, unit: &'static str) -> Self {
        // JSON has no NaN/inf: a non-finite reading is left out rather than breaking the output.
        if value.is_finite() {
            self.value = Some(value);
            self.unit = Some(unit);
        }
        self
    }

    pub fn unknown(id: impl Into<String>, why: impl Into<String>) -> Self {
        Check::new(id, State::Unknown, why)
    }
}
