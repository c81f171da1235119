//! The lab itself: its faults do what they say (tests/lab/selftest.rs).

mod common;
include!("lab/selftest.rs");
