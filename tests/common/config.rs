//! Configuration fixtures (tests/fixtures/config/) and the assertion every config test uses:
//! problems at an exact line and column, with the gist of the message.

use std::path::{Path, PathBuf};
use vigie::config::{self, ConfigError};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

pub fn load_err(name: &str) -> ConfigError {
    match config::load(&fixture(name)) {
        Ok(c) => panic!("{name} loaded: {c:#?}"),
        Err(e) => e,
    }
}

/// Asserts one problem per `(line, column, gist)`, in order, and the `PATH:LINE:COL: ` form.
pub fn assert_problems(name: &str, want: &[(usize, usize, &str)]) {
    let e = load_err(name);
    let got: Vec<String> = e.to_string().lines().map(str::to_string).collect();
    assert_eq!(got.len(), want.len(), "{name}: {got:#?}");
    let path = fixture(name).display().to_string();
    for (line, (l, c, gist)) in got.iter().zip(want) {
        let prefix = format!("{path}:{l}:{c}: ");
        assert!(
            line.starts_with(&prefix),
            "{name}: want {prefix:?}, got {line:?}"
        );
        assert!(line.contains(gist), "{name}: want {gist:?} in {line:?}");
    }
    for (p, (l, c, _)) in e.problems.iter().zip(want) {
        let loc = p.location.expect("located");
        assert_eq!((loc.line, loc.column), (*l, *c), "{name}");
    }
}
