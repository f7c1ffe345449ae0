//! Parses a kevy-server command line (and the `KEVY_*` environment and the
//! config file it names) and prints the resulting configuration as
//! `CONFIG GET *` would, one `name<TAB>value` per line, sorted by name.
//!
//! ```text
//! cargo run -p kevy_config --example dump_config -- --port 7000 --save "900 1"
//! cargo run -p kevy_config --example dump_config -- --help
//! cargo run -p kevy_config --example dump_config -- --sample-toml
//! ```

use kevy_config::{load, CliAction, Live};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--sample-toml") {
        print!("{}", kevy_config::sample_toml());
        return;
    }
    let env: Vec<(String, String)> = std::env::vars().collect();
    let loaded = match load(&args, &env) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    match &loaded.action {
        CliAction::Help(text) => print!("{text}"),
        CliAction::Version => println!("kevy_config {}", env!("CARGO_PKG_VERSION")),
        CliAction::CheckAof { file, fix } => {
            println!("would check {} (fix: {fix})", file.display());
        }
        CliAction::Run => {
            if let Some(f) = &loaded.file {
                eprintln!("# loaded from {}", f.display());
            }
            let mut all = Live::from_loaded(&loaded).config_get(&[b"*"]);
            all.sort();
            for (name, value) in all {
                println!("{name}\t{value}");
            }
        }
        other => eprintln!("unsupported action {other:?}"),
    }
}
