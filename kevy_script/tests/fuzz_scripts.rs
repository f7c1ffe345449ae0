//! The `scripts` fuzz target (`fuzz/`) run on stable: every committed
//! corpus input replays through the same body (`fuzz/src/lib.rs`), plus a
//! bounded number of random inputs, so a regression shows in every test
//! run. `KEVY_FUZZ_ITERS` raises the count.

#[path = "../fuzz/src/lib.rs"]
mod fuzz_input;

#[test]
fn fuzz_corpus_replays() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/scripts");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("corpus dir").flatten() {
        let data = std::fs::read(e.path()).expect("corpus input");
        fuzz_input::run(&data);
        n += 1;
    }
    assert!(n > 0, "no corpus in {}", dir.display());
}

#[test]
fn random_scripts() {
    let iters: u64 = std::env::var("KEVY_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..iters {
        let len = 8 + (x % 48) as usize;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8 & 0x7f
            })
            .collect();
        fuzz_input::run(&data);
    }
}
