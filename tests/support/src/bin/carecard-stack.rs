//! `carecard-stack`: an isolated PC/SC stack as a process, for the browser tests and scripts,
//! plus the PC/SC probes the testkit runs inside a stack's environment.
//!
//! ```text
//! carecard-stack [--algorithm rsa2048|p256|p384] [--name "Given Family"] [--user-id 12 digits] [--no-card]
//!     Starts a stack with a fresh card inserted and prints one JSON line describing it:
//!     {"socket", "port", "reader", "dir", "env": {...}, "card": {"dir", "state", "caDer", "caPem"}}.
//!     Then reads commands, one per line, answering each with one JSON line
//!     ({"ok": true} or {"error": "..."}): insert, remove, stop-pcscd, start-pcscd, readers.
//!     End of stdin stops everything.
//! carecard-stack readers
//!     Prints [{"name", "atr"}] for the pcscd named by PCSCLITE_CSOCK_NAME.
//! carecard-stack wait --reader NAME --card present|absent [--timeout-ms N]
//!     Exits 0 once the reader shows a powered card (or none), 2 on timeout, 1 on error.
//! ```

#![allow(clippy::print_stdout)] // this tool's stdout is its interface

use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use carecard_testkit::probe::{establish, snapshot, wait_for_card, ReaderSnapshot};
use carecard_testkit::{CardDir, InsertedCard, ServeOptions, Stack};
use serde_json::{json, Value};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("readers") => readers(),
        Some("wait") => wait(&args[1..]),
        _ => serve(&args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("carecard-stack: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The value after `flag`, if given.
fn flag_value<'a>(args: &'a [String], flag: &str) -> Result<Option<&'a str>, String> {
    match args.iter().position(|a| a == flag) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .map(|v| Some(v.as_str()))
            .ok_or_else(|| format!("{flag} needs a value")),
    }
}

fn readers() -> Result<ExitCode, String> {
    let ctx =
        establish(Instant::now() + Duration::from_secs(5)).map_err(|e| format!("pcscd: {e}"))?;
    let readers = snapshot(&ctx).map_err(|e| format!("pcscd: {e}"))?;
    let list: Vec<Value> = readers.iter().map(ReaderSnapshot::to_json).collect();
    println!("{}", Value::Array(list));
    Ok(ExitCode::SUCCESS)
}

fn wait(args: &[String]) -> Result<ExitCode, String> {
    let reader = flag_value(args, "--reader")?.ok_or("--reader is required")?;
    let present = match flag_value(args, "--card")? {
        Some("present") | None => true,
        Some("absent") => false,
        Some(other) => return Err(format!("--card present|absent, not {other}")),
    };
    let timeout_ms: u64 = flag_value(args, "--timeout-ms")?
        .unwrap_or("10000")
        .parse()
        .map_err(|_| "--timeout-ms takes a number")?;
    match wait_for_card(reader, present, Duration::from_millis(timeout_ms)) {
        Ok(Some(found)) => {
            println!("{}", found.to_json());
            Ok(ExitCode::SUCCESS)
        }
        Ok(None) => {
            eprintln!("timed out waiting for {reader}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(format!("pcscd: {e}")),
    }
}

fn card_json(card: &CardDir) -> Value {
    json!({
        "dir": card.dir, "state": card.state, "caDer": card.ca_der, "caPem": card.ca_pem,
    })
}

fn serve(args: &[String]) -> Result<ExitCode, String> {
    let algorithm = flag_value(args, "--algorithm")?.unwrap_or("p256");
    let mut init_args: Vec<&str> = Vec::new();
    for flag in ["--name", "--user-id"] {
        if let Some(value) = flag_value(args, flag)? {
            init_args.extend([flag, value]);
        }
    }
    let mut stack = Stack::start().map_err(|e| format!("starting the stack: {e}"))?;
    let card = stack
        .try_new_card(algorithm, &init_args)
        .map_err(|e| format!("creating the card: {e}"))?;
    let mut inserted: Option<InsertedCard> = None;
    if !args.iter().any(|a| a == "--no-card") {
        inserted = Some(insert(&stack, &card)?);
    }
    let env: serde_json::Map<String, Value> = stack
        .env()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    println!(
        "{}",
        json!({
            "socket": stack.socket(), "port": stack.port(), "reader": stack.reader(0),
            "dir": stack.dir(), "env": env, "card": card_json(&card),
        })
    );
    io::stdout().flush().map_err(|e| e.to_string())?;

    for line in io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let reply = match line.trim() {
            "" => continue,
            "insert" if inserted.is_some() => json!({"error": "a card is already inserted"}),
            "insert" => match insert(&stack, &card) {
                Ok(card) => {
                    inserted = Some(card);
                    json!({"ok": true})
                }
                Err(e) => json!({"error": e}),
            },
            "remove" => match inserted.take() {
                None => json!({"error": "no card is inserted"}),
                Some(card) => match card.try_remove() {
                    Ok(()) => json!({"ok": true}),
                    Err(e) => json!({"error": e.to_string()}),
                },
            },
            "stop-pcscd" => {
                stack.stop_pcscd();
                json!({"ok": true})
            }
            "start-pcscd" => match stack.start_pcscd() {
                Ok(()) => json!({"ok": true}),
                Err(e) => json!({"error": e.to_string()}),
            },
            "readers" => match stack.readers() {
                Ok(readers) => json!({"ok": true, "readers": readers}),
                Err(e) => json!({"error": e.to_string()}),
            },
            other => json!({"error": format!("unknown command {other:?}")}),
        };
        println!("{reply}");
        io::stdout().flush().map_err(|e| e.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn insert(stack: &Stack, card: &CardDir) -> Result<InsertedCard, String> {
    stack
        .try_insert(card, &ServeOptions::default())
        .map_err(|e| format!("inserting the card: {e}"))
}
