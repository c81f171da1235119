//! The terminal, restored whatever happens: quit, error, panic, SIGTERM, SIGHUP.

use ratatui::DefaultTerminal;

/// Raw mode and the alternate screen for as long as it lives.
pub struct TerminalGuard {
    pub terminal: DefaultTerminal,
}

impl TerminalGuard {
    /// `ratatui::try_init` also installs a panic hook that restores the terminal before the
    /// panic message is printed.
    pub fn enter() -> std::io::Result<TerminalGuard> {
        let terminal = ratatui::try_init()?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // After a SIGHUP the terminal may be gone: nothing more to do then.
        let _ = ratatui::try_restore();
    }
}

/// Who is at the keyboard, for the top bar (and later the journal).
pub fn operator() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty())
        .map(|v| crate::text::sanitize(&v))
        .unwrap_or_else(|| "unknown".into())
}
