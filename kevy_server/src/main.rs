//! `kevy-server`: a multi-threaded Redis-protocol server.
//!
//! Start-up reads the configuration (defaults < kevy.toml < KEVY_* < flags),
//! binds the listeners, starts the event-loop threads (one per core but
//! one, by default) plus the background timer, and then the main thread
//! becomes the acceptor: it hands each new connection to a loop round-robin
//! and turns SIGINT/SIGTERM into an orderly shutdown.

mod acl;
mod alloc;
mod blocking;
mod cmd;
mod conn;
mod conn_io;
mod cron;
mod exec;
mod latency;
mod memory;
mod persist;
mod pubsub;
mod script;
mod shared;
mod slowlog;
mod table;
mod tracking;
mod worker;

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use shared::{Msg, Shared, WorkerHandle};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// The Redis release whose behaviour kevy matches; clients pick features by it.
pub const REDIS_VERSION: &str = "7.0.15";

/// Redis's reply to a remote client when protected mode refuses it.
const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

const ACCEPT_WAKER: Token = Token(usize::MAX);
const SIGNALS: Token = Token(usize::MAX - 1);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // vars_os: a variable that is not valid Unicode is skipped, not a panic.
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let loaded = match kevy_config::load(&args, &env) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("kevy-server: {e}");
            return ExitCode::from(2);
        }
    };
    match &loaded.action {
        kevy_config::CliAction::Run => {}
        kevy_config::CliAction::Help(text) => {
            println!("{text}");
            return ExitCode::SUCCESS;
        }
        kevy_config::CliAction::Version => {
            println!(
                "kevy-server v={} (Redis {} compatible)",
                env!("CARGO_PKG_VERSION"),
                REDIS_VERSION
            );
            return ExitCode::SUCCESS;
        }
        kevy_config::CliAction::CheckAof { file, fix } => {
            return ExitCode::from(persist::check_aof_cli(file, *fix));
        }
        other => {
            eprintln!("kevy-server: unsupported command-line action {other:?}");
            return ExitCode::from(2);
        }
    }
    match serve(loaded) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kevy-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bind_all(cfg: &kevy_config::Config) -> Result<Vec<TcpListener>, String> {
    let mut out = Vec::new();
    for b in &cfg.bind {
        let (optional, host) = match b.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, b.as_str()),
        };
        let host = if host == "*" { "0.0.0.0" } else { host };
        let addr: SocketAddr = match format!("{host}:{}", cfg.port)
            .parse()
            .or_else(|_| format!("[{host}]:{}", cfg.port).parse())
        {
            Ok(a) => a,
            Err(_) => return Err(format!("invalid bind address '{b}'")),
        };
        match TcpListener::bind(addr) {
            Ok(l) => out.push(l),
            Err(e) if optional => eprintln!("kevy-server: skipping optional bind {b}: {e}"),
            Err(e) => return Err(format!("could not bind {addr}: {e}")),
        }
    }
    if out.is_empty() {
        return Err("no address to listen on".into());
    }
    Ok(out)
}

fn serve(loaded: kevy_config::Loaded) -> Result<(), String> {
    let cfg = loaded.config.clone();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let nthreads = cfg.effective_threads(cores);
    let nshards = cfg.effective_shards(cores);
    std::fs::create_dir_all(&cfg.dir)
        .map_err(|e| format!("cannot create dir '{}': {e}", cfg.dir))?;
    let (store, persistence) = persist::start(&cfg, nshards)?;
    let libraries = persist::functions::load(std::path::Path::new(&cfg.dir))?;
    let mut listeners = bind_all(&cfg)?;
    let port = listeners[0].local_addr().map_err(|e| e.to_string())?.port();

    let mut accept_poll = Poll::new().map_err(|e| e.to_string())?;
    let acceptor_waker =
        Waker::new(accept_poll.registry(), ACCEPT_WAKER).map_err(|e| e.to_string())?;
    let mut polls = Vec::new();
    let mut workers = Vec::new();
    for _ in 0..nthreads {
        let p = Poll::new().map_err(|e| e.to_string())?;
        let w = Waker::new(p.registry(), worker::WAKER).map_err(|e| e.to_string())?;
        workers.push(WorkerHandle {
            inbox: parking_lot::Mutex::new(Vec::new()),
            waker: w,
        });
        polls.push(p);
    }
    let started_unix = shared::now_ms() / 1000;
    let live = kevy_config::Live::from_loaded(&loaded);
    let commands = table::CommandTable::new();
    let latency_by_index = slowlog::ByIndex::new(commands.len());
    let acl = acl::Acl::start(&cfg, &commands)?;
    let shared = Arc::new(Shared {
        store,
        persist: persistence,
        config: live,
        commands,
        acl,
        scripting: Default::default(),
        slowlog: Default::default(),
        latency_monitor: Default::default(),
        latencies: Default::default(),
        latency_by_index,
        blocking: Default::default(),
        pubsub: Default::default(),
        monitors: Default::default(),
        tracking: Default::default(),
        monitor_count: Default::default(),
        pause_until: Default::default(),
        pause_writes_only: Default::default(),
        clients: parking_lot::Mutex::new(Default::default()),
        next_client_id: std::sync::atomic::AtomicU64::new(1),
        stats: Default::default(),
        workers,
        shutdown: Default::default(),
        acceptor_waker,
        started: Instant::now(),
        started_unix,
        run_id: run_id(),
        port,
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        config_file: loaded
            .file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        peak_clients: Default::default(),
    });

    if !libraries.is_empty() {
        shared.scripting.libs().list = libraries;
        shared.scripting.libs_changed();
    }

    let mut handles = Vec::new();
    for (i, p) in polls.into_iter().enumerate() {
        let sh = shared.clone();
        let h = std::thread::Builder::new()
            .name(format!("kevy-io-{i}"))
            .spawn(move || worker::run(i, sh, p))
            .map_err(|e| e.to_string())?;
        handles.push(h);
    }
    persist::committer::spawn(&shared)?;
    {
        let sh = shared.clone();
        let h = std::thread::Builder::new()
            .name("kevy-cron".into())
            .spawn(move || cron::run(sh))
            .map_err(|e| e.to_string())?;
        handles.push(h);
    }

    for (i, l) in listeners.iter_mut().enumerate() {
        accept_poll
            .registry()
            .register(l, Token(i), Interest::READABLE)
            .map_err(|e| e.to_string())?;
    }
    let (mut sig_rx, sig_tx) = mio::net::UnixStream::pair().map_err(|e| e.to_string())?;
    let sig_tx: std::os::unix::net::UnixStream = sig_tx.into();
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let tx = sig_tx.try_clone().map_err(|e| e.to_string())?;
        signal_hook::low_level::pipe::register(sig, tx).map_err(|e| e.to_string())?;
    }
    accept_poll
        .registry()
        .register(&mut sig_rx, SIGNALS, Interest::READABLE)
        .map_err(|e| e.to_string())?;

    for l in &listeners {
        if let Ok(a) = l.local_addr() {
            println!(
                "kevy-server {} listening on {a} ({nthreads} threads, {nshards} shards)",
                env!("CARGO_PKG_VERSION")
            );
        }
    }
    let _ = std::io::stdout().flush();
    memory::record_startup();

    let mut events = Events::with_capacity(256);
    let mut next = 0usize;
    while !shared.shutdown.load(Ordering::SeqCst) {
        if let Err(e) = accept_poll.poll(&mut events, None) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("poll: {e}"));
        }
        for ev in events.iter() {
            match ev.token() {
                ACCEPT_WAKER => {}
                SIGNALS => {
                    let mut b = [0u8; 64];
                    let _ = sig_rx.read(&mut b);
                    eprintln!("kevy-server: received a shutdown signal, shutting down");
                    shared.begin_shutdown();
                }
                Token(i) => {
                    if let Some(l) = listeners.get(i) {
                        accept_ready(&shared, l, &mut next);
                    }
                }
            }
        }
    }
    shared.begin_shutdown();
    for h in handles {
        let _ = h.join();
    }
    if let Err(e) = shared
        .persist
        .shutdown(&shared.store, !shared.config.get().save.is_empty())
    {
        eprintln!("kevy-server: saving at shutdown failed: {e}");
    }
    eprintln!("kevy-server: bye");
    Ok(())
}

/// Redis's protected-mode notion of a local client: exactly 127.0.0.1 or
/// ::1 (another 127/8 address, e.g. from a container's veth, is remote).
fn is_local(ip: std::net::IpAddr) -> bool {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    match ip {
        IpAddr::V4(v4) => v4 == Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => {
            v6 == Ipv6Addr::LOCALHOST || v6.to_ipv4_mapped() == Some(Ipv4Addr::LOCALHOST)
        }
    }
}

/// Protected mode applies while the default user has `nopass` (Redis checks
/// that flag, whether or not the user is enabled).
fn default_user_nopass(shared: &Shared) -> bool {
    shared.acl.sync_requirepass(shared);
    shared.acl.get("default").is_some_and(|d| d.nopass)
}

fn accept_ready(shared: &Shared, l: &TcpListener, next: &mut usize) {
    loop {
        match l.accept() {
            Ok((mut sock, addr)) => {
                let cfg = shared.config.get();
                if cfg.protected_mode && !is_local(addr.ip()) && default_user_nopass(shared) {
                    let _ = sock.write(DENIED.as_bytes());
                    shared
                        .stats
                        .rejected_connections
                        .fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let max = cfg.maxclients as usize;
                drop(cfg);
                if shared.clients.lock().len() >= max {
                    let _ = sock.write(b"-ERR max number of clients reached\r\n");
                    shared
                        .stats
                        .rejected_connections
                        .fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let w = *next % shared.workers.len();
                *next = next.wrapping_add(1);
                shared.workers[w].send(Msg::NewConn(sock, addr));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("kevy-server: accept failed: {e}");
                return;
            }
        }
    }
}

fn run_id() -> String {
    let mut s = String::with_capacity(40);
    while s.len() < 40 {
        s.push_str(&format!("{:016x}", kevy_store::rand::next_u64()));
    }
    s.truncate(40);
    s
}
