//! Crash test (`harness = false`): kevy-server runs with `appendonly yes`
//! and `appendfsync always`; concurrent writers (strings, overwritten hot
//! keys, counters, lists, expiries, cross-shard MSET and RENAME) record
//! every acknowledged write; the server is SIGKILLed at a random moment
//! (sometimes right after BGSAVE or BGREWRITEAOF), restarted with a random
//! thread count, and every acknowledged write must be there, while nothing
//! that was never written may appear. `KEVY_CRASH_ROUNDS` (default 20) sets
//! the number of kill/restart rounds, `KEVY_CRASH_SEED` the random seed.

#[path = "crash/client.rs"]
mod client;

use client::{Conn, Rng, R};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one writer knows: acknowledged effects, and the one operation in
/// flight when the server died (its effect may or may not be there).
#[derive(Default)]
struct Model {
    /// Keys that must hold exactly this value.
    must: HashMap<String, String>,
    /// Keys that may hold this value or be absent (unacknowledged, or short expiry).
    may: HashMap<String, String>,
    /// Keys that must not exist (renamed away).
    gone: HashSet<String>,
    /// Keys with a long expiry that must still have a TTL.
    ttl: HashSet<String>,
    counter: i64,
    counter_maybe: bool,
    list: Vec<String>,
    list_maybe: Option<String>,
    set: HashSet<String>,
    set_maybe: Option<String>,
    /// Hot keys: last acknowledged value, and a value in flight.
    hot: HashMap<String, (Option<String>, Option<String>)>,
    seq: u64,
    ops: u64,
}

fn writer(
    w: usize,
    port: u16,
    model: Arc<Mutex<Model>>,
    stop: Arc<AtomicBool>,
    seed: u64,
    lists: bool,
) {
    let Ok(mut c) = Conn::connect(port) else {
        return;
    };
    let mut rng = Rng(seed | 1);
    while !stop.load(Ordering::Relaxed) {
        let mut m = model.lock().unwrap();
        m.seq += 1;
        let i = m.seq;
        let kind = rng.below(if lists { 9 } else { 7 });
        // Record the intent first: if the call fails, it stays "maybe".
        let ok = match kind {
            0 => {
                let (k, v) = (format!("s:{w}:{i}"), format!("v{i}"));
                m.may.insert(k.clone(), v.clone());
                let r = c.call(&["SET", &k, &v]);
                if matches!(r, Ok(R::Ok(_))) {
                    m.may.remove(&k);
                    m.must.insert(k, v);
                    true
                } else {
                    false
                }
            }
            1 => {
                let k = format!("h:{w}:{}", i % 7);
                let v = format!("{i}");
                m.hot.entry(k.clone()).or_default().1 = Some(v.clone());
                let r = c.call(&["SET", &k, &v]);
                let ok = matches!(r, Ok(R::Ok(_)));
                if ok {
                    m.hot.insert(k, (Some(v), None));
                }
                ok
            }
            2 => {
                let k = format!("c:{w}");
                m.counter_maybe = true;
                match c.call(&["INCR", &k]) {
                    Ok(R::Int(n)) => {
                        assert_eq!(n, m.counter + 1, "INCR {k}");
                        m.counter = n;
                        m.counter_maybe = false;
                        true
                    }
                    _ => false,
                }
            }
            3 => {
                let (k, v) = (format!("e:{w}:{i}"), format!("v{i}"));
                m.may.insert(k.clone(), v.clone());
                let ok = matches!(c.call(&["SET", &k, &v, "PX", "600000"]), Ok(R::Ok(_)));
                if ok {
                    m.may.remove(&k);
                    m.must.insert(k.clone(), v);
                    m.ttl.insert(k);
                }
                ok
            }
            4 => {
                // Short expiry: may be gone by the time we look.
                let (k, v) = (format!("t:{w}:{i}"), format!("v{i}"));
                m.may.insert(k.clone(), v.clone());
                matches!(c.call(&["SET", &k, &v, "PX", "30"]), Ok(R::Ok(_)))
            }
            5 => {
                let (a, b, v) = (
                    format!("ma:{w}:{i}"),
                    format!("mb:{w}:{i}"),
                    format!("v{i}"),
                );
                m.may.insert(a.clone(), v.clone());
                m.may.insert(b.clone(), v.clone());
                let ok = matches!(c.call(&["MSET", &a, &v, &b, &v]), Ok(R::Ok(_)));
                if ok {
                    m.may.remove(&a);
                    m.may.remove(&b);
                    m.must.insert(a, v.clone());
                    m.must.insert(b, v);
                }
                ok
            }
            6 => {
                let (src, dst, v) = (
                    format!("rs:{w}:{i}"),
                    format!("rd:{w}:{i}"),
                    format!("v{i}"),
                );
                m.may.insert(src.clone(), v.clone());
                if !matches!(c.call(&["SET", &src, &v]), Ok(R::Ok(_))) {
                    false
                } else {
                    m.may.insert(dst.clone(), v.clone());
                    let ok = matches!(c.call(&["RENAME", &src, &dst]), Ok(R::Ok(_)));
                    if ok {
                        m.may.remove(&src);
                        m.may.remove(&dst);
                        m.gone.insert(src);
                        m.must.insert(dst, v);
                    }
                    ok
                }
            }
            7 => {
                let k = format!("st:{w}");
                let v = format!("m{i}");
                m.set_maybe = Some(v.clone());
                let ok = matches!(c.call(&["SADD", &k, &v]), Ok(R::Int(1)));
                if ok {
                    m.set.insert(v);
                    m.set_maybe = None;
                }
                ok
            }
            _ => {
                let k = format!("l:{w}");
                let v = format!("{i}");
                m.list_maybe = Some(v.clone());
                match c.call(&["RPUSH", &k, &v]) {
                    Ok(R::Int(n)) => {
                        m.list.push(v);
                        m.list_maybe = None;
                        assert_eq!(n as usize, m.list.len(), "RPUSH {k}");
                        true
                    }
                    _ => false,
                }
            }
        };
        if !ok {
            return;
        }
        m.ops += 1;
    }
}

/// Checks one writer's model against the restarted server, then folds the
/// outcome of the in-flight operations into it.
fn verify(w: usize, c: &mut Conn, m: &mut Model, lists: bool) -> Result<(), String> {
    for (k, v) in &m.must {
        let got = c.get(k);
        if got.as_deref() != Some(v) {
            return Err(format!("acknowledged {k}={v} but found {got:?}"));
        }
    }
    for k in &m.ttl {
        match c.call(&["PTTL", k]) {
            Ok(R::Int(t)) if t > 0 && t <= 600_000 => {}
            other => return Err(format!("{k} lost its expiry: PTTL {other:?}")),
        }
    }
    for k in &m.gone {
        if c.get(k).is_some() {
            return Err(format!("{k} was renamed away but exists"));
        }
    }
    for (k, v) in &m.may {
        if let Some(g) = c.get(k) {
            if &g != v {
                return Err(format!("{k} holds {g}, never written"));
            }
        }
    }
    for (k, (acked, pending)) in m.hot.iter_mut() {
        let got = c.get(k);
        if got != *acked && (got.is_none() || got != *pending) {
            return Err(format!(
                "hot {k}: acknowledged {acked:?}, in flight {pending:?}, found {got:?}"
            ));
        }
        *acked = got;
        *pending = None;
    }
    let got: i64 = c
        .get(&format!("c:{w}"))
        .map_or(0, |s| s.parse().unwrap_or(-1));
    if got != m.counter && !(m.counter_maybe && got == m.counter + 1) {
        return Err(format!(
            "counter c:{w}: acknowledged {} (in flight: {}), found {got}",
            m.counter, m.counter_maybe
        ));
    }
    m.counter = got;
    m.counter_maybe = false;
    if lists {
        let got = match c.call(&["LRANGE", &format!("l:{w}"), "0", "-1"]) {
            Ok(R::Arr(v)) => v
                .into_iter()
                .map(|r| {
                    if let R::Bulk(Some(b)) = r {
                        String::from_utf8_lossy(&b).into_owned()
                    } else {
                        String::new()
                    }
                })
                .collect::<Vec<_>>(),
            other => return Err(format!("LRANGE: {other:?}")),
        };
        let mut with = m.list.clone();
        with.extend(m.list_maybe.clone());
        if got != m.list && got != with {
            return Err(format!(
                "list l:{w}: acknowledged {} items, found {} ({:?}...)",
                m.list.len(),
                got.len(),
                got.last()
            ));
        }
        m.list = got;
        m.list_maybe = None;
        let got: HashSet<String> = match c.call(&["SMEMBERS", &format!("st:{w}")]) {
            Ok(R::Arr(v)) => v
                .into_iter()
                .map(|r| {
                    if let R::Bulk(Some(b)) = r {
                        String::from_utf8_lossy(&b).into_owned()
                    } else {
                        String::new()
                    }
                })
                .collect(),
            other => return Err(format!("SMEMBERS: {other:?}")),
        };
        let mut with = m.set.clone();
        with.extend(m.set_maybe.clone());
        if got != m.set && got != with {
            return Err(format!(
                "set st:{w}: acknowledged {} members, found {}",
                m.set.len(),
                got.len()
            ));
        }
        m.set = got;
        m.set_maybe = None;
    }
    Ok(())
}

/// Every key on the server must be one some writer may have written.
fn no_strangers(c: &mut Conn, models: &[Arc<Mutex<Model>>]) -> Result<usize, String> {
    let keys = match c.call(&["KEYS", "*"]) {
        Ok(R::Arr(v)) => v,
        other => return Err(format!("KEYS: {other:?}")),
    };
    let ms: Vec<_> = models.iter().map(|m| m.lock().unwrap()).collect();
    for k in &keys {
        let R::Bulk(Some(k)) = k else { continue };
        let k = String::from_utf8_lossy(k).into_owned();
        let known = ms.iter().enumerate().any(|(w, m)| {
            m.must.contains_key(&k)
                || m.may.contains_key(&k)
                || m.hot.contains_key(&k)
                || k == format!("c:{w}")
                || k == format!("l:{w}")
                || k == format!("st:{w}")
        });
        if !known {
            return Err(format!("key {k} was never written"));
        }
    }
    Ok(keys.len())
}

fn start(dir: &std::path::Path, threads: u64) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kevy-server"))
        .args([
            "--port",
            "0",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--threads",
            &threads.to_string(),
            "--dir",
        ])
        .arg(dir)
        // kevy-server reads KEVY_* variables as options: not ours.
        .env_remove("KEVY_CRASH_ROUNDS")
        .env_remove("KEVY_CRASH_SEED")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kevy-server");
    let out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            if !l.contains("listening") {
                eprintln!("    server: {l}");
            }
        }
    });
    let mut lines = BufReader::new(out).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(p) = l
                    .split("127.0.0.1:")
                    .nth(1)
                    .and_then(|r| r.split(' ').next())
                    .and_then(|p| p.parse().ok())
                {
                    std::thread::spawn(move || for _ in lines {});
                    return (child, p);
                }
            }
            _ => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("kevy-server did not start");
}

fn main() {
    // Speak enough of libtest's command line for `cargo test` filters and
    // for nextest, which lists tests with `--list --format terse`.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            println!("crash: test");
        }
        return;
    }
    if let Some(filter) = args.iter().find(|a| !a.starts_with('-')) {
        let exact = args.iter().any(|a| a == "--exact");
        if (exact && filter != "crash") || (!exact && !"crash".contains(filter.as_str())) {
            return;
        }
    }
    let rounds: u64 = std::env::var("KEVY_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("KEVY_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let mut rng = Rng(seed | 1);
    let dir = std::env::temp_dir().join(format!("kevy-crash-{}-{seed}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!(
        "crash test: {rounds} rounds, seed {seed}, dir {}",
        dir.display()
    );
    let writers = 4;
    let models: Vec<Arc<Mutex<Model>>> = (0..writers).map(|_| Arc::default()).collect();
    let mut lists = None;
    let t0 = Instant::now();
    for round in 0..rounds {
        let threads = 1 + rng.below(3);
        let (mut child, port) = start(&dir, threads);
        let mut c = Conn::connect(port).expect("connect");
        let lists_on = *lists.get_or_insert_with(|| {
            !matches!(c.call(&["RPUSH", "probe", "x"]), Ok(R::Err(_)))
                && !matches!(c.call(&["SADD", "probe2", "x"]), Ok(R::Err(_)))
                && c.call(&["DEL", "probe2"]).is_ok()
                && c.call(&["DEL", "probe"]).is_ok()
        });
        if round == 0 {
            println!(
                "lists and sets (RPUSH/LRANGE, SADD/SMEMBERS): {}",
                if lists_on {
                    "checked"
                } else {
                    "not available in this build, skipped"
                }
            );
        }
        let mut nkeys = 0;
        for (w, m) in models.iter().enumerate() {
            if let Err(e) = verify(w, &mut c, &mut m.lock().unwrap(), lists_on) {
                let _ = child.kill();
                eprintln!(
                    "FAILED in round {round} (seed {seed}, writer {w}): {e}\n  data kept in {}",
                    dir.display()
                );
                std::process::exit(1);
            }
        }
        match no_strangers(&mut c, &models) {
            Ok(n) => nkeys = n.max(nkeys),
            Err(e) => {
                let _ = child.kill();
                eprintln!(
                    "FAILED in round {round} (seed {seed}): {e}\n  data kept in {}",
                    dir.display()
                );
                std::process::exit(1);
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let hs: Vec<_> = (0..writers)
            .map(|w| {
                let (m, s, sd) = (models[w].clone(), stop.clone(), rng.next());
                std::thread::spawn(move || writer(w, port, m, s, sd, lists_on))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100 + rng.below(600)));
        let job = match rng.below(4) {
            0 => "BGSAVE",
            1 => "BGREWRITEAOF",
            _ => "",
        };
        if !job.is_empty() {
            let _ = c.call(&[job]);
            std::thread::sleep(Duration::from_millis(rng.below(20)));
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        stop.store(true, Ordering::Relaxed);
        for h in hs {
            let _ = h.join();
        }
        let ops: u64 = models.iter().map(|m| m.lock().unwrap().ops).sum();
        println!("round {round}: {threads} threads, {nkeys} keys verified, {ops} acknowledged ops so far{}", if job.is_empty() { String::new() } else { format!(", killed during {job}") });
    }
    // Final check after the last kill.
    let (mut child, port) = start(&dir, 2);
    let mut c = Conn::connect(port).expect("connect");
    for (w, m) in models.iter().enumerate() {
        if let Err(e) = verify(w, &mut c, &mut m.lock().unwrap(), lists.unwrap_or(false)) {
            let _ = child.kill();
            eprintln!("FAILED after the last round (seed {seed}, writer {w}): {e}");
            std::process::exit(1);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "crash test passed: {rounds} kill/restart rounds in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
