//! Vigie: a terminal console that watches a production site's hosts, backups and DRP over SSH.
//!
//! Data flows one way: `collect` (SSH + probe) → `probe::ProbeReport` snapshots →
//! `checks` evaluation → `report` (JSON, table) or the console.

pub mod backup;
pub mod checks;
pub mod cli;
pub mod collect;
pub mod config;
pub mod console_host;
pub mod demo;
pub mod dnsbl;
pub mod drp;
pub mod paths;
pub mod probe;
pub mod report;
pub mod ssh;
pub mod text;
pub mod ui;
pub mod web;
