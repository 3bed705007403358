//! carecard-host: the native-messaging host Chrome/Edge/Firefox start for the carecard extension.
//!
//! stdout carries protocol frames and nothing else (except for `--version`, `--help` and
//! `diagnose`, which a person runs in a terminal).

#![forbid(unsafe_code)]

mod cards;
mod config;
mod diagnose;
mod dispatch;
mod errors;
mod framing;
mod handlers;
mod journal;
mod logging;
mod session;

// Rust's unwinder linked in from libgcc_eh.a rather than libgcc_s.so.1: one shared library fewer
// to load (and its constructor) on every start, ~0.05 ms of the cold start (scripts/bench).
// Panics unwind exactly as before. Whole archive: the standard library, which needs it, comes
// later on the link line.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[link(name = "gcc_eh", kind = "static", modifiers = "+whole-archive,-bundle")]
extern "C" {}

use carecard_protocol::{ErrorCode, Response, WireError};
use config::{Config, OriginError};
use dispatch::{Exit, Host};
use framing::FrameWriter;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "carecard-host — native messaging host for the carecard browser extension

Usage:
  carecard-host chrome-extension://<id>/   (started by Chrome or Edge)
  carecard-host <manifest path> <add-on ID> (started by Firefox)
  carecard-host diagnose                   PC/SC state, readers, configuration, log file
  carecard-host --version
  carecard-host --help";

fn main() -> ExitCode {
    // Windows adds --parent-window=<n>; the host has no windows of its own.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--parent-window="))
        .collect();
    match args.first().map(String::as_str) {
        Some("--version") => {
            #[allow(clippy::print_stdout)]
            {
                println!("carecard-host {}", env!("CARGO_PKG_VERSION")); // stdout-ok
            }
            return ExitCode::SUCCESS;
        }
        Some("--help") | Some("-h") => {
            #[allow(clippy::print_stdout)]
            {
                println!("{USAGE}"); // stdout-ok
            }
            return ExitCode::SUCCESS;
        }
        Some("diagnose") => {
            let config = Config::load();
            diagnose::run(&config);
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let config = Config::load();
    logging::init(config.log_level, config.log_max_bytes);
    for note in &config.notes {
        log::info!("config: {note}");
    }
    let writer = Arc::new(FrameWriter::new(Box::new(std::io::stdout())));
    // Chrome and Edge pass chrome-extension://<id>/; Firefox the manifest path and the add-on ID.
    match config.check_caller_args(&args) {
        Ok(caller) => log::info!("started {} for {caller}", env!("CARGO_PKG_VERSION")),
        Err(e) => return refuse_caller(&writer, &e),
    }
    let host = Host::new(&config, writer);
    let exit = host.serve(&mut framing::unbuffered_stdin());
    log::info!("stopped ({exit:?})");
    match exit {
        Exit::Clean => ExitCode::SUCCESS,
        Exit::Broken => ExitCode::FAILURE,
    }
}

fn refuse_caller(writer: &FrameWriter, e: &OriginError) -> ExitCode {
    let message = match e {
        OriginError::ConfigBroken { .. } => {
            log::error!("refused caller: {e}");
            "The smartcard host's configuration on this computer is broken, so it serves no browser extension. Ask your IT service desk to repair it."
        }
        _ => {
            log::warn!("refused caller: {e}");
            "This browser extension is not allowed to use the smartcard host. Ask your IT service desk to allow it."
        }
    };
    let error = WireError::new(ErrorCode::OriginNotAllowed, message);
    if let Err(e) = writer.write_frame(&Response::failure(None, error).to_vec()) {
        log::warn!("cannot write refusal: {e}");
    }
    ExitCode::FAILURE
}
