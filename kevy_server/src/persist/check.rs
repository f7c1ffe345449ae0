//! `kevy-server --check-aof FILE [--fix]`: reports what a data file holds and
//! where it stops making sense, and cuts a damaged tail off on request.

use kevy_persist::{check_aof, OsFs, Tail};

/// `kevy-server --check-aof FILE [--fix]`: prints a report, returns the exit code.
pub fn check_aof_cli(file: &std::path::Path, fix: bool) -> u8 {
    match check_aof(&OsFs, file, fix) {
        Ok(r) => {
            let kind = if r.scan.kevy {
                "kevy AOF"
            } else {
                "RESP AOF without kevy magic"
            };
            println!(
                "{}: {kind}, {} bytes, {} commands",
                file.display(),
                r.size,
                r.scan.commands
            );
            match &r.scan.tail {
                Tail::Clean => {
                    println!("AOF is valid");
                    0
                }
                Tail::Torn { offset, len } => {
                    println!("AOF ends in an incomplete frame at offset {offset} ({len} bytes)");
                    report_fix(&r, fix)
                }
                Tail::Corrupt { offset, reason } => {
                    println!("AOF is damaged: {reason}; the valid prefix ends at offset {offset}");
                    report_fix(&r, fix)
                }
                other => {
                    println!("AOF ends in an unexpected way: {other:?}");
                    report_fix(&r, fix)
                }
            }
        }
        Err(e) => {
            println!("cannot check {}: {e}", file.display());
            1
        }
    }
}

fn report_fix(r: &kevy_persist::CheckReport, fix: bool) -> u8 {
    if fix && r.fixed {
        println!(
            "Successfully truncated AOF to {} bytes ({} bytes moved to a quarantine file)",
            r.scan.valid_len,
            r.size - r.scan.valid_len
        );
        0
    } else {
        println!(
            "Run with --fix to truncate it to {} bytes",
            r.scan.valid_len
        );
        1
    }
}
