//! `carecard-host diagnose`: what a service desk needs to see, printed for a person.

#![allow(clippy::print_stdout)]

use crate::config::{Config, DEVELOPMENT_EXTENSION_ID};
use crate::logging;
use carecard_card::Pcsc;
use carecard_protocol::hex_upper;

pub fn run(config: &Config) {
    println!("carecard-host {}", env!("CARGO_PKG_VERSION")); // stdout-ok
    println!("config file: {}", config.source.display()); // stdout-ok
    if let Some(problem) = &config.problem {
        println!("  problem: {problem} (defaults used)"); // stdout-ok
    }
    let extensions = config.allowed_extension_ids.join(" ");
    println!("allowed extensions: {DEVELOPMENT_EXTENSION_ID} (development) {extensions}"); // stdout-ok // stdout-ok
    println!("developer mode: {}", config.developer_mode); // stdout-ok
    println!("log level: {}", config.log_level); // stdout-ok
    match logging::log_path() {
        Some(path) => println!("log file: {}", path.display()), // stdout-ok
        None => println!("log file: none (stderr)"),            // stdout-ok
    }
    match Pcsc::establish().and_then(|p| p.readers()) {
        Ok(readers) => {
            println!("PC/SC: available, {} reader(s)", readers.len()); // stdout-ok
            for r in readers {
                match r.atr {
                    Some(atr) => println!("  {}: card, ATR {}", r.name, hex_upper(&atr)), // stdout-ok
                    None => println!("  {}: no card", r.name), // stdout-ok
                }
            }
        }
        Err(e) => println!("PC/SC: unavailable ({e})"), // stdout-ok
    }
}
