//! The fuzz targets' bodies (`fuzz/src/lib.rs`) on every committed corpus
//! input (seeds, inputs that once failed, the minimised corpus libFuzzer
//! grew), on stable and without libFuzzer.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the corpus directory") {
        let path = entry.expect("a corpus entry").path();
        let data = std::fs::read(&path).expect("a corpus file");
        let res = std::panic::catch_unwind(|| run(&data));
        assert!(res.is_ok(), "{} fails", path.display());
        n += 1;
    }
    assert!(n > 0, "no corpus in {}", dir.display());
}

#[test]
fn parse_request_corpus() {
    replay("parse_request", crate::fuzz_input::parse_request);
}

#[test]
fn parse_reply_corpus() {
    replay("parse_reply", crate::fuzz_input::parse_reply);
}
