//! The DRP runbooks (SPEC §6): the runbook model and its resolved plan, the journal, the lock
//! on the DRP host, and the steps (detached remote jobs, copies, database imports, tickets,
//! DNS switches) that the engine runs one by one.

pub mod copy;
pub mod db_import;
pub mod dns;
pub mod engine;
pub mod job;
pub mod journal;
pub mod lock;
pub mod model;
pub mod plan;
pub mod ticket;
