//! Child processes that cannot outlive their owner: killed and reaped on drop, and started
//! under `setpriv --pdeathsig KILL` so they die with the thread that spawned them even when
//! the test process itself is killed (where no destructor runs).

use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A `Command` that runs `program` with a parent-death signal.
pub(crate) fn guarded_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--pdeathsig", "KILL", "--"]).arg(program);
    cmd.stdin(Stdio::null());
    cmd
}

/// Sends stdout and stderr of `cmd` to `log` (created or truncated).
pub(crate) fn log_to(cmd: &mut Command, log: &Path) -> io::Result<()> {
    let file = File::create(log)?;
    cmd.stdout(file.try_clone()?);
    cmd.stderr(file);
    Ok(())
}

/// An owned child process, killed and reaped when dropped.
#[derive(Debug)]
pub(crate) struct Guarded {
    child: Child,
    exited: Option<ExitStatus>,
}

impl Guarded {
    pub(crate) fn spawn(cmd: &mut Command) -> io::Result<Self> {
        Ok(Self {
            child: cmd.spawn()?,
            exited: None,
        })
    }

    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The exit status if the process has ended.
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// Waits up to `timeout` for the process to end by itself.
    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGTERM (so the process can flush what it keeps, e.g. a stats file), then SIGKILL after
    /// `grace`. std has no safe way to send SIGTERM, so this uses kill(1).
    pub(crate) fn terminate(&mut self, grace: Duration) -> ExitStatus {
        if self.try_wait().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        match self.wait_timeout(grace) {
            Some(status) => status,
            None => self.kill(),
        }
    }

    /// SIGKILL and reap.
    pub(crate) fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.try_wait() {
            return status;
        }
        let _ = self.child.kill();
        let status = self.child.wait().unwrap_or_else(|_| {
            // Already reaped elsewhere; report a failure status.
            std::os::unix::process::ExitStatusExt::from_raw(9)
        });
        self.exited = Some(status);
        status
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `max` bytes of a log file, for failure messages.
pub(crate) fn tail(path: &Path, max: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let start = text.len().saturating_sub(max);
    String::from_utf8_lossy(&text[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_kills_the_child() {
        let mut cmd = guarded_command("sleep");
        cmd.arg("30");
        let guarded = Guarded::spawn(&mut cmd).expect("spawn sleep");
        let pid = guarded.id();
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        drop(guarded);
        // Reaped, so the pid is gone (or reused by something that is not our sleep).
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        assert!(
            !cmdline.contains("sleep\u{0}30"),
            "still running: {cmdline:?}"
        );
    }

    #[test]
    fn terminate_sends_sigterm_first() {
        // A shell that reports SIGTERM in its exit code proves the polite signal came first.
        let mut cmd = guarded_command("sh");
        cmd.args(["-c", "trap 'exit 42' TERM; while :; do sleep 0.01; done"]);
        let mut guarded = Guarded::spawn(&mut cmd).expect("spawn sh");
        thread::sleep(Duration::from_millis(100));
        let status = guarded.terminate(Duration::from_secs(5));
        assert_eq!(status.code(), Some(42));
    }

    #[test]
    fn tail_keeps_the_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        std::fs::write(&path, "0123456789").expect("write");
        assert_eq!(tail(&path, 4), "6789");
        assert_eq!(tail(&dir.path().join("missing"), 4), "");
    }
}
