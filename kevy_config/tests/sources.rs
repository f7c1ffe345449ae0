//! Start-up sources and their precedence: defaults < file < `KEVY_*` < flags.

use crate::util::{args, env, Scratch};
use kevy_config::{load, AppendFsync, CliAction, Config, ConfigError, MaxmemoryPolicy, Source};

#[test]
fn no_sources_gives_the_documented_defaults() {
    let l = load(&[], &[]).unwrap();
    assert_eq!(l.action, CliAction::Run);
    assert_eq!(l.file, None);
    let c = l.config;
    assert_eq!(c, Config::default());
    assert_eq!(c.bind, vec!["127.0.0.1"]);
    assert_eq!(c.port, 6379);
    assert_eq!(c.dir, "./data");
    assert_eq!(c.dbfilename, "dump.kevy");
    assert!(!c.appendonly);
    assert_eq!(c.appendfilename, "appendonly.aof");
    assert_eq!(c.appendfsync, AppendFsync::Everysec);
    assert_eq!(c.save, vec![(3600, 1), (300, 100), (60, 10000)]);
    assert_eq!((c.threads, c.shards, c.databases), (0, 0, 16));
    assert_eq!(c.maxmemory_policy, MaxmemoryPolicy::Noeviction);
    assert_eq!(c.effective_threads(8), 7);
    assert_eq!(c.effective_shards(8), 7);
    assert_eq!(c.effective_threads(2), 1);
    assert_eq!(c.effective_threads(1), 1);
}

#[test]
fn file_values_of_every_toml_shape() {
    let dir = Scratch::new();
    let f = dir.file(
        "kevy.toml",
        r#"
# comment
port = 7000
protected-mode = false
appendonly = "yes"
maxmemory = "100mb"
auto-aof-rewrite-min-size = 1048576
bind = ["10.0.0.1", "::1"]
save = "900 1 300 10"
appendfsync = "ALWAYS"
latency-tracking-info-percentiles = [50, 99.5]
"#,
    );
    let l = load(&args(&["--config", f.to_str().unwrap()]), &[]).unwrap();
    assert_eq!(
        l.file.as_deref(),
        Some(std::fs::canonicalize(&f).unwrap().as_path())
    );
    let c = l.config;
    assert_eq!(c.port, 7000);
    assert!(!c.protected_mode);
    assert!(c.appendonly);
    assert_eq!(c.maxmemory, 100 << 20);
    assert_eq!(c.auto_aof_rewrite_min_size, 1 << 20);
    assert_eq!(c.bind, vec!["10.0.0.1", "::1"]);
    assert_eq!(c.save, vec![(900, 1), (300, 10)]);
    assert_eq!(c.appendfsync, AppendFsync::Always);
    assert_eq!(c.latency_tracking_info_percentiles, vec![50.0, 99.5]);
}

#[test]
fn precedence_file_then_env_then_flags() {
    let dir = Scratch::new();
    let f = dir.file("k.toml", "port = 1000\nhz = 20\nmaxmemory = \"1mb\"\n");
    let f = f.to_str().unwrap();
    let e = env(&[("KEVY_PORT", "2000"), ("KEVY_HZ", "30"), ("PATH", "/bin")]);

    let c = load(&args(&["--config", f]), &[]).unwrap().config;
    assert_eq!((c.port, c.hz, c.maxmemory), (1000, 20, 1 << 20));

    let c = load(&args(&["--config", f]), &e).unwrap().config;
    assert_eq!((c.port, c.hz, c.maxmemory), (2000, 30, 1 << 20));

    let c = load(&args(&["--config", f, "--port", "3000"]), &e)
        .unwrap()
        .config;
    assert_eq!((c.port, c.hz, c.maxmemory), (3000, 30, 1 << 20));

    // Among flags, the last one wins.
    let c = load(&args(&["--port", "1", "--port=2"]), &[])
        .unwrap()
        .config;
    assert_eq!(c.port, 2);
}

#[test]
fn env_names_map_to_knob_names() {
    let e = env(&[
        ("KEVY_MAXMEMORY_POLICY", "allkeys-lru"),
        ("KEVY_APPENDFSYNC", "always"),
        ("KEVY_HASH_MAX_ZIPLIST_ENTRIES", "7"),
        ("OTHER_PORT", "1"),
    ]);
    let c = load(&[], &e).unwrap().config;
    assert_eq!(c.maxmemory_policy, MaxmemoryPolicy::AllkeysLru);
    assert_eq!(c.appendfsync, AppendFsync::Always);
    assert_eq!(c.hash_max_listpack_entries, 7);
    assert_eq!(c.port, 6379);
}

#[test]
fn file_selection_flag_env_positional() {
    let dir = Scratch::new();
    let a = dir.file("a.toml", "port = 1\n");
    let b = dir.file("b.toml", "port = 2\n");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let from_env = env(&[("KEVY_CONFIG", b)]);
    assert_eq!(load(&[], &from_env).unwrap().config.port, 2);
    assert_eq!(
        load(&args(&["--config", a]), &from_env)
            .unwrap()
            .config
            .port,
        1
    );
    assert_eq!(load(&args(&[a, "--hz", "5"]), &[]).unwrap().config.port, 1);
}

#[test]
fn redis_style_flags() {
    let c = load(
        &args(&[
            "--save",
            "900",
            "1",
            "--appendfsync",
            "always",
            "--slowlog-log-slower-than",
            "-1",
        ]),
        &[],
    )
    .unwrap()
    .config;
    assert_eq!(c.save, vec![(900, 1)]);
    assert_eq!(c.appendfsync, AppendFsync::Always);
    assert_eq!(c.slowlog_log_slower_than, -1);
    assert_eq!(
        load(&args(&["--save", ""]), &[]).unwrap().config.save,
        vec![]
    );
    assert_eq!(load(&args(&["--save"]), &[]).unwrap().config.save, vec![]);
}

#[test]
fn actions() {
    match load(&args(&["--port", "1", "--help"]), &[]).unwrap().action {
        CliAction::Help(text) => assert!(text.contains("--appendfsync <everysec|always|no>")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        load(&args(&["-v"]), &[]).unwrap().action,
        CliAction::Version
    );
    // --help wins even over a broken config: it reads nothing.
    assert!(load(&args(&["--port", "x", "--help"]), &[]).is_ok());
    assert_eq!(
        load(&args(&["--check-aof", "dir/appendonly.aof", "--fix"]), &[])
            .unwrap()
            .action,
        CliAction::CheckAof {
            file: "dir/appendonly.aof".into(),
            fix: true
        }
    );
}

#[test]
fn unknown_keys_stop_start_up_naming_the_source() {
    let dir = Scratch::new();
    let f = dir.file("k.toml", "apendfsync = \"always\"\n");
    let err = load(&args(&["--config", f.to_str().unwrap()]), &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownOption { source: Source::File(_), key, suggestion: Some("appendfsync") } if key == "apendfsync")
    );
    let msg = err.to_string();
    assert!(
        msg.contains("k.toml")
            && msg.contains("'apendfsync'")
            && msg.contains("did you mean 'appendfsync'"),
        "{msg}"
    );

    let err = load(&[], &env(&[("KEVY_NOPE", "1")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("environment variable KEVY_NOPE") && err.contains("'nope'"),
        "{err}"
    );

    let err = load(&args(&["--prot", "1"]), &[]).unwrap_err().to_string();
    assert!(
        err.contains("command line") && err.contains("'prot'") && err.contains("'port'"),
        "{err}"
    );
}

#[test]
fn bad_values_name_source_key_value_and_what_is_allowed() {
    /// Flags, environment, and what the message must mention.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            &["--appendfsync", "sometimes"],
            &[],
            &[
                "command line",
                "'appendfsync'",
                "\"sometimes\"",
                "everysec, always, no",
            ],
        ),
        (
            &["--port", "70000"],
            &[],
            &["'port'", "\"70000\"", "between 0 and 65535"],
        ),
        (
            &[],
            &[("KEVY_MAXMEMORY", "lots")],
            &["KEVY_MAXMEMORY", "\"lots\"", "memory", "mb"],
        ),
        (
            &["--protected-mode", "maybe"],
            &[],
            &["'protected-mode'", "yes or no"],
        ),
        (
            &["--save", "900"],
            &[],
            &["Invalid save parameters", "seconds changes"],
        ),
        (&["--daemonize", "yes"], &[], &["service manager"]),
        (&["--dbfilename", "a/b"], &[], &["can't be a path"]),
    ];
    for (a, e, parts) in cases {
        let err = load(&args(a), &env(e)).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidValue { .. }), "{err:?}");
        let msg = err.to_string();
        for p in *parts {
            assert!(msg.contains(p), "{msg:?} lacks {p:?}");
        }
    }
}

#[test]
fn bad_files() {
    let dir = Scratch::new();
    let missing = dir.path().join("missing.toml");
    let err = load(&args(&["--config", missing.to_str().unwrap()]), &[]).unwrap_err();
    assert!(matches!(err, ConfigError::File { .. }), "{err:?}");

    let f = dir.file("bad.toml", "port = \n");
    let err = load(&args(&["--config", f.to_str().unwrap()]), &[]).unwrap_err();
    assert!(matches!(err, ConfigError::File { .. }), "{err:?}");

    let f = dir.file("wrongtype.toml", "port = true\n");
    let err = load(&args(&["--config", f.to_str().unwrap()]), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("'port'") && err.contains("integer"), "{err}");

    let f = dir.file(
        "twice.toml",
        "hash-max-ziplist-entries = 1\nhash-max-listpack-entries = 2\n",
    );
    let err = load(&args(&["--config", f.to_str().unwrap()]), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("already set"), "{err}");

    let f = dir.file("table.toml", "[server]\nport = 1\n");
    let err = load(&args(&["--config", f.to_str().unwrap()]), &[]).unwrap_err();
    assert!(
        matches!(err, ConfigError::UnknownOption { ref key, .. } if key == "server"),
        "{err:?}"
    );
}

#[test]
fn sample_toml_is_the_default_config() {
    let dir = Scratch::new();
    let f = dir.file("sample.toml", &kevy_config::sample_toml());
    let l = load(&args(&["--config", f.to_str().unwrap()]), &[]).unwrap();
    assert_eq!(l.config, Config::default());
}
