//! Pure parsers of probe sections.
