use super::*;
use crate::probe::parse::repl::section;

proptest::proptest! {
    #[test]
    fn never_panics(s in proptest::prelude::any::<String>()) {
        let _ = parse(&s);
        for role in ["t|150005", "f|150005", &s] {
            let _ = parse(&section(&[("role", role, 0), ("primary", &s, 0), ("standby", &s, 0)]));
        }
    }
}
