//! Where Vigie keeps what must outlive one run: `$XDG_STATE_HOME/vigie`
//! (`~/.local/state/vigie`): the log, and the SMART baselines.

use std::path::{Path, PathBuf};

pub fn state_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .filter(|v| Path::new(v).is_absolute())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .map(|d| d.join("vigie"))
}

/// A name made safe as one path component.
pub fn component(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

/// Write `bytes` to `path` whole or not at all (a temporary file renamed over it).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn components_cannot_escape() {
        assert_eq!(super::component("../etc/passwd"), "_etc_passwd");
        assert_eq!(super::component("1st KYC"), "1st_KYC");
        assert_eq!(super::component("backup-a"), "backup-a");
    }
}
