//! An isolated PC/SC stack: a private pcscd with its own vpcd port pair, virtual cards served
//! into its readers, and the environment its clients need.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::bins::bin_path;
use crate::pcscd::{launch_args, reader_conf};
use crate::ports::{held_by, pick_pair};
use crate::process::{guarded_command, log_to, tail, Guarded};

/// How long pcscd may take to create its socket and open the vpcd ports.
const PCSCD_START: Duration = Duration::from_secs(5);
/// How long pcscd may take to notice a card arriving or going (it polls vpcd every 400 ms).
const CARD_CHANGE: Duration = Duration::from_secs(10);
/// Attempts at a port pair another process did not take between our check and pcscd's bind.
const PORT_ATTEMPTS: usize = 5;

/// Knobs for a stack; `Default` is what tests want.
#[derive(Debug, Clone, Default)]
pub struct StackOptions {
    /// Extra pcscd arguments, e.g. `["--apdu", "--debug"]` to log every APDU (the benchmark
    /// counts them this way).
    pub pcscd_args: Vec<String>,
}

/// An isolated pcscd (see ARCHITECTURE.md); killed with everything it started on drop.
#[derive(Debug)]
pub struct Stack {
    dir: TempDir,
    port: u16,
    options: StackOptions,
    pcscd: Option<Guarded>,
    serial: AtomicUsize,
}

/// A virtual card's files, made by `carecard-vcard init` inside the stack's folder.
#[derive(Debug, Clone)]
pub struct CardDir {
    pub dir: PathBuf,
    pub state: PathBuf,
    pub ca_der: PathBuf,
    pub ca_pem: PathBuf,
}

/// How `carecard-vcard serve` should behave; `Default` is a well-behaved card in reader `00 00`.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// 0 serves into `Virtual PCD 00 00` (port), 1 into `00 01` (port + 1).
    pub slot: u8,
    pub delay_ms: Option<u64>,
    /// `INS=SW` rules, e.g. `"87=6A80"`.
    pub fail: Vec<String>,
    pub vanish_after: Option<u64>,
    /// Anything else to pass to `serve`.
    pub extra_args: Vec<String>,
    /// Do not wait for pcscd to see the card (for cards meant to misbehave at power-on).
    pub no_wait: bool,
}

/// A card being served into a reader; removed (and the server killed) on drop.
#[derive(Debug)]
pub struct InsertedCard {
    server: Guarded,
    reader: String,
    socket: PathBuf,
    log: PathBuf,
}

impl Stack {
    /// A stack with default options.
    pub fn start() -> io::Result<Stack> {
        Self::start_with(StackOptions::default())
    }

    pub fn start_with(options: StackOptions) -> io::Result<Stack> {
        // Fail early with a build hint rather than after pcscd is up.
        bin_path("carecard-stack")?;
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = pick_pair().ok_or_else(|| io::Error::other("no free vpcd port pair"))?;
            let dir = tempfile::Builder::new()
                .prefix("carecard-stack-")
                .tempdir()?;
            fs::create_dir_all(dir.path().join("run"))?;
            fs::create_dir_all(dir.path().join("reader.conf.d"))?;
            fs::create_dir_all(dir.path().join("cards"))?;
            fs::write(
                dir.path().join("reader.conf.d").join("vpcd"),
                reader_conf(port),
            )?;
            let mut stack = Stack {
                dir,
                port,
                options: options.clone(),
                pcscd: None,
                serial: AtomicUsize::new(0),
            };
            match stack.start_pcscd() {
                Ok(()) => return Ok(stack),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("could not start pcscd")))
    }

    /// The stack's private folder (pcscd socket, config, cards, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// vpcd port of reader `00 00`; reader `00 01` is on `port() + 1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The pcscd socket the stack's clients use.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("run").join("pcscd.comm")
    }

    /// Environment for every PC/SC client of this stack.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![(
            "PCSCLITE_CSOCK_NAME".to_owned(),
            self.socket().to_string_lossy().into_owned(),
        )]
    }

    /// Name of reader `index` (0 or 1) as pcscd shows it.
    pub fn reader(&self, index: u8) -> String {
        format!("Virtual PCD 00 {index:02}")
    }

    pub fn pcscd_log(&self) -> PathBuf {
        self.dir.path().join("pcscd.log")
    }

    /// pcscd's log so far (APDUs too when started with `--apdu --debug`).
    pub fn pcscd_log_text(&self) -> String {
        fs::read_to_string(self.pcscd_log()).unwrap_or_default()
    }

    /// Kills pcscd and waits for it; card servers stay up. SIGKILL, because pcscd takes
    /// seconds to shut its reader threads down on SIGTERM and keeps nothing worth flushing.
    pub fn stop_pcscd(&mut self) {
        if let Some(mut pcscd) = self.pcscd.take() {
            pcscd.kill();
        }
        let _ = fs::remove_file(self.socket());
    }

    /// Starts pcscd again on the same folder and ports (a no-op when it runs).
    pub fn start_pcscd(&mut self) -> io::Result<()> {
        if let Some(pcscd) = self.pcscd.as_mut() {
            if pcscd.try_wait().is_none() {
                return Ok(());
            }
        }
        // The bind mount needs its target; creating the empty folder leaves the system alone.
        fs::create_dir_all("/run/pcscd")?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.pcscd_log())?;
        let mut cmd = guarded_command("unshare");
        cmd.args(launch_args(
            &self.dir.path().join("run"),
            &self.dir.path().join("reader.conf.d"),
            &self.options.pcscd_args,
        ));
        cmd.stdout(log.try_clone()?).stderr(log);
        let mut pcscd = Guarded::spawn(&mut cmd)?;
        let ready = self.wait_pcscd_ready(&mut pcscd);
        self.pcscd = Some(pcscd);
        if ready.is_err() {
            self.stop_pcscd();
        }
        ready
    }

    /// Waits until pcscd has its socket and holds both vpcd ports itself.
    fn wait_pcscd_ready(&self, pcscd: &mut Guarded) -> io::Result<()> {
        let deadline = Instant::now() + PCSCD_START;
        loop {
            if let Some(status) = pcscd.try_wait() {
                return Err(io::Error::other(format!(
                    "pcscd exited ({status}) while starting; log:\n{}",
                    tail(&self.pcscd_log(), 4000)
                )));
            }
            let socket_ready = self.socket().exists();
            let ports_ready = held_by(pcscd.id(), self.port) && held_by(pcscd.id(), self.port + 1);
            if socket_ready && ports_ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let kind = if socket_ready {
                    // Our pcscd runs but vpcd could not bind: another process took the port.
                    io::ErrorKind::AddrInUse
                } else {
                    io::ErrorKind::TimedOut
                };
                return Err(io::Error::new(
                    kind,
                    format!(
                        "pcscd not ready after {PCSCD_START:?} (socket: {socket_ready}, vpcd port {}: {ports_ready}); log:\n{}",
                        self.port,
                        tail(&self.pcscd_log(), 4000)
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn next_serial(&self) -> usize {
        self.serial.fetch_add(1, Ordering::Relaxed)
    }

    /// A fresh virtual card (`rsa2048`, `p256` or `p384`); panics with the tool's output on failure.
    pub fn new_card(&self, profile: &str) -> CardDir {
        self.try_new_card(profile, &[])
            .unwrap_or_else(|e| panic!("carecard-vcard init --algorithm {profile}: {e}"))
    }

    /// `new_card` with extra `init` arguments (e.g. `--name`, `--user-id`).
    pub fn try_new_card(&self, profile: &str, extra_args: &[&str]) -> io::Result<CardDir> {
        let dir = self
            .dir
            .path()
            .join("cards")
            .join(format!("card-{}", self.next_serial()));
        fs::create_dir_all(&dir)?;
        let output = Command::new(bin_path("carecard-vcard")?)
            .arg("init")
            .arg("--dir")
            .arg(&dir)
            .args(["--algorithm", profile])
            .args(extra_args)
            .stdin(Stdio::null())
            .output()?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "carecard-vcard init failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let card = CardDir {
            state: dir.join("card.json"),
            ca_der: dir.join("ca.der"),
            ca_pem: dir.join("ca.pem"),
            dir,
        };
        for file in [&card.state, &card.ca_der] {
            if !file.is_file() {
                return Err(io::Error::other(format!(
                    "carecard-vcard init did not write {}",
                    file.display()
                )));
            }
        }
        Ok(card)
    }

    /// Serves `card` into a reader and waits until pcscd has powered it; panics on failure.
    pub fn insert(&self, card: &CardDir, options: &ServeOptions) -> InsertedCard {
        self.try_insert(card, options)
            .unwrap_or_else(|e| panic!("inserting {}: {e}", card.state.display()))
    }

    pub fn try_insert(&self, card: &CardDir, options: &ServeOptions) -> io::Result<InsertedCard> {
        if options.slot > 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "vpcd has readers 0 and 1 only",
            ));
        }
        let port = self.port + u16::from(options.slot);
        let log = self
            .dir
            .path()
            .join(format!("vcard-{}.log", self.next_serial()));
        let mut cmd = guarded_command(bin_path("carecard-vcard")?);
        cmd.arg("serve").arg("--state").arg(&card.state);
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()]);
        cmd.args(serve_flags(options));
        log_to(&mut cmd, &log)?;
        let mut inserted = InsertedCard {
            server: Guarded::spawn(&mut cmd)?,
            reader: self.reader(options.slot),
            socket: self.socket(),
            log,
        };
        if !options.no_wait {
            if let Err(e) = inserted.wait(true) {
                inserted.server.kill();
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "{e}\nvcard log:\n{}\npcscd log:\n{}",
                        inserted.log_text(),
                        tail(&self.pcscd_log(), 3000)
                    ),
                ));
            }
        }
        Ok(inserted)
    }

    /// Readers and cards as pcscd reports them (via the `carecard-stack readers` probe):
    /// `[{"name": ..., "atr": "3B..." | null}]`.
    pub fn readers(&self) -> io::Result<Vec<Value>> {
        let output = probe_command(&self.socket())?.arg("readers").output()?;
        if !output.status.success() {
            return Err(io::Error::other(
                String::from_utf8_lossy(&output.stderr).into_owned(),
            ));
        }
        match serde_json::from_slice(&output.stdout) {
            Ok(Value::Array(readers)) => Ok(readers),
            _ => Err(io::Error::other(
                "carecard-stack readers printed no JSON array",
            )),
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "--- pcscd log of the failed test's stack ---\n{}",
                tail(&self.pcscd_log(), 6000)
            );
        }
        self.stop_pcscd();
    }
}

/// The `serve` flags for `options` (the state file and port come first, from the stack).
fn serve_flags(options: &ServeOptions) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    if let Some(ms) = options.delay_ms {
        args.extend(["--delay-ms".into(), ms.to_string().into()]);
    }
    for rule in &options.fail {
        args.extend(["--fail".into(), rule.into()]);
    }
    if let Some(n) = options.vanish_after {
        args.extend(["--vanish-after".into(), n.to_string().into()]);
    }
    args.extend(options.extra_args.iter().map(Into::into));
    args
}

/// `carecard-stack` ready to probe the pcscd behind `socket`.
fn probe_command(socket: &Path) -> io::Result<Command> {
    let mut cmd = Command::new(bin_path("carecard-stack")?);
    cmd.env("PCSCLITE_CSOCK_NAME", socket).stdin(Stdio::null());
    Ok(cmd)
}

impl InsertedCard {
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// What `carecard-vcard serve` printed so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// True while the card server runs (a `--vanish-after` card stops by itself).
    pub fn is_serving(&mut self) -> bool {
        self.server.try_wait().is_none()
    }

    /// Waits until pcscd shows the card present (`true`) or gone (`false`).
    pub fn wait(&self, present: bool) -> io::Result<()> {
        let output = probe_command(&self.socket)?
            .args(["wait", "--reader", &self.reader, "--card"])
            .arg(if present { "present" } else { "absent" })
            .args(["--timeout-ms", &CARD_CHANGE.as_millis().to_string()])
            .output()?;
        if output.status.success() {
            return Ok(());
        }
        let kind = if output.status.code() == Some(2) {
            io::ErrorKind::TimedOut
        } else {
            io::ErrorKind::Other
        };
        Err(io::Error::new(
            kind,
            format!(
                "card {} in {} not seen within {CARD_CHANGE:?}: {}",
                if present { "present" } else { "absent" },
                self.reader,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ))
    }

    /// Takes the card out: stops the server (SIGTERM first, so it can write its stats) and
    /// waits until pcscd shows the reader empty. Panics if pcscd never notices.
    pub fn remove(self) {
        self.try_remove()
            .unwrap_or_else(|e| panic!("removing the card: {e}"));
    }

    pub fn try_remove(mut self) -> io::Result<()> {
        self.server.terminate(Duration::from_secs(5));
        self.wait(false)
    }
}
