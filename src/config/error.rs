//! Configuration errors: every problem names the file, the line and the column.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The line and column of byte offset `offset` in `text` (clamped to the text).
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One thing wrong with the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file; `None` when the problem is the file itself (unreadable, missing).
    pub location: Option<Location>,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Why a configuration file could not be loaded: one or more [`Problem`]s, in file order.
///
/// Displays one problem per line, as `PATH:LINE:COL: message` (`PATH: message` when the problem
/// has no location), the way compilers do, so that editors can jump to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub problems: Vec<Problem>,
    io_kind: Option<io::ErrorKind>,
}

impl ConfigError {
    pub(crate) fn new(path: &Path, mut problems: Vec<Problem>) -> ConfigError {
        problems.sort_by_key(|p| p.location);
        problems.dedup();
        ConfigError {
            path: path.to_path_buf(),
            problems,
            io_kind: None,
        }
    }

    pub(crate) fn io(path: &Path, err: &io::Error) -> ConfigError {
        let message = match err.kind() {
            io::ErrorKind::NotFound => "no such configuration file (copy config.example.toml \
                 there and edit it, or pass --config PATH)"
                .to_string(),
            io::ErrorKind::PermissionDenied => {
                "cannot read the configuration file: permission denied".to_string()
            }
            io::ErrorKind::IsADirectory => {
                "is a directory, expected a configuration file".to_string()
            }
            _ => format!("cannot read the configuration file: {err}"),
        };
        ConfigError {
            path: path.to_path_buf(),
            problems: vec![Problem {
                location: None,
                message,
            }],
            io_kind: Some(err.kind()),
        }
    }

    /// The file does not exist (the caller may offer to create it, or suggest `vigie demo`).
    pub fn is_not_found(&self) -> bool {
        self.io_kind == Some(io::ErrorKind::NotFound)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            match p.location {
                Some(loc) => write!(f, "{}:{loc}: {}", self.path.display(), p.message)?,
                None => write!(f, "{}: {}", self.path.display(), p.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Collects problems against one source text, turning byte spans into locations.
pub(crate) struct Problems<'t> {
    text: &'t str,
    pub(crate) list: Vec<Problem>,
}

impl<'t> Problems<'t> {
    pub(crate) fn new(text: &'t str) -> Problems<'t> {
        Problems {
            text,
            list: Vec::new(),
        }
    }

    pub(crate) fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let location = Some(Location::of_offset(self.text, span.start));
        self.list.push(Problem {
            location,
            message: message.into(),
        });
    }

    /// The 1-based line of a span, for messages that refer to another place in the file.
    pub(crate) fn line_of(&self, span: &Range<usize>) -> usize {
        Location::of_offset(self.text, span.start).line
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(
            Location::of_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        assert_eq!(
            Location::of_offset(text, 4),
            Location { line: 1, column: 5 }
        );
        assert_eq!(
            Location::of_offset(text, 6),
            Location { line: 2, column: 1 }
        );
        // "bé = " is 6 bytes but 5 characters.
        assert_eq!(
            Location::of_offset(text, 12),
            Location { line: 2, column: 6 }
        );
        // Inside a multi-byte character and past the end: clamped.
        assert_eq!(
            Location::of_offset(text, 8),
            Location { line: 2, column: 2 }
        );
        assert_eq!(
            Location::of_offset(text, 999),
            Location { line: 3, column: 1 }
        );
    }

    #[test]
    fn display_is_one_problem_per_line() {
        let e = ConfigError::new(
            Path::new("/etc/vigie.toml"),
            vec![
                Problem {
                    location: Some(Location { line: 9, column: 3 }),
                    message: "second".into(),
                },
                Problem {
                    location: Some(Location { line: 2, column: 1 }),
                    message: "first".into(),
                },
            ],
        );
        assert_eq!(
            e.to_string(),
            "/etc/vigie.toml:2:1: first\n/etc/vigie.toml:9:3: second"
        );
        let missing = ConfigError::io(
            Path::new("/nope.toml"),
            &io::Error::from(io::ErrorKind::NotFound),
        );
        assert!(missing.is_not_found());
        assert!(
            missing
                .to_string()
                .starts_with("/nope.toml: no such configuration file")
        );
    }
}
