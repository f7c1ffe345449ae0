//! INFO's shape: the section headers and field names Redis 7.0 has, which
//! monitoring tools and client libraries parse. Values differ between
//! servers, so this is not a differential script.

use crate::util::{Conn, Redis, Server};

/// The INFO text (the bulk's payload) as seen on `c`.
fn info(c: &mut Conn, section: &str) -> String {
    let reply = if section.is_empty() {
        c.cmd("INFO")
    } else {
        c.cmd(&format!("INFO {section}"))
    };
    let payload = crate::util::scalar(&reply)
        .unwrap_or_else(|| panic!("INFO {section} replied {}", crate::util::escape(&reply)));
    String::from_utf8_lossy(&payload).into_owned()
}

const SECTIONS: &[&str] = &[
    "# Server",
    "# Clients",
    "# Memory",
    "# Persistence",
    "# Stats",
    "# Replication",
    "# CPU",
    "# Keyspace",
];

/// Fields that tools read, per section.
const FIELDS: &[&str] = &[
    "redis_version:7.0.",
    "kevy_version:",
    "redis_mode:standalone",
    "os:",
    "arch_bits:64",
    "process_id:",
    "run_id:",
    "tcp_port:",
    "uptime_in_seconds:",
    "uptime_in_days:",
    "hz:",
    "executable:",
    "config_file:",
    "connected_clients:",
    "maxclients:",
    "blocked_clients:",
    "used_memory:",
    "used_memory_human:",
    "used_memory_rss:",
    "used_memory_peak:",
    "maxmemory:",
    "maxmemory_human:",
    "maxmemory_policy:",
    "mem_fragmentation_ratio:",
    "loading:",
    "rdb_changes_since_last_save:",
    "rdb_bgsave_in_progress:",
    "rdb_last_save_time:",
    "rdb_last_bgsave_status:",
    "aof_enabled:",
    "aof_rewrite_in_progress:",
    "aof_last_bgrewrite_status:",
    "aof_last_write_status:",
    "total_connections_received:",
    "total_commands_processed:",
    "instantaneous_ops_per_sec:",
    "total_net_input_bytes:",
    "total_net_output_bytes:",
    "rejected_connections:",
    "expired_keys:",
    "evicted_keys:",
    "keyspace_hits:",
    "keyspace_misses:",
    "role:master",
    "connected_slaves:",
    "master_replid:",
    "master_repl_offset:",
    "used_cpu_sys:",
    "used_cpu_user:",
];

#[test]
fn info_has_redis_sections_and_fields() {
    let server = Server::start(&["--threads", "2"]);
    let mut c = server.conn();
    c.expect("MSET a 1 b 2 c 3", "+OK\r\n");
    c.expect("EXPIRE a 100", ":1\r\n");
    c.expect("SELECT 3", "+OK\r\n");
    c.expect("SET x 1", "+OK\r\n");
    let text = info(&mut c, "");
    assert!(
        text.starts_with("# Server\r\n"),
        "INFO starts with: {:?}",
        &text[..text.len().min(40)]
    );
    assert!(text.ends_with("\r\n"), "INFO doesn't end with CRLF");
    let lines: Vec<&str> = text.split("\r\n").collect();
    let mut at = 0;
    for section in SECTIONS {
        let pos = lines.iter().position(|l| l == section);
        let pos = pos.unwrap_or_else(|| panic!("INFO lacks {section}:\n{text}"));
        assert!(pos >= at, "{section} is out of Redis's order:\n{text}");
        at = pos;
    }
    let missing: Vec<&str> = FIELDS
        .iter()
        .copied()
        .filter(|f| !lines.iter().any(|l| l.starts_with(f)))
        // redis-server itself (self-test mode) has no kevy_version.
        .filter(|f| !(crate::util::selftest() && *f == "kevy_version:"))
        .collect();
    assert!(missing.is_empty(), "INFO lacks {missing:?}:\n{text}");
    // Every non-header line is `field:value`.
    for l in &lines {
        assert!(
            l.is_empty() || l.starts_with("# ") || l.contains(':'),
            "odd INFO line {l:?}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("db0:keys=3,expires=1,avg_ttl=")),
        "keyspace:\n{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("db3:keys=1,expires=0,avg_ttl=")),
        "keyspace:\n{text}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("db1:")),
        "empty dbs are not listed:\n{text}"
    );
}

#[test]
fn info_sections_on_demand() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let server_only = info(&mut c, "server");
    assert!(server_only.starts_with("# Server\r\n"), "{server_only}");
    assert!(!server_only.contains("# Clients"), "{server_only}");
    let two = info(&mut c, "clients memory");
    assert!(
        two.contains("# Clients\r\n") && two.contains("# Memory\r\n"),
        "{two}"
    );
    assert!(!two.contains("# Server"), "{two}");
    let keyspace = info(&mut c, "KEYSPACE");
    assert_eq!(keyspace, "# Keyspace\r\n", "empty keyspace");
    assert_eq!(info(&mut c, "nosuchsection"), "");
    let all = info(&mut c, "all");
    for section in SECTIONS {
        assert!(all.contains(section), "INFO all lacks {section}");
    }
    let everything = info(&mut c, "everything");
    assert!(everything.contains("# Keyspace"), "INFO everything");
    let default = info(&mut c, "default");
    assert!(
        default.contains("# Server") && default.contains("# Keyspace"),
        "INFO default"
    );
}

#[test]
fn info_stats_count() {
    let server = Server::start(&["--threads", "2"]);
    let mut c = server.conn();
    c.cmd("SET hit 1");
    c.cmd("GET hit");
    c.cmd("GET hit");
    c.cmd("GET miss");
    let stat = |text: &str, name: &str| -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    let stats = info(&mut c, "stats");
    assert_eq!(stat(&stats, "keyspace_hits"), 2, "{stats}");
    assert_eq!(stat(&stats, "keyspace_misses"), 1, "{stats}");
    assert!(stat(&stats, "total_commands_processed") >= 4, "{stats}");
    assert!(stat(&stats, "total_connections_received") >= 1, "{stats}");
    assert!(stat(&stats, "total_net_input_bytes") > 0, "{stats}");
    assert!(stat(&stats, "total_net_output_bytes") > 0, "{stats}");
    // A second connection, opened (and answered, so surely accepted) before.
    let mut other = server.conn();
    other.expect("PING", "+PONG\r\n");
    let clients = info(&mut c, "clients");
    assert_eq!(stat(&clients, "connected_clients"), 2, "{clients}");
    c.expect("CONFIG RESETSTAT", "+OK\r\n");
    let stats = info(&mut c, "stats");
    assert_eq!(stat(&stats, "keyspace_hits"), 0, "{stats}");
    assert_eq!(stat(&stats, "keyspace_misses"), 0, "{stats}");
}

/// Not an assertion, a report: Redis INFO fields kevy doesn't print yet.
#[test]
fn info_fields_missing_compared_to_redis() {
    let Some(redis) = Redis::start() else { return };
    let server = Server::start(&[]);
    let theirs = info(&mut redis.conn(), "");
    let ours = info(&mut server.conn(), "");
    let names = |t: &str| -> Vec<String> {
        t.lines()
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
            .collect()
    };
    let ours = names(&ours);
    let missing: Vec<String> = names(&theirs)
        .into_iter()
        .filter(|f| !ours.contains(f))
        .collect();
    println!(
        "INFO fields redis-server has and kevy lacks ({}): {missing:?}",
        missing.len()
    );
}
