//! `carecard-vcard init | serve | show` — see INTERFACES.md. Logs go to stderr; only `show`
//! prints to stdout (it is a report for a person).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use carecard_vcard::vpcd::{self, ServeOptions};
use carecard_vcard::{CardProfile, CardState, Holder, VcardError, VirtualCard};

const USAGE: &str = "usage:
  carecard-vcard init --dir D --algorithm rsa2048|p256|p384 [--name \"Given Family\"] [--user-id 12digits]
  carecard-vcard serve --state D/card.json [--host 127.0.0.1] [--port 35963] [--delay-ms N]
                       [--fail INS=SW]... [--vanish-after N] [--once] [--trace]
  carecard-vcard show --state D/card.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("init") => init(&args[1..]),
        Some("serve") => serve(&args[1..]),
        Some("show") => show(&args[1..]),
        Some("-h" | "--help") => {
            eprintln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(VcardError::Usage(USAGE.into())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carecard-vcard: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--flag value` pairs and bare `--switch`es, in order.
struct Args<'a> {
    rest: &'a [String],
}

impl<'a> Args<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let (first, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(first)
    }

    fn value(&mut self, flag: &str) -> Result<&'a str, VcardError> {
        self.next()
            .ok_or_else(|| VcardError::Usage(format!("{flag} needs a value\n{USAGE}")))
    }
}

fn parse_num<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, VcardError> {
    text.parse()
        .map_err(|_| VcardError::Usage(format!("{flag} {text:?}: not a number")))
}

fn unknown(flag: &str) -> VcardError {
    VcardError::Usage(format!("unknown argument {flag:?}\n{USAGE}"))
}

fn init(args: &[String]) -> Result<(), VcardError> {
    let mut args = Args { rest: args };
    let (mut dir, mut profile, mut name, mut user_id) = (None, None, None, None);
    while let Some(flag) = args.next() {
        match flag {
            "--dir" => dir = Some(PathBuf::from(args.value(flag)?)),
            "--algorithm" => {
                let text = args.value(flag)?;
                profile = Some(CardProfile::parse(text).ok_or_else(|| {
                    VcardError::Usage(format!("--algorithm {text:?}: want rsa2048, p256 or p384"))
                })?);
            }
            "--name" => name = Some(args.value(flag)?),
            "--user-id" => user_id = Some(args.value(flag)?),
            _ => return Err(unknown(flag)),
        }
    }
    let dir = dir.ok_or_else(|| VcardError::Usage(format!("init needs --dir\n{USAGE}")))?;
    let profile =
        profile.ok_or_else(|| VcardError::Usage(format!("init needs --algorithm\n{USAGE}")))?;
    let default = Holder::default();
    let holder = Holder::new(
        name.unwrap_or(&default.common_name()),
        user_id.unwrap_or(&default.user_id),
    )?;
    carecard_vcard::init(&dir, profile, &holder)?;
    eprintln!(
        "carecard-vcard: {} card for {} ({}) in {}",
        profile.name(),
        holder.common_name(),
        holder.user_id,
        dir.display()
    );
    Ok(())
}

fn serve(args: &[String]) -> Result<(), VcardError> {
    let mut args = Args { rest: args };
    let mut state = None;
    let mut options = ServeOptions {
        host: "127.0.0.1".into(),
        port: 35963,
        ..ServeOptions::default()
    };
    while let Some(flag) = args.next() {
        match flag {
            "--state" => state = Some(PathBuf::from(args.value(flag)?)),
            "--host" => options.host = args.value(flag)?.to_owned(),
            "--port" => options.port = parse_num(flag, args.value(flag)?)?,
            "--delay-ms" => {
                options.delay = Some(Duration::from_millis(parse_num(flag, args.value(flag)?)?))
            }
            "--fail" => options.fail.push(parse_fail(args.value(flag)?)?),
            "--vanish-after" => options.vanish_after = Some(parse_num(flag, args.value(flag)?)?),
            "--once" => options.once = true,
            "--trace" => options.trace = true,
            _ => return Err(unknown(flag)),
        }
    }
    let state = state.ok_or_else(|| VcardError::Usage(format!("serve needs --state\n{USAGE}")))?;
    let mut card = VirtualCard::load(&state)?;
    vpcd::serve(&mut card, &options).map_err(|e| VcardError::io(&state, e))
}

/// `INS=SW` in hex, e.g. `87=6F00`.
fn parse_fail(text: &str) -> Result<(u8, u16), VcardError> {
    let bad = || VcardError::Usage(format!("--fail {text:?}: want INS=SW in hex, e.g. 87=6F00"));
    let (ins, sw) = text.split_once('=').ok_or_else(bad)?;
    let ins = u8::from_str_radix(ins.trim(), 16).map_err(|_| bad())?;
    let sw = u16::from_str_radix(sw.trim(), 16).map_err(|_| bad())?;
    Ok((ins, sw))
}

#[allow(clippy::print_stdout)] // `show` is a report for a person, on stdout by design.
fn show(args: &[String]) -> Result<(), VcardError> {
    let mut args = Args { rest: args };
    let mut state = None;
    while let Some(flag) = args.next() {
        match flag {
            "--state" => state = Some(PathBuf::from(args.value(flag)?)),
            _ => return Err(unknown(flag)),
        }
    }
    let path = state.ok_or_else(|| VcardError::Usage(format!("show needs --state\n{USAGE}")))?;
    let state = CardState::load(&path)?;
    print!("{}", carecard_vcard::summary::summary(&state));
    Ok(())
}
