//! `mock-cis2 --listen 127.0.0.1:8443 --ca ca.der [--carecard-js extension/page/carecard.js]
//! [--origin http://localhost:8443]`

use std::path::PathBuf;
use std::process::ExitCode;

use carecard_mock_cis2::server::{Config, MockCis2};

const USAGE: &str = "usage: mock-cis2 --listen ADDR:PORT --ca CA.der [--carecard-js PATH] [--origin URL] [--ca-key CA.key [--test-hooks]]
  --listen       address to serve on (default 127.0.0.1:8443)
  --ca           the test CA certificate (DER) whose cards may log in, e.g. from `carecard-vcard init`
  --carecard-js  extension/page/carecard.js, served as /carecard.js
  --origin       the site's public origin that tokens must be signed for
                 (default http://localhost:<port of --listen>)
  --ca-key       the test CA's private key (PKCS#8 DER, ca.key from `carecard-vcard init`):
                 also serve card management under /manage, issuing under that CA
  --test-hooks   test-only API under /manage/api/test/ (never in a real service)
environment: MOCK_CIS2_LOG=error|warn|info|debug (default info), to stderr";

#[derive(Debug)]
struct Args {
    listen: String,
    ca: PathBuf,
    carecard_js: Option<PathBuf>,
    origin: Option<String>,
    ca_key: Option<PathBuf>,
    test_hooks: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut listen = "127.0.0.1:8443".to_owned();
    let mut ca = None;
    let mut carecard_js = None;
    let mut origin = None;
    let mut ca_key = None;
    let mut test_hooks = false;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = value()?,
            "--ca" => ca = Some(PathBuf::from(value()?)),
            "--carecard-js" => carecard_js = Some(PathBuf::from(value()?)),
            "--origin" => origin = Some(value()?),
            "--ca-key" => ca_key = Some(PathBuf::from(value()?)),
            "--test-hooks" => test_hooks = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let ca = ca.ok_or("--ca is required")?;
    Ok(Args {
        listen,
        ca,
        carecard_js,
        origin,
        ca_key,
        test_hooks,
    })
}

/// A minimal logger to stderr: the binary needs no more, and the build stays lean.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("mock-cis2 {}: {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

fn init_logging() {
    let level = match std::env::var("MOCK_CIS2_LOG").as_deref() {
        Ok("error") => log::LevelFilter::Error,
        Ok("warn") => log::LevelFilter::Warn,
        Ok("debug") => log::LevelFilter::Debug,
        Ok("off") => log::LevelFilter::Off,
        _ => log::LevelFilter::Info,
    };
    if log::set_logger(&StderrLogger).is_ok() {
        log::set_max_level(level);
    }
}

fn main() -> ExitCode {
    init_logging();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("mock-cis2: {problem}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let ca_der = match std::fs::read(&args.ca) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("mock-cis2: cannot read {}: {e}", args.ca.display());
            return ExitCode::from(2);
        }
    };
    if let Some(path) = args.carecard_js.as_ref().filter(|p| !p.is_file()) {
        log::warn!(
            "{} does not exist (yet); /carecard.js answers 404 until it does",
            path.display()
        );
    }
    let ca_key = match args.ca_key.as_ref().map(std::fs::read).transpose() {
        Ok(key) => key,
        Err(e) => {
            eprintln!("mock-cis2: cannot read the CA key: {e}");
            return ExitCode::from(2);
        }
    };
    let config = Config {
        ca_der,
        carecard_js: args.carecard_js,
        origin: args.origin,
        ca_key,
        test_hooks: args.test_hooks,
    };
    match MockCis2::bind(&args.listen, config) {
        Ok(site) => {
            log::info!(
                "serving http://{} as origin {}",
                site.local_addr(),
                site.origin()
            );
            site.run();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mock-cis2: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Args, String> {
        parse_args(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn arguments() {
        let args =
            parse("--ca ca.der --listen 0.0.0.0:9000 --origin https://x.example").expect("valid");
        assert_eq!(args.listen, "0.0.0.0:9000");
        assert_eq!(args.ca, PathBuf::from("ca.der"));
        assert_eq!(args.origin.as_deref(), Some("https://x.example"));
        assert!(args.carecard_js.is_none());
        assert!(parse("--listen 127.0.0.1:1").is_err(), "--ca is required");
        assert!(parse("--ca").is_err());
        assert!(parse("--ca x --bogus").is_err());
    }
}
