//! The embedded demo site (being written).
