//! `vigie check --json`: one object per refresh (SPEC §4). Keep it stable: scripts parse it.

use super::SiteReport;

pub fn render(report: &SiteReport) -> String {
    // Serialising plain data structures cannot fail; an error here would be a bug, reported
    // as such rather than as a broken JSON document.
    serde_json::to_string(report)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise report: {e}\"}}"))
}
