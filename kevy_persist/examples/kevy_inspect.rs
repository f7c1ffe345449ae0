//! `kevy_inspect`: a read-only tool for a kevy data directory (what
//! `kevy-server` or a `Durable` store wrote). It never writes, truncates or
//! renames anything, so it is safe on the directory of a running server.
//!
//! ```text
//! kevy_inspect verify DIR            check every file's checksums; exit 1 on damage
//! kevy_inspect keys DIR [PATTERN]    list keys (type, TTL) of the durable state
//! kevy_inspect dump DIR KEY          print a key as the commands that rebuild it
//! options: --db N (default 0), --databases N (default 16),
//!          --dbfilename NAME (dump.kevy), --appendfilename NAME (appendonly.aof)
//! ```
//!
//! `verify` reads the manifest (itself checksummed), then each file it
//! names: a snapshot must verify its header and every section checksum, an
//! AOF every write group's CRC32C frame. Damage is reported as
//! `file: CORRUPT at offset N: reason`; a torn AOF tail (a crash mid-write,
//! which recovery cuts off) as `TORN at offset N (L bytes)`. Files in the
//! directory that the manifest does not name are listed as stray.
//!
//! `keys` and `dump` load the state the way recovery does, but stop at the
//! valid prefix of a damaged AOF instead of cutting the file.

use bytes::Bytes;
use kevy_persist::{
    load_snapshot, read_snapshot, scan_aof, Manifest, OsFs, PersistError, RecoverReport, Tail,
    MANIFEST_NAME,
};
use kevy_store::{glob_match, Kevy, Snapshot, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

struct Opts {
    db: usize,
    ndbs: usize,
    dbfilename: String,
    appendfilename: String,
}

const USAGE: &str = "usage: kevy_inspect (verify DIR | keys DIR [PATTERN] | dump DIR KEY) \
[--db N] [--databases N] [--dbfilename NAME] [--appendfilename NAME]";

fn main() -> ExitCode {
    let mut pos = Vec::new();
    let mut o = Opts {
        db: 0,
        ndbs: 16,
        dbfilename: "dump.kevy".into(),
        appendfilename: "appendonly.aof".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = match a.as_str() {
            "--db" | "--databases" | "--dbfilename" | "--appendfilename" => it.next(),
            _ => {
                pos.push(a);
                continue;
            }
        };
        let Some(v) = v else {
            eprintln!("{a} needs a value\n{USAGE}");
            return ExitCode::from(2);
        };
        let n = v.parse::<usize>();
        match (a.as_str(), n) {
            ("--db", Ok(n)) => o.db = n,
            ("--databases", Ok(n)) => o.ndbs = n.max(1),
            ("--dbfilename", _) => o.dbfilename = v,
            ("--appendfilename", _) => o.appendfilename = v,
            _ => {
                eprintln!("{a}: not a number: {v}");
                return ExitCode::from(2);
            }
        }
    }
    let r = match pos.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["verify", dir] => verify(Path::new(dir), &o),
        ["keys", dir] => keys(Path::new(dir), "*", &o),
        ["keys", dir, pat] => keys(Path::new(dir), pat, &o),
        ["dump", dir, key] => dump(Path::new(dir), key, &o),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("kevy_inspect: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The files that make up the durable state: (shard, snapshots, AOFs).
struct Layout {
    nshards: usize,
    manifest: bool,
    snapshots: Vec<(Option<usize>, PathBuf)>,
    aofs: Vec<(Option<usize>, PathBuf)>,
}

fn layout(dir: &Path, o: &Opts) -> Result<Layout, PersistError> {
    if let Some(m) = Manifest::load(&OsFs, dir)? {
        let mut l = Layout {
            nshards: m.shards.len(),
            manifest: true,
            snapshots: Vec::new(),
            aofs: Vec::new(),
        };
        for (i, sh) in m.shards.iter().enumerate() {
            if let Some((name, _)) = &sh.snapshot {
                l.snapshots.push((Some(i), dir.join(name)));
            }
            l.aofs
                .extend(sh.aofs.iter().map(|a| (Some(i), dir.join(a))));
        }
        return Ok(l);
    }
    // No manifest: a Redis-style directory with one snapshot and one AOF.
    let snap = dir.join(&o.dbfilename);
    let aof = dir.join(&o.appendfilename);
    Ok(Layout {
        nshards: 1,
        manifest: false,
        snapshots: snap.exists().then_some((None, snap)).into_iter().collect(),
        aofs: aof.exists().then_some((None, aof)).into_iter().collect(),
    })
}

fn read(path: &Path) -> Result<Vec<u8>, PersistError> {
    std::fs::read(path).map_err(|e| PersistError::io(path, "read", e))
}

fn verify(dir: &Path, o: &Opts) -> Result<bool, PersistError> {
    let l = match layout(dir, o) {
        Ok(l) => l,
        Err(e @ PersistError::Corrupt { .. }) => {
            println!("{MANIFEST_NAME}: CORRUPT: {e}");
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    let mut ok = true;
    if l.manifest {
        println!("{MANIFEST_NAME}: ok ({} shards)", l.nshards);
    } else {
        println!(
            "no {MANIFEST_NAME}: checking {} and {}",
            o.dbfilename, o.appendfilename
        );
    }
    let mut named = vec![MANIFEST_NAME.to_string()];
    for (_, path) in &l.snapshots {
        named.push(file_name(path));
        let data = match read(path) {
            Ok(d) => d,
            Err(e) => {
                println!("{}: MISSING: {e}", path.display());
                ok = false;
                continue;
            }
        };
        match read_snapshot(path, &data, |_, _, _, _| Ok(())) {
            Ok(h) => println!(
                "{}: ok (snapshot of shard {}/{}, {} entries, {} bytes)",
                path.display(),
                h.shard,
                h.nshards,
                h.entries,
                data.len()
            ),
            Err(PersistError::Corrupt { offset, reason, .. }) => {
                println!("{}: CORRUPT at offset {offset}: {reason}", path.display());
                ok = false;
            }
            Err(e) => return Err(e),
        }
    }
    for (_, path) in &l.aofs {
        named.push(file_name(path));
        let data = match read(path) {
            Ok(d) => d,
            Err(e) => {
                println!("{}: MISSING: {e}", path.display());
                ok = false;
                continue;
            }
        };
        let scan = scan_aof(&data, |_, _| Ok::<(), PersistError>(()))?;
        let what = if scan.kevy { "kevy AOF" } else { "RESP AOF" };
        match &scan.tail {
            Tail::Clean => println!(
                "{}: ok ({what}, {} commands, {} bytes)",
                path.display(),
                scan.commands,
                data.len()
            ),
            Tail::Torn { offset, len } => println!(
                "{}: TORN at offset {offset} ({len} bytes after {} valid commands; recovery cuts them off)",
                path.display(),
                scan.commands
            ),
            Tail::Corrupt { offset, reason } => {
                println!("{}: CORRUPT at offset {offset}: {reason}", path.display());
                ok = false;
            }
            other => {
                println!("{}: unexpected end {other:?}", path.display());
                ok = false;
            }
        }
    }
    if l.manifest {
        if let Ok(rd) = std::fs::read_dir(dir) {
            let mut stray: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !named.contains(n))
                .collect();
            stray.sort();
            for n in stray {
                println!("{n}: stray (not named by the manifest; recovery ignores it)");
            }
        }
    }
    println!("{}", if ok { "verify: OK" } else { "verify: DAMAGED" });
    Ok(ok)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Rebuilds the durable state in memory without touching the directory.
fn load(dir: &Path, o: &Opts) -> Result<Snapshot, PersistError> {
    let l = layout(dir, o)?;
    let store = Store::new(l.nshards, o.ndbs);
    let mut rep = RecoverReport::default();
    for (_, path) in &l.snapshots {
        load_snapshot(&OsFs, &store, path, &mut rep)?;
    }
    for (only, path) in &l.aofs {
        replay_prefix(&store, path, *only)?;
    }
    let kv = Kevy::from_store(std::sync::Arc::new(store));
    Ok(kv.snapshot())
}

/// Replays the valid prefix of one AOF (what recovery would keep).
fn replay_prefix(store: &Store, path: &Path, only: Option<usize>) -> Result<(), PersistError> {
    let data = Bytes::from(read(path)?);
    let now = kevy_store::system_now_ms();
    let mut db = 0usize;
    let scan = scan_aof(&data, |off, args| {
        let argv: Vec<Bytes> = args.iter().map(|r| data.slice(r.clone())).collect();
        let name = &argv[0];
        if name.eq_ignore_ascii_case(b"select") && argv.len() == 2 {
            db = std::str::from_utf8(&argv[1])
                .ok()
                .and_then(|s| s.parse().ok())
                .filter(|&n| n < store.ndbs())
                .ok_or_else(|| PersistError::Replay {
                    path: path.into(),
                    offset: off,
                    reason: "bad SELECT".into(),
                })?;
            return Ok(());
        }
        if name.eq_ignore_ascii_case(b"multi") || name.eq_ignore_ascii_case(b"exec") {
            return Ok(());
        }
        if let kevy_resp::Reply::Error(e) = store.replay(only, db, &argv, now) {
            eprintln!(
                "{}: the command at offset {off} failed on replay: {}",
                path.display(),
                String::from_utf8_lossy(&e)
            );
        }
        Ok(())
    })?;
    if let Tail::Torn { offset, .. } | Tail::Corrupt { offset, .. } = scan.tail {
        eprintln!(
            "{}: damaged at offset {offset}: loaded the valid prefix only",
            path.display()
        );
    }
    Ok(())
}

fn keys(dir: &Path, pattern: &str, o: &Opts) -> Result<bool, PersistError> {
    let snap = load(dir, o)?;
    let mut rows: Vec<(Vec<u8>, &'static str, Option<u64>)> = snap
        .iter()
        .filter(|(db, k, _)| *db == o.db && glob_match(pattern.as_bytes(), k, false))
        .map(|(_, k, e)| (k.to_vec(), e.value.type_name(), e.expire_at()))
        .collect();
    rows.sort();
    for (k, t, exp) in &rows {
        let ttl = match exp {
            Some(at) => format!(
                "expires at {at} (ms, {} ms from now)",
                at.saturating_sub(snap.taken_at_ms())
            ),
            None => "no expiry".into(),
        };
        println!("{}\t{t}\t{ttl}", k.escape_ascii());
    }
    eprintln!("{} keys in db {}", rows.len(), o.db);
    Ok(true)
}

fn dump(dir: &Path, key: &str, o: &Opts) -> Result<bool, PersistError> {
    let snap = load(dir, o)?;
    let Some(e) = snap.get(o.db, key) else {
        println!("(no such key in db {})", o.db);
        return Ok(false);
    };
    println!(
        "key {} in db {}: {} ({}), {}",
        key,
        o.db,
        e.value.type_name(),
        e.value.encoding(),
        match e.expire_at() {
            Some(at) => format!("expires at {at} ms"),
            None => "no expiry".into(),
        }
    );
    for cmd in e.value.restore_commands(key.as_bytes()) {
        let words: Vec<String> = cmd
            .iter()
            .map(|a| format!("\"{}\"", a.escape_ascii()))
            .collect();
        println!("{}", words.join(" "));
    }
    if let Some(at) = e.expire_at() {
        println!("\"PEXPIREAT\" \"{}\" \"{at}\"", key.escape_default());
    }
    Ok(true)
}
