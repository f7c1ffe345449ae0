//! `docs/kevy.sample.toml` is generated from the knob table; this keeps the
//! committed copy true. Regenerate it with
//! `cargo run -p kevy_config --example dump_config -- --sample-toml > docs/kevy.sample.toml`.

#[test]
fn committed_sample_matches_the_knob_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/kevy.sample.toml");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == kevy_config::sample_toml(),
        "docs/kevy.sample.toml is stale: regenerate it with \
         `cargo run -p kevy_config --example dump_config -- --sample-toml > docs/kevy.sample.toml`"
    );
}
