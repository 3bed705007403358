//! Drives the real `carecard-host` binary as Chrome would: origin argument, framed JSON on
//! stdin/stdout, with a per-process log folder and trace logging.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bins::bin_path;
use crate::framing::{self, MAX_HOST_FRAME};
use crate::process::{guarded_command, tail, Guarded};
use crate::stack::Stack;

/// The origin Chrome passes for the development extension (ARCHITECTURE.md).
pub const DEV_EXTENSION_ORIGIN: &str = "chrome-extension://pggklkelfcagmclfcaejdknbclgpeaco/";

/// The host config `spawn` writes and points `CARECARD_CONFIG` at: the development extension
/// only, developer mode off (the environment cannot turn it on over a config file: a test that
/// needs it points `CARECARD_CONFIG` at a file of its own with `"developerMode": true`).
const DEV_CONFIG: &str = r#"{"allowedExtensionIds": ["pggklkelfcagmclfcaejdknbclgpeaco"], "developerMode": false, "logLevel": "trace"}"#;

/// How long `request` waits for its reply (RSA on an unoptimised virtual card is slow).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `wait` gives the host to exit after stdin closed.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the stdout reader thread passes on.
enum Frame {
    Data(Vec<u8>),
    /// The host broke framing; the message says how.
    Broken(String),
}

/// A running `carecard-host`; killed on drop.
#[derive(Debug)]
pub struct HostProcess {
    process: Guarded,
    stdin: Option<ChildStdin>,
    frames: Receiver<FrameDebug>,
    pending: VecDeque<Value>,
    next_id: u64,
    log_dir: PathBuf,
    _log_root: tempfile::TempDir,
}

/// `Frame` behind a Debug-able name for the struct derive.
struct FrameDebug(Frame);

impl std::fmt::Debug for FrameDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Frame::Data(d) => write!(f, "Data({} bytes)", d.len()),
            Frame::Broken(m) => write!(f, "Broken({m})"),
        }
    }
}

impl HostProcess {
    /// Starts the host for the development extension against `stack` with [`DEV_CONFIG`].
    /// `extra_env` is applied last, so it can override e.g. `CARECARD_CONFIG`.
    pub fn spawn(stack: &Stack, extra_env: &[(&str, &str)]) -> HostProcess {
        Self::spawn_with_args(stack, &[DEV_EXTENSION_ORIGIN], extra_env)
    }

    /// Like `spawn`, with explicit command-line arguments (Chrome passes the caller origin).
    pub fn spawn_with_args(
        stack: &Stack,
        args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> HostProcess {
        Self::try_spawn(stack, args, extra_env)
            .unwrap_or_else(|e| panic!("starting carecard-host: {e}"))
    }

    pub fn try_spawn(
        stack: &Stack,
        args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> io::Result<HostProcess> {
        let log_root = tempfile::Builder::new()
            .prefix("host-")
            .tempdir_in(stack.dir())?;
        let log_dir = log_root.path().join("logs");
        fs::create_dir_all(&log_dir)?;
        // An explicit config listing the development extension (an empty list serves nobody).
        // Where the machine has a system config, the host lets this one only narrow it.
        let config = log_root.path().join("host.json");
        fs::write(&config, DEV_CONFIG)?;

        let mut cmd = guarded_command(bin_path("carecard-host")?);
        cmd.args(args);
        let mut env: Vec<(OsString, OsString)> = stack
            .env()
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        env.push(("CARECARD_CONFIG".into(), config.into()));
        env.push(("CARECARD_LOG_DIR".into(), log_dir.clone().into()));
        env.push(("CARECARD_LOG_LEVEL".into(), "trace".into()));
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        );
        cmd.envs(env);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        cmd.stderr(fs::File::create(log_root.path().join("stderr.log"))?);

        let mut process = Guarded::spawn(&mut cmd)?;
        let stdin = process.child_mut().stdin.take();
        let stdout = process
            .child_mut()
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout pipe"))?;
        let (tx, frames) = mpsc::channel();
        thread::Builder::new()
            .name("host-stdout".into())
            .spawn(move || {
                let mut stdout = stdout;
                loop {
                    let frame = match framing::read(&mut stdout, MAX_HOST_FRAME) {
                        Ok(Some(data)) => Frame::Data(data),
                        Ok(None) => return,
                        Err(e) => Frame::Broken(e.to_string()),
                    };
                    let broken = matches!(frame, Frame::Broken(_));
                    if tx.send(FrameDebug(frame)).is_err() || broken {
                        return;
                    }
                }
            })?;
        Ok(HostProcess {
            process,
            stdin,
            frames,
            pending: VecDeque::new(),
            next_id: 1,
            log_dir,
            _log_root: log_root,
        })
    }

    /// Sends `request` (adding an `id` if it has none) and returns the reply with that id.
    /// Events and other frames that arrive first are kept for `read_frame`.
    pub fn request(&mut self, request: &Value) -> Value {
        let mut request = request.clone();
        let id = match request.get("id").and_then(Value::as_u64) {
            Some(id) => id,
            None => {
                let id = self.next_id;
                self.next_id += 1;
                if let Some(obj) = request.as_object_mut() {
                    obj.insert("id".into(), json!(id));
                }
                id
            }
        };
        let bytes = serde_json::to_vec(&request).unwrap_or_default();
        self.send_frame(&bytes);
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(frame) = self.receive(left) else {
                panic!(
                    "no reply to {request} within {REQUEST_TIMEOUT:?}{}",
                    self.context()
                );
            };
            if frame.get("id").and_then(Value::as_u64) == Some(id) {
                return frame;
            }
            self.pending.push_back(frame);
        }
    }

    /// Shorthand: `request({"command": command, "arguments": arguments})`.
    pub fn command(&mut self, command: &str, arguments: Value) -> Value {
        self.request(&json!({"command": command, "arguments": arguments}))
    }

    /// Writes one framed message (any bytes, valid JSON or not).
    pub fn send_frame(&mut self, payload: &[u8]) {
        self.write_raw(&framing::encode(payload));
    }

    /// Writes bytes as they are (for broken headers and partial frames). A host that has
    /// already exited is not an error here: the test sees it in `read_frame`/`wait`.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(bytes).and_then(|()| stdin.flush());
        }
    }

    /// The next frame not yet returned (events, replies read past by `request`), or `None` when
    /// nothing arrives within `timeout` or stdout ended.
    pub fn read_frame(&mut self, timeout: Duration) -> Option<Value> {
        if let Some(frame) = self.pending.pop_front() {
            return Some(frame);
        }
        self.receive(timeout)
    }

    fn receive(&mut self, timeout: Duration) -> Option<Value> {
        match self.frames.recv_timeout(timeout) {
            Ok(FrameDebug(Frame::Data(bytes))) => match serde_json::from_slice(&bytes) {
                Ok(value) => Some(value),
                Err(e) => panic!(
                    "host wrote a frame that is not JSON ({e}): {:?}{}",
                    String::from_utf8_lossy(&bytes),
                    self.context()
                ),
            },
            Ok(FrameDebug(Frame::Broken(why))) => {
                panic!("host broke stdout framing: {why}{}", self.context())
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Ends stdin, which must end the host cleanly.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the host to exit (closing stdin first); kills it and panics after 10 s.
    pub fn wait(&mut self) -> ExitStatus {
        self.close_stdin();
        match self.process.wait_timeout(EXIT_TIMEOUT) {
            Some(status) => status,
            None => {
                self.process.kill();
                panic!(
                    "host did not exit within {EXIT_TIMEOUT:?} of stdin closing{}",
                    self.context()
                );
            }
        }
    }

    /// The exit status if the host has already exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.process.try_wait()
    }

    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// The host's log folder (`CARECARD_LOG_DIR`).
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// The host's log file so far (empty if it wrote none).
    pub fn log_text(&self) -> String {
        fs::read_to_string(self.log_dir.join("carecard-host.log")).unwrap_or_default()
    }

    /// What the host wrote to stderr.
    pub fn stderr_text(&self) -> String {
        fs::read_to_string(self._log_root.path().join("stderr.log")).unwrap_or_default()
    }

    /// Log tails for failure messages.
    fn context(&self) -> String {
        format!(
            "\n--- host log ---\n{}\n--- host stderr ---\n{}",
            tail(&self.log_dir.join("carecard-host.log"), 6000),
            tail(&self._log_root.path().join("stderr.log"), 2000)
        )
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.process.kill();
        if thread::panicking() {
            eprintln!("{}", self.context());
        }
    }
}
