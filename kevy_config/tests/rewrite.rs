//! `CONFIG REWRITE`: the operator's file survives, with live values in it.

use crate::util::{args, config_set, Scratch};
use kevy_config::{load, Live};

const COMMENTED: &str = "\
# kevy for the cache tier
# (owned by ops; keep the comments)

port = 7000          # fixed by the load balancer
appendfsync = \"everysec\"
maxmemory = \"1gb\"    # half the box

# persistence
save = \"900 1\"
hash-max-ziplist-entries = 512
";

#[test]
fn round_trip_of_a_commented_file() {
    let dir = Scratch::new();
    let f = dir.file("kevy.toml", COMMENTED);
    let loaded = load(&args(&["--config", f.to_str().unwrap()]), &[]).unwrap();
    let live = Live::from_loaded(&loaded);

    // Nothing changed: the file is left byte for byte.
    live.rewrite().unwrap();
    assert_eq!(std::fs::read_to_string(&f).unwrap(), COMMENTED);

    config_set(
        &live,
        &[
            "appendfsync",
            "always",
            "save",
            "",
            "hash-max-listpack-entries",
            "64",
            "hz",
            "50",
        ],
    )
    .unwrap();
    live.rewrite().unwrap();
    let text = std::fs::read_to_string(&f).unwrap();
    let want = "\
# kevy for the cache tier
# (owned by ops; keep the comments)

port = 7000          # fixed by the load balancer
appendfsync = \"always\"
maxmemory = \"1gb\"    # half the box

# persistence
save = \"\"
hash-max-ziplist-entries = 64

# Added by CONFIG REWRITE
hz = 50
";
    assert_eq!(text, want);

    // Reloading the rewritten file gives the live config back.
    let again = load(&args(&["--config", f.to_str().unwrap()]), &[]).unwrap();
    assert_eq!(again.config, **live.get());

    // A second change appends under the same marker, not a new one.
    config_set(&live, &["maxmemory-policy", "allkeys-lru"]).unwrap();
    live.rewrite().unwrap();
    let text = std::fs::read_to_string(&f).unwrap();
    assert_eq!(text.matches("# Added by CONFIG REWRITE").count(), 1);
    assert!(
        text.ends_with("hz = 50\nmaxmemory-policy = \"allkeys-lru\"\n"),
        "{text}"
    );
}

#[test]
fn flags_and_env_are_written_like_redis_does() {
    let dir = Scratch::new();
    let f = dir.file("kevy.toml", "# empty\n");
    let loaded = load(
        &args(&["--config", f.to_str().unwrap(), "--timeout", "30"]),
        &[],
    )
    .unwrap();
    Live::from_loaded(&loaded).rewrite().unwrap();
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "# empty\n\n# Added by CONFIG REWRITE\ntimeout = 30\n"
    );
}

#[test]
fn rewrite_needs_a_file() {
    let loaded = load(&[], &[]).unwrap();
    assert_eq!(
        Live::from_loaded(&loaded).rewrite(),
        Err("ERR The server is running without a config file".to_string())
    );
}
