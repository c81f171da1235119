//! Backups: freshness on each server, the even/odd policy, the data-loss window, the
//! restore-time estimate (SPEC §4–5).

pub mod model;
