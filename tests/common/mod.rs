//! Helpers shared by the integration tests (`mod common;` in tests/*.rs).
//! `lab`: the test lab of real sshd servers (tests/lab/README.md).
#![allow(dead_code, unused_imports)]

pub mod lab;
pub use lab::{Guard, Lab};
pub mod config;
pub mod drp;
pub mod http;
pub mod site;
pub mod tty;
