//! kevy_store in-process, no server and no files: a leaderboard and a job
//! queue shared by worker threads through one `Kevy` handle, an atomic
//! transfer, and a consistent snapshot iterated while writes go on.
//!
//! `cargo run -p kevy_store --example in_memory`

use kevy_store::{CmdError, Kevy, Value};
use std::time::Duration;

fn main() -> Result<(), CmdError> {
    // 4 shards (locks), 16 databases; clones share the keyspace.
    let kv = Kevy::new(4, 16);

    // Typed operations with Redis semantics.
    kv.set("greeting", "hello")?;
    kv.set_ex("session:42", "token", Duration::from_secs(30))?;
    kv.hset_many("user:1", [("name", "ada"), ("lang", "en")])?;
    kv.rpush("jobs", (0..1000).map(|i| format!("job-{i}")))?;

    // Four workers drain the queue and score themselves; LPOP is atomic, so
    // every job is taken exactly once.
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let kv = kv.clone();
            std::thread::spawn(move || -> Result<u64, CmdError> {
                let mut done = 0;
                while let Some(_job) = kv.lpop("jobs")? {
                    kv.zincr_by("board", 1.0, format!("worker-{w}"))?;
                    done += 1;
                }
                Ok(done)
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.join().expect("worker panicked")?;
    }
    assert_eq!(total, 1000);
    println!("leaderboard:");
    for (member, score) in kv.zrange_withscores("board", 0, -1)? {
        println!("  {:<10} {score}", String::from_utf8_lossy(&member));
    }

    // MULTI/EXEC: both keys' shards are locked for the whole batch.
    kv.set("alice", "100")?;
    let replies = kv.atomic(&[
        &[&b"DECRBY"[..], b"alice", b"30"],
        &[&b"INCRBY"[..], b"bob", b"30"],
    ]);
    println!("transfer: {replies:?}");

    // A frozen copy of everything, at one instant; later writes don't show.
    let snap = kv.snapshot();
    kv.set("greeting", "changed")?;
    println!("snapshot of {} keys:", snap.len());
    let mut rows: Vec<_> = snap.iter().collect();
    rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (db, key, entry) in rows {
        let shown = match &entry.value {
            Value::Str(s) => format!("{:?}", String::from_utf8_lossy(s)),
            other => other.type_name().to_string(),
        };
        let ttl = entry
            .expire_at()
            .map_or(String::new(), |at| format!(" (expires at {at})"));
        println!("  db{db} {:<12} {shown}{ttl}", String::from_utf8_lossy(key));
    }

    // Raw commands: argv in, the server's reply out.
    println!(
        "OBJECT ENCODING user:1 -> {:?}",
        kv.command(0, &[b"OBJECT", b"ENCODING", b"user:1"])
    );
    println!(
        "WRONGTYPE as a typed error -> {:?}",
        kv.lpush("greeting", ["x"])
    );
    Ok(())
}
