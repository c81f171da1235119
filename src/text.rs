//! Remote text made safe for a terminal.

/// Replace every control character (C0, DEL, C1), the bidirectional formatting characters and
/// the Unicode line separators
/// with U+FFFD, so nothing a server prints can move the cursor, change colours, retitle the
/// window or reorder what the operator reads. Tabs become a space.
pub fn sanitize(s: &str) -> String {
    if !s.chars().any(needs_replacing) {
        return s.to_string();
    }
    s.chars()
        .map(|c| match c {
            '\t' => ' ',
            c if needs_replacing(c) => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// [`sanitize`] without allocating when there is nothing to replace (the usual case).
pub fn sanitize_in_place(s: &mut String) {
    if s.chars().any(needs_replacing) {
        *s = sanitize(s);
    }
}

fn needs_replacing(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Bidirectional embeddings, overrides, isolates and marks: they reorder what
            // the operator reads ("Trojan Source").
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
            // Line and paragraph separators: some terminals break the line on them.
            | '\u{2028}' | '\u{2029}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_inert() {
        let hostile =
            "disk \u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m ok\r\n\u{202E}evil\u{200F}\u{2028}x";
        let clean = sanitize(hostile);
        assert!(!clean.chars().any(needs_replacing), "{clean:?}");
        assert!(clean.contains("disk") && clean.contains("[2J") && clean.contains("ok"));
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(
            sanitize("93.1 % used (465 MiB free) é"),
            "93.1 % used (465 MiB free) é"
        );
    }

    proptest::proptest! {
        #[test]
        fn output_has_no_control_characters(s in proptest::prelude::any::<String>()) {
            proptest::prop_assert!(!sanitize(&s).chars().any(|c| c.is_control()));
        }
    }
}
