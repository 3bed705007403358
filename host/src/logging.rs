//! The log file. stdout carries frames only, so every log line goes to the file (or, when the
//! file cannot be opened, to stderr, which Chrome passes on to its own log).
//!
//! The log is bounded: `carecard-host.log` is rotated by size into `carecard-host.log.1` …
//! `.4` (the oldest is dropped), so the five files together stay within `logMaxBytes` (default
//! 10 MiB). simplelog formats each record; the line is assembled whole and written with one
//! `write` call, so lines of several host processes sharing the file never interleave.

use log::{LevelFilter, Log, Metadata, Record};
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const LOG_FILE: &str = "carecard-host.log";
/// How many files the log keeps: the current one and four rotated ones.
pub const LOG_FILES: u32 = 5;

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

/// Installs the global logger, the files together capped at `max_bytes`. Failing to open the
/// log is not fatal: the host still works and logs to stderr.
pub fn init(level: LevelFilter, max_bytes: u64) {
    if level == LevelFilter::Off {
        return;
    }
    let file = log_path().and_then(|path| {
        // The folder is there on every start but the first: open the file first, and create
        // the folder only when that fails for want of it (two system calls fewer per start).
        match Rotating::<File>::open(path.clone(), max_bytes, LOG_FILES) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(path.parent()?).ok()?;
                Rotating::<File>::open(path, max_bytes, LOG_FILES).ok()
            }
            opened => opened.ok(),
        }
    });
    let sink: Box<dyn LineSink> = match file {
        Some(file) => Box::new(file),
        None => Box::new(Stderr),
    };
    let logger: &'static HostLogger<Box<dyn LineSink>> =
        Box::leak(Box::new(HostLogger::new(level, sink)));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    } else {
        eprintln!("carecard-host: logger already installed"); // stdout-ok: stderr, not the protocol channel
    }
}

/// Where whole lines go.
pub trait LineSink: Send {
    /// Writes one complete line (ending in `\n`) with one write.
    fn write_line(&mut self, line: &[u8]);
}

impl<S: LineSink + ?Sized> LineSink for Box<S> {
    fn write_line(&mut self, line: &[u8]) {
        (**self).write_line(line)
    }
}

/// stderr is unbuffered: one `write_all` of the line is one write.
#[derive(Debug)]
struct Stderr;

impl LineSink for Stderr {
    fn write_line(&mut self, line: &[u8]) {
        let _ = io::stderr().lock().write_all(line);
    }
}

/// The `log` backend. simplelog formats each record (`2026-12-03T10:08:45.123456789Z [INFO]
/// carecard_host::dispatch: message`); around it this adds what simplelog's `WriteLogger` does
/// not do: the message's line breaks and other control characters are escaped first, so one
/// record is exactly one line (and a value in a message cannot forge log lines), and the line
/// is handed to the sink whole, so it costs one `write` and rotates by size.
pub struct HostLogger<S: LineSink + 'static> {
    inner: simplelog::WriteLogger<LineAssembler<S>>,
}

impl<S: LineSink + 'static> std::fmt::Debug for HostLogger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostLogger").finish_non_exhaustive()
    }
}

impl<S: LineSink + 'static> HostLogger<S> {
    pub fn new(level: LevelFilter, sink: S) -> HostLogger<S> {
        let config = simplelog::ConfigBuilder::new()
            .set_time_format_rfc3339()
            .set_thread_level(LevelFilter::Off)
            // Target and location filters compare against the record's level: `Error` means
            // "on every record", `Off` "never".
            .set_target_level(LevelFilter::Error)
            .set_location_level(LevelFilter::Off)
            .build();
        HostLogger {
            inner: *simplelog::WriteLogger::new(
                level,
                config,
                LineAssembler {
                    pending: Vec::new(),
                    sink,
                },
            ),
        }
    }
}

impl<S: LineSink + 'static> Log for HostLogger<S> {
    fn enabled(&self, metadata: &Metadata) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = escape(&record.args().to_string());
        self.inner.log(
            &Record::builder()
                .metadata(record.metadata().clone())
                .args(format_args!("{message}"))
                .build(),
        );
    }

    fn flush(&self) {}
}

/// Line breaks and other control characters as visible escapes.
fn escape(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Collects what simplelog writes for one record (it writes in pieces) and hands each complete
/// line to the sink at once. The message was escaped, so the only line break is the record's end.
pub struct LineAssembler<S> {
    pending: Vec<u8>,
    sink: S,
}

impl<S: LineSink> Write for LineAssembler<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let rest = self.pending.split_off(end + 1);
            self.sink.write_line(&self.pending);
            self.pending = rest;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A file the log can rotate.
pub trait LogFile: Write + Send + Sized {
    fn open_append(path: &Path) -> io::Result<Self>;
    /// The file's size now (other host processes append to it too).
    fn size(&self) -> io::Result<u64>;
    /// Whether `path` still names this file (another host may have rotated it away).
    fn is_at(&self, path: &Path) -> bool;
}

impl LogFile for File {
    fn open_append(path: &Path) -> io::Result<File> {
        OpenOptions::new().create(true).append(true).open(path)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    #[cfg(unix)]
    fn is_at(&self, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (self.metadata(), fs::metadata(path)) {
            (Ok(mine), Ok(there)) => mine.dev() == there.dev() && mine.ino() == there.ino(),
            _ => false,
        }
    }

    #[cfg(not(unix))]
    fn is_at(&self, path: &Path) -> bool {
        path.exists()
    }
}

/// `carecard-host.log` rotated by size: each of the `files` files stays within
/// `max_total / files` bytes.
#[derive(Debug)]
pub struct Rotating<F = File> {
    path: PathBuf,
    files: u32,
    per_file: u64,
    file: Option<F>,
    /// The current file's size as last seen plus what this process wrote since.
    size: u64,
    /// Bytes written since the size was last read from the file.
    unchecked: u64,
}

impl<F: LogFile> Rotating<F> {
    pub fn open(path: PathBuf, max_total: u64, files: u32) -> io::Result<Rotating<F>> {
        let files = files.max(2);
        let mut log = Rotating {
            path,
            files,
            per_file: (max_total / u64::from(files)).max(1),
            file: None,
            size: 0,
            unchecked: 0,
        };
        log.reopen()?;
        Ok(log)
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.file = None;
        let file = F::open_append(&self.path)?;
        self.size = file.size()?;
        self.unchecked = 0;
        self.file = Some(file);
        Ok(())
    }

    fn rotated_name(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Renames `.log.3` → `.log.4` … `.log` → `.log.1` (the oldest is replaced) and opens a
    /// new file. If another host already rotated, this one only follows to the new file.
    fn rotate(&mut self) -> io::Result<()> {
        let mine = self.file.as_ref().is_some_and(|f| f.is_at(&self.path));
        self.file = None;
        if mine {
            for n in (1..self.files - 1).rev() {
                match fs::rename(self.rotated_name(n), self.rotated_name(n + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            fs::rename(&self.path, self.rotated_name(1))?;
        }
        self.reopen()
    }

    fn try_write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let len = line.len() as u64;
        // Other processes may have written or rotated: look at the file itself before a
        // rotation and after every eighth of a file written.
        if self.size + len > self.per_file || self.unchecked >= self.per_file / 8 {
            match &self.file {
                Some(file) if file.is_at(&self.path) => {
                    self.size = self.size.max(file.size()?);
                    self.unchecked = 0;
                }
                _ => self.reopen()?,
            }
        }
        if self.size > 0 && self.size + len > self.per_file {
            self.rotate()?;
        }
        let file = match self.file.as_mut() {
            Some(file) => file,
            None => {
                self.reopen()?;
                self.file
                    .as_mut()
                    .ok_or_else(|| io::Error::other("log closed"))?
            }
        };
        file.write_all(line)?;
        self.size += len;
        self.unchecked += len;
        Ok(())
    }
}

impl<F: LogFile> LineSink for Rotating<F> {
    fn write_line(&mut self, line: &[u8]) {
        // A line longer than a whole file is cut to fit (still one line).
        let cut;
        let line = if line.len() as u64 > self.per_file {
            let keep = (self.per_file as usize).saturating_sub(4);
            let mut v = line[..keep].to_vec();
            v.extend_from_slice(b"...\n");
            cut = v;
            &cut[..]
        } else {
            line
        };
        // A log that cannot be written must not stop the host.
        let _ = self.try_write_line(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::Level;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir()
                .join(format!("carecard-log-test-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("scratch");
            Scratch(dir)
        }

        /// (name, size) of every file in the folder, sorted by name.
        fn files(&self) -> Vec<(String, u64)> {
            let mut files: Vec<_> = fs::read_dir(&self.0)
                .expect("read dir")
                .map(|e| {
                    let e = e.expect("entry");
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        e.metadata().expect("metadata").len(),
                    )
                })
                .collect();
            files.sort();
            files
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn record_line(logger: &dyn Log, level: Level, args: std::fmt::Arguments) {
        logger.log(
            &Record::builder()
                .level(level)
                .target("carecard_host::test")
                .args(args)
                .build(),
        );
    }

    #[test]
    fn rotation_keeps_five_files_within_the_limit_newest_last() {
        let scratch = Scratch::new("rotate");
        let path = scratch.0.join(LOG_FILE);
        let mut log = Rotating::<File>::open(path.clone(), 1000, LOG_FILES).expect("open");
        for n in 0..500 {
            log.write_line(format!("line {n:04} of the test log\n").as_bytes());
        }
        let files = scratch.files();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "carecard-host.log",
                "carecard-host.log.1",
                "carecard-host.log.2",
                "carecard-host.log.3",
                "carecard-host.log.4"
            ]
        );
        for (name, size) in &files {
            assert!(*size <= 200, "{name}: {size} bytes");
        }
        assert!(files.iter().map(|(_, s)| s).sum::<u64>() <= 1000);
        // Oldest to newest: .4, .3, .2, .1, the log itself; whole lines, none lost in between.
        let mut text = String::new();
        for name in names.iter().rev() {
            text.push_str(&fs::read_to_string(scratch.0.join(name)).expect("read"));
        }
        let numbers: Vec<u32> = text
            .lines()
            .map(|l| l[5..9].parse().expect("line number"))
            .collect();
        assert_eq!(numbers.last(), Some(&499));
        assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
        assert!(numbers.len() >= 25, "{}", numbers.len());
    }

    #[test]
    fn two_processes_sharing_the_log_stay_within_the_limit() {
        let scratch = Scratch::new("shared");
        let path = scratch.0.join(LOG_FILE);
        let mut a = Rotating::<File>::open(path.clone(), 4000, LOG_FILES).expect("open");
        let mut b = Rotating::<File>::open(path.clone(), 4000, LOG_FILES).expect("open");
        for n in 0..1000 {
            a.write_line(format!("a {n:05}\n").as_bytes());
            b.write_line(format!("b {n:05}\n").as_bytes());
        }
        let files = scratch.files();
        assert_eq!(files.len(), 5, "{files:?}");
        let total: u64 = files.iter().map(|(_, s)| s).sum();
        // Each writer checks the real size every eighth of a file, so two writers overshoot a
        // file by at most a quarter of it.
        assert!(total <= 4000 + 4000 / 4, "{files:?}");
        let newest = fs::read_to_string(&path).expect("read");
        assert!(
            newest.contains("a 00999") && newest.contains("b 00999"),
            "{newest}"
        );
    }

    #[test]
    fn a_line_longer_than_a_file_is_cut_to_one_line() {
        let scratch = Scratch::new("long");
        let path = scratch.0.join(LOG_FILE);
        let mut log = Rotating::<File>::open(path.clone(), 500, LOG_FILES).expect("open");
        log.write_line(format!("{}\n", "x".repeat(5000)).as_bytes());
        let text = fs::read_to_string(&path).expect("read");
        assert_eq!(text.len(), 100);
        assert!(text.ends_with("...\n"));
    }

    /// A log file that counts `write` calls.
    struct Counting(File);

    static WRITES: AtomicUsize = AtomicUsize::new(0);

    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            WRITES.fetch_add(1, Ordering::SeqCst);
            self.0.write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.0.flush()
        }
    }

    impl LogFile for Counting {
        fn open_append(path: &Path) -> io::Result<Counting> {
            File::open_append(path).map(Counting)
        }

        fn size(&self) -> io::Result<u64> {
            self.0.size()
        }

        fn is_at(&self, path: &Path) -> bool {
            self.0.is_at(path)
        }
    }

    #[test]
    fn one_write_per_line_and_one_line_per_record() {
        let scratch = Scratch::new("writes");
        let path = scratch.0.join(LOG_FILE);
        let logger = HostLogger::new(
            LevelFilter::Debug,
            Rotating::<Counting>::open(path.clone(), 1 << 20, LOG_FILES).expect("open"),
        );
        let before = WRITES.load(Ordering::SeqCst);
        let reader = "Virtual PCD 00 00";
        for n in 0..40 {
            record_line(
                &logger,
                Level::Info,
                format_args!("request {n}: {} on {reader:?} took {} ms", "status", n * 3),
            );
            record_line(
                &logger,
                Level::Debug,
                format_args!("two\nlines\r\u{1b}[31m {n}"),
            );
            // Filtered out by the level: no write.
            record_line(&logger, Level::Trace, format_args!("trace {n}"));
        }
        assert_eq!(WRITES.load(Ordering::SeqCst) - before, 80);
        let text = fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 80, "{text}");
        assert!(
            lines[0].ends_with(
                " [INFO] carecard_host::test: request 0: status on \"Virtual PCD 00 00\" took 0 ms"
            ),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].ends_with(" [DEBUG] carecard_host::test: two\\nlines\\r\\u{1b}[31m 0"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn lines_start_with_a_utc_rfc_3339_timestamp() {
        let scratch = Scratch::new("time");
        let path = scratch.0.join(LOG_FILE);
        let logger = HostLogger::new(
            LevelFilter::Info,
            Rotating::<File>::open(path.clone(), 1 << 20, LOG_FILES).expect("open"),
        );
        record_line(&logger, Level::Warn, format_args!("x"));
        let text = fs::read_to_string(&path).expect("read");
        let (time, rest) = text.split_once(' ').expect("timestamp");
        assert_eq!(rest, "[WARN] carecard_host::test: x\n");
        assert!(time.len() >= 20 && time.ends_with('Z'), "{time}");
        assert_eq!((&time[4..5], &time[10..11]), ("-", "T"), "{time}");
    }
}
