//! Backups: freshness on each server, the even/odd policy, the data-loss window, the
//! restore-time estimate (SPEC §4–5).

pub mod evaluate;
pub mod journal_rates;
pub mod model;
pub mod rto;
pub mod schedule;
pub mod site;
pub mod throughput;
