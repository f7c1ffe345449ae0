//! One test per differential script in `tests/scripts/` (format: see
//! `util.rs`): kevy-server and redis-server must send the same bytes.

use crate::util::diff_script;

#[test]
fn strings() {
    diff_script("strings");
}
