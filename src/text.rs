//! Remote text made safe for a terminal.

/// Replace every control character (C0, DEL, C1) and the bidirectional-override characters
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
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_inert() {
        let hostile = "disk \u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m ok\r\n\u{202E}evil";
        let clean = sanitize(hostile);
        assert!(!clean.chars().any(|c| c.is_control()));
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
