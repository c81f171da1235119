use super::*;
use crate::probe::parse::repl::section;

proptest::proptest! {
    #[test]
    fn never_panics(s in proptest::prelude::any::<String>()) {
        let _ = parse(&s);
        let _ = parse(&section(&[("replica SHOW SLAVE STATUS", &s, 0), ("primary", &s, 0)]));
        let _ = parse(&section(&[("replica SHOW SLAVE STATUS", &format!("*** 1. row ***\n{s}"), 0)]));
    }
}
