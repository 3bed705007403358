//! The log file. stdout carries frames only, so every log line goes to the file (or, when the
//! file cannot be opened, to stderr, which Chrome passes on to its own log).

use log::LevelFilter;
use simplelog::{ConfigBuilder, WriteLogger};
use std::fs::{self, OpenOptions};
use std::path::PathBuf;

pub const LOG_FILE: &str = "carecard-host.log";

/// `$CARECARD_LOG_DIR`, else the platform's per-user log/state directory.
pub fn log_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CARECARD_LOG_DIR") {
        return Some(PathBuf::from(dir));
    }
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(|d| PathBuf::from(d).join("carecard").join("logs"))
    } else if cfg!(target_os = "macos") {
        home().map(|h| h.join("Library").join("Logs").join("carecard"))
    } else {
        std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| home().map(|h| h.join(".local").join("state")))
            .map(|d| d.join("carecard"))
    }
}

pub fn log_path() -> Option<PathBuf> {
    log_dir().map(|d| d.join(LOG_FILE))
}

/// Installs the global logger. Failing to open the log is not fatal: the host still works.
pub fn init(level: LevelFilter) {
    if level == LevelFilter::Off {
        return;
    }
    let config = ConfigBuilder::new()
        .set_thread_level(LevelFilter::Error)
        .set_target_level(LevelFilter::Error)
        .build();
    let file = log_path().and_then(|path| {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).ok()?;
        }
        OpenOptions::new().create(true).append(true).open(path).ok()
    });
    let installed = match file {
        Some(file) => WriteLogger::init(level, config, file),
        None => WriteLogger::init(level, config, std::io::stderr()),
    };
    if installed.is_err() {
        eprintln!("carecard-host: logger already installed"); // stdout-ok: stderr, not the protocol channel
    }
}
