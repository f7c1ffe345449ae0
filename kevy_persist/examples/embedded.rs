//! kevy embedded in a program, with durability: opens a data directory,
//! recovers it, writes `--count` keys (`key:<i>` = `value:<i>`) in batches
//! through the store and its per-shard AOFs, then checkpoints (snapshot +
//! AOF rewrite). Kill it at any point (`kill -9`, or `--abort-after N` to
//! make it abort itself) and run it again: it reports how many keys came
//! back and checks that every acknowledged one did.
//!
//! ```text
//! cargo run --release -p kevy_persist --example embedded -- --dir /tmp/kv --count 1000000 --abort-after 600000
//! cargo run --release -p kevy_persist --example embedded -- --dir /tmp/kv --count 1000000
//! ```
//!
//! A key is acknowledged (printed as `acked N`) once the batch's `MSET`
//! returned: by then it is in the OS (and under `--fsync always`, on disk),
//! so a process kill cannot lose it; under `everysec` a power loss may lose
//! the last second.

use kevy_persist::{Durable, DurableOptions, Fsync};
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

struct Args {
    dir: String,
    count: u64,
    batch: u64,
    shards: usize,
    fsync: Fsync,
    abort_after: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        dir: "kevy-embedded-data".into(),
        count: 1_000_000,
        batch: 1000,
        shards: 4,
        fsync: Fsync::EverySec,
        abort_after: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        let num = |s: String| s.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--dir" => a.dir = val()?,
            "--count" => a.count = num(val()?)?,
            "--batch" => a.batch = num(val()?)?.max(1),
            "--shards" => a.shards = num(val()?)? as usize,
            "--abort-after" => a.abort_after = Some(num(val()?)?),
            "--fsync" => {
                a.fsync = match val()?.as_str() {
                    "always" => Fsync::Always,
                    "everysec" => Fsync::EverySec,
                    "no" => Fsync::No,
                    other => return Err(format!("--fsync: unknown policy {other}")),
                }
            }
            other => return Err(format!("unknown flag {other} (see the file's doc comment)")),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("embedded: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("embedded: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    let db = Durable::open(DurableOptions {
        nshards: a.shards,
        fsync: a.fsync,
        ..DurableOptions::new(&a.dir)
    })?;
    let kv = db.kevy();
    let rep = db.report();
    for line in &rep.log {
        println!("recovery: {line}");
    }
    let found = kv.dbsize()? as u64;
    println!(
        "opened {} in {} ms: {} keys ({} snapshot entries, {} AOF commands, {} files, {} bytes)",
        a.dir,
        t0.elapsed().as_millis(),
        found,
        rep.entries,
        rep.commands,
        rep.files,
        rep.bytes
    );

    // The keys are written in order, one MSET per batch, so every key below
    // the first missing one was acknowledged by a finished earlier run; keys
    // past a gap can only come from a batch that was cut short.
    let mut have = 0;
    while have < a.count {
        let n = (a.count - have).min(a.batch);
        let keys: Vec<String> = (have..have + n).map(|i| format!("key:{i}")).collect();
        let vals = kv.mget(&keys)?;
        let present = vals.iter().take_while(|v| v.is_some()).count() as u64;
        for (i, v) in vals.iter().enumerate().take(present as usize) {
            let want = format!("value:{}", have + i as u64);
            if v.as_deref() != Some(want.as_bytes()) {
                return Err(format!("key:{} holds {:?}, not {want}", have + i as u64, v).into());
            }
        }
        have += present;
        if present < n {
            break;
        }
    }
    println!("verified {have} keys written by earlier runs");

    let t1 = Instant::now();
    let mut out = std::io::stdout().lock();
    let mut i = have;
    while i < a.count {
        let n = (a.count - i).min(a.batch);
        kv.mset((i..i + n).map(|k| (format!("key:{k}"), format!("value:{k}"))))?;
        i += n;
        writeln!(out, "acked {i}")?;
        if a.abort_after.is_some_and(|x| i >= x) {
            out.flush()?;
            eprintln!("aborting after {i} acknowledged keys, as asked");
            std::process::abort();
        }
    }
    out.flush()?;
    drop(out);
    let written = a.count.saturating_sub(have);
    let secs = t1.elapsed().as_secs_f64();
    println!(
        "wrote {written} keys in {:.2} s ({:.0} keys/s)",
        secs,
        written as f64 / secs.max(1e-9)
    );
    let t2 = Instant::now();
    let bytes = db.checkpoint()?;
    println!(
        "checkpoint: {bytes} snapshot bytes in {} ms",
        t2.elapsed().as_millis()
    );
    db.close()?;
    Ok(())
}
