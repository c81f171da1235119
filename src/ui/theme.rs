//! Colour themes (being written).
