//! The full-screen console.

pub mod theme;
