//! SSH transport on russh: strict host keys, ProxyJump, key-file and agent authentication,
//! deadlines on every step, persistent connections with backoff.

pub mod auth;
pub mod backoff;
pub mod error;
pub mod known_hosts;
pub mod pool;
pub mod session;

pub use error::SshError;
pub use pool::Pool;
pub use session::{Connection, ExecOutput, Target, TransportOptions};
