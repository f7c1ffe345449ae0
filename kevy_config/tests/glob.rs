//! Glob matching, directly and through `CONFIG GET`.

use crate::util::config_get;
use kevy_config::{glob_match, Config, Live};

#[test]
fn glob_cases() {
    let cases: &[(&str, &str, bool, bool)] = &[
        ("*", "maxmemory", false, true),
        ("max*", "maxmemory-policy", false, true),
        ("*policy", "maxmemory-policy", false, true),
        ("?z", "hz", false, true),
        ("h[xyz]", "hz", false, true),
        ("h[^z]", "hz", false, false),
        ("h[a-z]", "hz", false, true),
        ("H[A-Z]", "hz", true, true),
        ("H[A-Z]", "hz", false, false),
        ("\\*", "*", false, true),
        ("a\\*", "ab", false, false),
        ("*-*-*", "lazyfree-lazy-expire", false, true),
        ("*-*-*-*", "lazyfree-lazy-expire", false, false),
    ];
    for (p, s, nocase, want) in cases {
        assert_eq!(
            glob_match(p.as_bytes(), s.as_bytes(), *nocase),
            *want,
            "{p} ~ {s}"
        );
    }
}

#[test]
fn config_get_patterns() {
    let live = Live::new(Config::default(), None);
    assert_eq!(config_get(&live, &["hz"]), ["hz", "10"]);
    assert_eq!(
        config_get(&live, &["HZ"]),
        ["HZ", "10"],
        "exact names echo the client's case"
    );
    assert_eq!(
        config_get(&live, &["HZ*"]),
        ["hz", "10"],
        "glob results use the real name"
    );
    assert_eq!(
        config_get(&live, &["p[o-q]rt", "p?rt", "[^a]ort"]),
        ["port", "6379"]
    );
    assert!(config_get(&live, &["nope", "nope*"]).is_empty());

    // Aliases are listed too, as Redis 7.0 does.
    let z = config_get(&live, &["*ziplist*"]);
    let names: Vec<&str> = z.iter().step_by(2).map(String::as_str).collect();
    assert_eq!(names.len(), 5);
    assert!(names.contains(&"list-max-ziplist-size") && names.contains(&"zset-max-ziplist-value"));

    let all = config_get(&live, &["*"]);
    let names: Vec<&str> = all.iter().step_by(2).map(String::as_str).collect();
    for n in [
        "bind",
        "save",
        "threads",
        "shards",
        "lua-time-limit",
        "slave-read-only",
    ] {
        assert!(names.contains(&n), "{n}");
    }
    let mut dedup = names.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), names.len());
}
