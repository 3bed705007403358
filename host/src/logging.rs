//! The log file. stdout carries frames only, so every log line goes to the file (or, when the
//! file cannot be opened, to stderr, which Chrome passes on to its own log).
//!
//! The log is bounded: `carecard-host.log` is rotated by size into `carecard-host.log.1` …
//! `.4` (the oldest is dropped), so the five files together stay within `logMaxBytes` (default
//! 10 MiB). Each line is formatted into one buffer and written with one `write` call, so lines
//! of several host processes sharing the file never interleave.

use log::{LevelFilter, Log, Metadata, Record};
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

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
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).ok()?;
        }
        Rotating::<File>::open(path, max_bytes, LOG_FILES).ok()
    });
    let sink: Box<dyn LineSink> = match file {
        Some(file) => Box::new(file),
        None => Box::new(Stderr),
    };
    let logger: &'static HostLogger<Box<dyn LineSink>> = Box::leak(Box::new(HostLogger {
        level,
        sink: Mutex::new(sink),
    }));
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

/// The `log` backend: formats each record into one line and hands it to the sink.
#[derive(Debug)]
pub struct HostLogger<S> {
    level: LevelFilter,
    sink: Mutex<S>,
}

impl<S: LineSink> Log for HostLogger<S> {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format_line(record, SystemTime::now());
        self.sink
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write_line(line.as_bytes());
    }

    fn flush(&self) {}
}

/// `2026-12-03T10:08:45.123Z [INFO] carecard_host::dispatch: message\n`. Line breaks and other control characters in
/// the message are escaped, so one record is always exactly one line (and a value that ends up
/// in a message cannot forge log lines).
fn format_line(record: &Record, now: SystemTime) -> String {
    let mut message = String::new();
    let _ = write!(message, "{}", record.args());
    let mut line = String::with_capacity(message.len() + 40);
    push_timestamp(&mut line, now);
    let _ = write!(line, " [{}] {}: ", record.level(), record.target());
    for c in message.chars() {
        match c {
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push('\t'),
            c if c.is_control() => {
                let _ = write!(line, "\\u{{{:x}}}", c as u32);
            }
            c => line.push(c),
        }
    }
    line.push('\n');
    line
}

/// UTC, ISO 8601 with milliseconds.
fn push_timestamp(out: &mut String, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_millis()
    );
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
        let logger = HostLogger {
            level: LevelFilter::Debug,
            sink: Mutex::new(
                Rotating::<Counting>::open(path.clone(), 1 << 20, LOG_FILES).expect("open"),
            ),
        };
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
    fn timestamps_are_utc_iso_8601() {
        let mut s = String::new();
        push_timestamp(
            &mut s,
            UNIX_EPOCH + std::time::Duration::from_millis(1_796_292_525_123),
        );
        assert_eq!(s, "2026-12-03T10:08:45.123Z");
        let mut s = String::new();
        push_timestamp(
            &mut s,
            UNIX_EPOCH + std::time::Duration::from_secs(951_782_400),
        );
        assert_eq!(s, "2000-02-29T00:00:00.000Z");
    }
}
