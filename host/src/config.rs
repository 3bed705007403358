//! Host configuration: which config file is in force, the environment overrides, and the
//! caller-origin check.
//!
//! Trust rules (docs/ARCHITECTURE.md, "Fixed values"):
//! - The system config (`/etc/carecard/host.json` and the platform equivalents) is the
//!   administrator's policy. Where it exists it is in force; if it cannot be read or is invalid in
//!   any way, every caller is refused (no defaults, no partial lists).
//! - The environment may narrow the system config, never widen it: `$CARECARD_CONFIG` then only
//!   intersects the allowed IDs and can only turn developer mode off.
//! - Where no system config exists there is no machine policy to widen: `$CARECARD_CONFIG` (a
//!   developer's or a test's private config) is read instead, and without it only the
//!   development extension is served.
//! - Developer mode is a config-file setting: `CARECARD_DEVELOPER_MODE` can turn it off, and on
//!   only where no config file is in force at all.

use log::LevelFilter;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The development extension (key in `extension/manifest.json`). Its key is public, so it is
/// served only where no system config exists, where the config in force lists it, or in
/// developer mode.
pub const DEVELOPMENT_EXTENSION_ID: &str = "pggklkelfcagmclfcaejdknbclgpeaco";

/// Default cap on the log files together (`logMaxBytes`): 10 MiB.
pub const DEFAULT_LOG_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Accepted range of `logMaxBytes`.
pub const MIN_LOG_MAX_BYTES: u64 = 16 * 1024;
pub const MAX_LOG_MAX_BYTES: u64 = 1024 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub allowed_extension_ids: Vec<String>,
    /// Firefox add-on IDs (`allowedFirefoxExtensions`, e.g. `carecard@carecard.org`). Served only
    /// when listed: developer mode adds none, and without a config file there are none.
    pub allowed_firefox_extensions: Vec<String>,
    pub developer_mode: bool,
    pub log_level: LevelFilter,
    /// Cap on all log files together (bytes).
    pub log_max_bytes: u64,
    /// The config file in force (the system path when none exists: then the built-in defaults
    /// apply, or the broken file that made the host refuse every caller).
    pub source: PathBuf,
    /// Set when the config in force is broken (unreadable or invalid): the reason. Every caller
    /// is then refused.
    pub problem: Option<String>,
    /// How the environment changed (or was not allowed to change) the file's settings; for the log.
    pub notes: Vec<String>,
}

/// Who started the host, once allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Chrome, Chromium or Edge: the extension ID from `chrome-extension://<id>/`.
    Chrome(String),
    /// Firefox: the add-on ID and the host manifest Firefox read.
    Firefox { id: String, manifest: String },
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Caller::Chrome(id) => write!(f, "extension {id}"),
            Caller::Firefox { id, manifest } => {
                write!(f, "Firefox add-on {id} (host manifest {manifest})")
            }
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum OriginError {
    #[error("no caller origin was given")]
    Missing,
    #[error("the caller origin is not a chrome-extension://<id>/ origin")]
    Malformed,
    #[error("the caller is neither Chrome's chrome-extension://<id>/ nor Firefox's <manifest path> <add-on ID>")]
    MalformedFirefox,
    #[error("extension {0} is not allowed to use this host")]
    NotAllowed(String),
    #[error("Firefox add-on {0} is not allowed to use this host")]
    FirefoxNotAllowed(String),
    #[error("the host config {} is broken ({reason}); every caller is refused until it is fixed", path.display())]
    ConfigBroken { path: PathBuf, reason: String },
}

/// What the environment says (`CARECARD_CONFIG`, `CARECARD_DEVELOPER_MODE`,
/// `CARECARD_LOG_LEVEL`).
#[derive(Debug, Default, Clone)]
pub struct Environment {
    pub config: Option<PathBuf>,
    pub developer_mode: Option<String>,
    pub log_level: Option<String>,
}

impl Environment {
    fn from_process() -> Environment {
        Environment {
            config: std::env::var_os("CARECARD_CONFIG")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            developer_mode: std::env::var("CARECARD_DEVELOPER_MODE").ok(),
            log_level: std::env::var("CARECARD_LOG_LEVEL").ok(),
        }
    }
}

/// The JSON of a config file. Every key is checked: unknown or repeated keys, wrong types and
/// invalid values make the whole file invalid.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileConfig {
    allowed_extension_ids: Vec<String>,
    #[serde(default)]
    allowed_firefox_extensions: Vec<String>,
    #[serde(default)]
    developer_mode: bool,
    #[serde(default)]
    log_level: Option<String>,
    #[serde(default)]
    log_max_bytes: Option<u64>,
}

/// A config file as read.
#[derive(Debug)]
enum FileState {
    Missing,
    Broken(String),
    Valid(Config),
}

impl Config {
    /// The config in force for this process: the platform's system config, `$CARECARD_CONFIG`
    /// and the environment overrides, by the rules at the top of this module.
    pub fn load() -> Config {
        Config::resolve(&system_config_path(), &Environment::from_process())
    }

    /// `load` with the system path and the environment given (for tests).
    pub fn resolve(system: &Path, env: &Environment) -> Config {
        let mut config = match read_file(system) {
            FileState::Broken(reason) => Config::broken(system, reason),
            FileState::Valid(mut config) => {
                if let Some(path) = &env.config {
                    config.narrow_by(path);
                }
                config.apply_env(env, false);
                config
            }
            FileState::Missing => {
                let (mut config, no_file) = match &env.config {
                    None => (Config::no_config_file(system), true),
                    Some(path) => match read_file(path) {
                        FileState::Valid(config) => (config, false),
                        FileState::Broken(reason) => (Config::broken(path, reason), false),
                        FileState::Missing => (Config::broken(path, "no such file".into()), false),
                    },
                };
                config.apply_env(env, no_file);
                config
            }
        };
        // The log level is no matter of trust: the environment may always set it.
        if let Some(level) = env.log_level.as_deref().and_then(parse_level) {
            config.log_level = level;
        }
        config
    }

    /// No config file anywhere: a developer's machine without an install. Only the
    /// development extension is served.
    fn no_config_file(system: &Path) -> Config {
        Config {
            allowed_extension_ids: vec![DEVELOPMENT_EXTENSION_ID.to_owned()],
            allowed_firefox_extensions: Vec::new(),
            developer_mode: false,
            log_level: LevelFilter::Info,
            log_max_bytes: DEFAULT_LOG_MAX_BYTES,
            source: system.to_path_buf(),
            problem: None,
            notes: vec![format!(
                "no config file at {}: serving only the development extension",
                system.display()
            )],
        }
    }

    fn broken(path: &Path, reason: String) -> Config {
        Config {
            allowed_extension_ids: Vec::new(),
            allowed_firefox_extensions: Vec::new(),
            developer_mode: false,
            log_level: LevelFilter::Info,
            log_max_bytes: DEFAULT_LOG_MAX_BYTES,
            source: path.to_path_buf(),
            problem: Some(reason),
            notes: Vec::new(),
        }
    }

    /// `$CARECARD_CONFIG` while a system config is in force: it may only take away. An
    /// unreadable or invalid narrowing file refuses every caller too.
    fn narrow_by(&mut self, path: &Path) {
        let narrower = match read_file(path) {
            FileState::Valid(narrower) => narrower,
            FileState::Broken(reason) => return *self = Config::broken(path, reason),
            FileState::Missing => return *self = Config::broken(path, "no such file".into()),
        };
        self.allowed_extension_ids
            .retain(|id| narrower.allowed_extension_ids.contains(id));
        self.allowed_firefox_extensions
            .retain(|id| narrower.allowed_firefox_extensions.contains(id));
        self.developer_mode &= narrower.developer_mode;
        self.log_level = narrower.log_level;
        self.log_max_bytes = self.log_max_bytes.min(narrower.log_max_bytes);
        self.notes.push(format!(
            "CARECARD_CONFIG {} narrows the system config {}",
            path.display(),
            self.source.display()
        ));
    }

    /// `CARECARD_DEVELOPER_MODE`: anything but `1`/`true` turns developer mode off. Turning it
    /// on is honoured only where no config file is in force at all (`may_widen`); a config file
    /// (the system one, or `$CARECARD_CONFIG` where there is none) is the only other way.
    fn apply_env(&mut self, env: &Environment, may_widen: bool) {
        let Some(mode) = env.developer_mode.as_deref() else {
            return;
        };
        let on = mode == "1" || mode.eq_ignore_ascii_case("true");
        if !on {
            self.developer_mode = false;
        } else if may_widen {
            self.developer_mode = true;
        } else if !self.developer_mode {
            self.notes.push(format!(
                "CARECARD_DEVELOPER_MODE={mode} ignored: the config {} is in force and only it can turn developer mode on",
                self.source.display()
            ));
        }
    }

    /// Checks the host's arguments as a browser passes them: Chrome and Edge give
    /// `chrome-extension://<id>/` (checked by `check_caller`); Firefox gives the path of the host
    /// manifest it read and the add-on ID (`<manifest> <id>`), checked against
    /// `allowedFirefoxExtensions` only. Anything else is refused; a broken config refuses all.
    pub fn check_caller_args(&self, args: &[String]) -> Result<Caller, OriginError> {
        match args {
            [] => self.check_caller(None).map(Caller::Chrome),
            [origin] => self.check_caller(Some(origin)).map(Caller::Chrome),
            [origin, ..] if origin.starts_with("chrome-extension://") => {
                self.check_caller(Some(origin)).map(Caller::Chrome)
            }
            [manifest, id] => self.check_firefox_caller(manifest, id),
            _ => {
                self.refuse_if_broken()?;
                Err(OriginError::MalformedFirefox)
            }
        }
    }

    /// Firefox's caller: `<manifest path> <add-on ID>`. The manifest path is only reported (the
    /// browser found the host through it); the ID must be listed in `allowedFirefoxExtensions`.
    pub fn check_firefox_caller(&self, manifest: &str, id: &str) -> Result<Caller, OriginError> {
        self.refuse_if_broken()?;
        if manifest.is_empty() || !is_firefox_extension_id(id) {
            return Err(OriginError::MalformedFirefox);
        }
        if self.allowed_firefox_extensions.iter().any(|a| a == id) {
            Ok(Caller::Firefox {
                id: id.to_owned(),
                manifest: manifest.to_owned(),
            })
        } else {
            Err(OriginError::FirefoxNotAllowed(id.to_owned()))
        }
    }

    fn refuse_if_broken(&self) -> Result<(), OriginError> {
        match &self.problem {
            Some(reason) => Err(OriginError::ConfigBroken {
                path: self.source.clone(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Checks Chrome's first argument `chrome-extension://<id>/` against the allowed IDs. A
    /// broken config refuses every caller.
    pub fn check_caller(&self, origin: Option<&str>) -> Result<String, OriginError> {
        if let Some(reason) = &self.problem {
            return Err(OriginError::ConfigBroken {
                path: self.source.clone(),
                reason: reason.clone(),
            });
        }
        let origin = origin.ok_or(OriginError::Missing)?;
        let id = origin
            .strip_prefix("chrome-extension://")
            .and_then(|rest| rest.strip_suffix('/'))
            .filter(|id| is_extension_id(id))
            .ok_or(OriginError::Malformed)?;
        let allowed = self.allowed_extension_ids.iter().any(|a| a == id)
            || (id == DEVELOPMENT_EXTENSION_ID && self.developer_mode);
        if allowed {
            Ok(id.to_owned())
        } else {
            Err(OriginError::NotAllowed(id.to_owned()))
        }
    }
}

fn read_file(path: &Path) -> FileState {
    match read_bytes(path) {
        Ok(bytes) => match parse(&bytes, path) {
            Ok(config) => FileState::Valid(config),
            Err(reason) => FileState::Broken(reason),
        },
        // Anything at the path (a directory, a dangling link, a file we may not read) is a
        // config that exists: only "nothing there" is missing.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match std::fs::symlink_metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileState::Missing,
                Err(e) => FileState::Broken(format!("cannot read: {e}")),
                Ok(_) => FileState::Broken(format!("cannot read: {e}")),
            }
        }
        Err(e) => FileState::Broken(format!("cannot read: {e}")),
    }
}

/// The file's bytes: opened and read without a look at its metadata first (`fs::read` and
/// `File::read_to_end` ask for the size; a config is small), two system calls fewer per start.
fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(4096);
    // Through `Take`: the plain reader's `read_to_end`, no size look-up.
    std::fs::File::open(path)?
        .take(u64::MAX)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `{"allowedExtensionIds": [...], "developerMode": false, "logLevel": "info",
/// "logMaxBytes": 10485760}`: `allowedExtensionIds` is required, the rest optional.
fn parse(bytes: &[u8], path: &Path) -> Result<Config, String> {
    // serde would also read a struct from a JSON list; only an object is a config.
    match bytes.trim_ascii_start().first() {
        None => return Err("not JSON: the file is empty".into()),
        Some(b'{') => {}
        Some(_) => return Err("invalid: not a JSON object".into()),
    }
    let file: FileConfig = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => format!("invalid: {e}"),
        _ => format!("not JSON: {e}"),
    })?;
    for (n, id) in file.allowed_extension_ids.iter().enumerate() {
        if !is_extension_id(id) {
            return Err(format!(
                "invalid: allowedExtensionIds[{n}] {id:?} is not an extension ID (32 letters a-p)"
            ));
        }
    }
    let log_level = match file.log_level.as_deref() {
        None => LevelFilter::Info,
        Some(level) => parse_level(level).ok_or_else(|| {
            format!(
                "invalid: logLevel {level:?} is not one of trace, debug, info, warn, error, off"
            )
        })?,
    };
    let log_max_bytes = file.log_max_bytes.unwrap_or(DEFAULT_LOG_MAX_BYTES);
    if !(MIN_LOG_MAX_BYTES..=MAX_LOG_MAX_BYTES).contains(&log_max_bytes) {
        return Err(format!(
            "invalid: logMaxBytes {log_max_bytes} is outside {MIN_LOG_MAX_BYTES}..={MAX_LOG_MAX_BYTES}"
        ));
    }
    for (n, id) in file.allowed_firefox_extensions.iter().enumerate() {
        if !is_firefox_extension_id(id) {
            return Err(format!(
                "invalid: allowedFirefoxExtensions[{n}] {id:?} is not a Firefox add-on ID (name@domain or {{GUID}})"
            ));
        }
    }
    Ok(Config {
        allowed_extension_ids: file.allowed_extension_ids,
        allowed_firefox_extensions: file.allowed_firefox_extensions,
        developer_mode: file.developer_mode,
        log_level,
        log_max_bytes,
        source: path.to_path_buf(),
        problem: None,
        notes: Vec::new(),
    })
}

/// Firefox add-on IDs as Firefox itself accepts them: `name@domain` (letters, digits, `-`, `.`,
/// `_`) or a GUID in braces; at most 255 characters here (Firefox's own limit is larger, but no
/// real ID is that long and the log line stays bounded).
pub fn is_firefox_extension_id(id: &str) -> bool {
    if id.is_empty() || id.len() > 255 {
        return false;
    }
    let word = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    };
    if let Some((name, domain)) = id.split_once('@') {
        return word(name) && !domain.is_empty() && word(domain);
    }
    let Some(guid) = id.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
        return false;
    };
    let groups: Vec<&str> = guid.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Chrome extension IDs are 32 letters a–p.
fn is_extension_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| (b'a'..=b'p').contains(&b))
}

fn parse_level(s: &str) -> Option<LevelFilter> {
    match s.to_ascii_lowercase().as_str() {
        "trace" => Some(LevelFilter::Trace),
        "debug" => Some(LevelFilter::Debug),
        "info" => Some(LevelFilter::Info),
        "warn" => Some(LevelFilter::Warn),
        "error" => Some(LevelFilter::Error),
        "off" => Some(LevelFilter::Off),
        _ => None,
    }
}

/// The system config: a fixed path per platform. On Windows `%ProgramData%` is deliberately not
/// read from the environment (a user could point it at a folder of their own, hiding the
/// administrator's file); `C:\ProgramData` is the fixed location.
fn system_config_path() -> PathBuf {
    if cfg!(windows) {
        PathBuf::from(r"C:\ProgramData\carecard\host.json")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/carecard/host.json")
    } else {
        PathBuf::from("/etc/carecard/host.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const DEV: &str = "chrome-extension://pggklkelfcagmclfcaejdknbclgpeaco/";
    const STORE_ID: &str = "abcdefghijklmnopabcdefghijklmnop";
    const STORE: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop/";
    const OTHER_ID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    /// A fresh folder under the temp dir, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "carecard-config-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).expect("scratch dir");
            Scratch(dir)
        }

        fn file(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).expect("write config");
            path
        }

        fn missing(&self) -> PathBuf {
            self.0.join("nothing-here.json")
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn env(config: Option<&Path>, developer_mode: Option<&str>) -> Environment {
        Environment {
            config: config.map(Path::to_path_buf),
            developer_mode: developer_mode.map(str::to_owned),
            log_level: None,
        }
    }

    fn refused_as_broken(config: &Config, path: &Path) {
        for caller in [DEV, STORE] {
            match config.check_caller(Some(caller)) {
                Err(OriginError::ConfigBroken { path: p, .. }) => assert_eq!(p, path),
                other => panic!("{caller} with a broken config: {other:?}"),
            }
        }
    }

    #[test]
    fn without_any_config_file_only_the_development_extension_is_served() {
        let s = Scratch::new();
        let c = Config::resolve(&s.missing(), &env(None, None));
        assert_eq!(c.problem, None);
        assert!(c.check_caller(Some(DEV)).is_ok());
        assert_eq!(
            c.check_caller(Some(STORE)),
            Err(OriginError::NotAllowed(STORE_ID.into()))
        );
    }

    #[test]
    fn a_config_serves_exactly_what_it_lists() {
        let s = Scratch::new();
        let store = s.file(
            "store.json",
            &format!(r#"{{"allowedExtensionIds": ["{STORE_ID}"]}}"#),
        );
        let c = Config::resolve(&store, &env(None, None));
        assert!(c.check_caller(Some(STORE)).is_ok());
        assert_eq!(
            c.check_caller(Some(DEV)),
            Err(OriginError::NotAllowed(DEVELOPMENT_EXTENSION_ID.into()))
        );
        // An empty list serves nobody: the development extension needs listing or developer mode.
        let none = s.file("none.json", r#"{"allowedExtensionIds": []}"#);
        let c = Config::resolve(&none, &env(None, None));
        assert_eq!(
            c.check_caller(Some(DEV)),
            Err(OriginError::NotAllowed(DEVELOPMENT_EXTENSION_ID.into()))
        );
        let both = s.file(
            "both.json",
            &format!(r#"{{"allowedExtensionIds": ["{STORE_ID}", "{DEVELOPMENT_EXTENSION_ID}"]}}"#),
        );
        assert!(Config::resolve(&both, &env(None, None))
            .check_caller(Some(DEV))
            .is_ok());
        let developer = s.file(
            "developer.json",
            &format!(r#"{{"allowedExtensionIds": ["{STORE_ID}"], "developerMode": true}}"#),
        );
        assert!(Config::resolve(&developer, &env(None, None))
            .check_caller(Some(DEV))
            .is_ok());
    }

    #[test]
    fn a_broken_system_config_refuses_every_caller() {
        let s = Scratch::new();
        let good = format!(r#"["{STORE_ID}", "{DEVELOPMENT_EXTENSION_ID}"]"#);
        let cases = [
            (
                "trailing comma",
                format!(r#"{{"allowedExtensionIds": ["{STORE_ID}",]}}"#),
            ),
            ("empty", String::new()),
            ("whitespace", " \n".into()),
            (
                "invalid first",
                format!(r#"{{"allowedExtensionIds": ["short", "{STORE_ID}"]}}"#),
            ),
            (
                "invalid last",
                format!(r#"{{"allowedExtensionIds": ["{STORE_ID}", "{OTHER_ID}x"]}}"#),
            ),
            (
                "not a string",
                format!(r#"{{"allowedExtensionIds": ["{STORE_ID}", 5]}}"#),
            ),
            (
                "not a list",
                format!(r#"{{"allowedExtensionIds": "{STORE_ID}"}}"#),
            ),
            ("no list", r#"{"developerMode": false}"#.into()),
            ("array", format!("[{good}]")),
            (
                "mode type",
                format!(r#"{{"allowedExtensionIds": {good}, "developerMode": "false"}}"#),
            ),
            (
                "level",
                format!(r#"{{"allowedExtensionIds": {good}, "logLevel": "verbose"}}"#),
            ),
            (
                "level type",
                format!(r#"{{"allowedExtensionIds": {good}, "logLevel": 3}}"#),
            ),
            (
                "unknown key",
                format!(r#"{{"allowedExtensionIds": {good}, "alowedOrigins": []}}"#),
            ),
            (
                "duplicate key",
                format!(r#"{{"allowedExtensionIds": [], "allowedExtensionIds": {good}}}"#),
            ),
            (
                "tiny log",
                format!(r#"{{"allowedExtensionIds": {good}, "logMaxBytes": 10}}"#),
            ),
            (
                "negative log",
                format!(r#"{{"allowedExtensionIds": {good}, "logMaxBytes": -1}}"#),
            ),
            ("null", "null".into()),
        ];
        for (what, text) in cases {
            let path = s.file("host.json", &text);
            let c = Config::resolve(&path, &env(None, Some("1")));
            assert!(c.problem.is_some(), "{what}: {c:?}");
            refused_as_broken(&c, &path);
            assert!(!c.developer_mode, "{what}");
        }
        // A directory in the file's place, and a dangling link, are broken too, not missing.
        let dir = s.0.join("dir.json");
        std::fs::create_dir(&dir).expect("dir");
        let c = Config::resolve(&dir, &env(None, None));
        assert!(
            c.problem.as_deref().unwrap_or("").contains("cannot read"),
            "{c:?}"
        );
        refused_as_broken(&c, &dir);
        #[cfg(unix)]
        {
            let link = s.0.join("link.json");
            std::os::unix::fs::symlink(s.missing(), &link).expect("symlink");
            refused_as_broken(&Config::resolve(&link, &env(None, None)), &link);
        }
        // The error names the file and the reason.
        let path = s.file(
            "comma.json",
            r#"{"allowedExtensionIds": ["abcdefghijklmnopabcdefghijklmnop",]}"#,
        );
        let e = Config::resolve(&path, &env(None, None))
            .check_caller(Some(STORE))
            .expect_err("refused");
        let text = e.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(
            text.contains("not JSON") && text.contains("line 1"),
            "{text}"
        );
    }

    #[test]
    fn a_broken_or_missing_carecard_config_refuses_every_caller_when_no_system_config_exists() {
        let s = Scratch::new();
        let broken = s.file("broken.json", "");
        refused_as_broken(
            &Config::resolve(&s.missing(), &env(Some(&broken), None)),
            &broken,
        );
        let missing = s.0.join("typo.json");
        refused_as_broken(
            &Config::resolve(&s.missing(), &env(Some(&missing), None)),
            &missing,
        );
    }

    #[test]
    fn the_environment_cannot_turn_developer_mode_on_over_a_system_config() {
        let s = Scratch::new();
        let system = s.file(
            "system.json",
            &format!(r#"{{"allowedExtensionIds": ["{STORE_ID}"], "developerMode": false}}"#),
        );
        for on in ["1", "true", "TRUE"] {
            let c = Config::resolve(&system, &env(None, Some(on)));
            assert!(!c.developer_mode, "{on}");
            assert_eq!(
                c.check_caller(Some(DEV)),
                Err(OriginError::NotAllowed(DEVELOPMENT_EXTENSION_ID.into()))
            );
            assert!(
                c.notes.iter().any(|n| n.contains("ignored")),
                "{:?}",
                c.notes
            );
        }
        // ... but may turn it off.
        let developer = s.file(
            "developer.json",
            &format!(r#"{{"allowedExtensionIds": ["{STORE_ID}"], "developerMode": true}}"#),
        );
        assert!(Config::resolve(&developer, &env(None, None)).developer_mode);
        assert!(Config::resolve(&developer, &env(None, Some("1"))).developer_mode);
        for off in ["0", "false", "", "yes"] {
            let c = Config::resolve(&developer, &env(None, Some(off)));
            assert!(!c.developer_mode, "{off}");
            assert!(c.check_caller(Some(DEV)).is_err(), "{off}");
        }
        // The same for $CARECARD_CONFIG where no system config exists: developer mode is the
        // file's to give.
        let c = Config::resolve(&s.missing(), &env(Some(&system), Some("1")));
        assert!(!c.developer_mode);
        assert!(c.check_caller(Some(DEV)).is_err());
        assert!(Config::resolve(&s.missing(), &env(Some(&developer), Some("1"))).developer_mode);
        assert!(!Config::resolve(&s.missing(), &env(Some(&developer), Some("0"))).developer_mode);
        // Only with no config file at all may the environment turn it on.
        assert!(Config::resolve(&s.missing(), &env(None, Some("1"))).developer_mode);
        assert!(!Config::resolve(&s.missing(), &env(None, None)).developer_mode);
    }

    #[test]
    fn carecard_config_only_narrows_a_system_config() {
        let s = Scratch::new();
        let system = s.file(
            "system.json",
            &format!(
                r#"{{"allowedExtensionIds": ["{STORE_ID}", "{OTHER_ID}"], "logMaxBytes": 1000000}}"#
            ),
        );
        // A private config listing the development extension and developer mode adds nothing.
        let wider = s.file(
            "wider.json",
            &format!(r#"{{"allowedExtensionIds": ["{DEVELOPMENT_EXTENSION_ID}", "{STORE_ID}"], "developerMode": true, "logLevel": "trace", "logMaxBytes": 50000000}}"#),
        );
        let c = Config::resolve(&system, &env(Some(&wider), Some("1")));
        assert_eq!(c.allowed_extension_ids, vec![STORE_ID.to_owned()]);
        assert!(!c.developer_mode);
        assert_eq!(c.log_max_bytes, 1_000_000);
        assert_eq!(c.log_level, LevelFilter::Trace);
        assert!(c.check_caller(Some(DEV)).is_err());
        assert!(c.check_caller(Some(STORE)).is_ok());
        assert!(c
            .check_caller(Some(&format!("chrome-extension://{OTHER_ID}/")))
            .is_err());
        assert_eq!(c.source, system);
        // A broken or missing narrowing file refuses everyone (it cannot be honoured).
        let broken = s.file("broken.json", "{");
        refused_as_broken(
            &Config::resolve(&system, &env(Some(&broken), None)),
            &broken,
        );
        let missing = s.0.join("typo.json");
        refused_as_broken(
            &Config::resolve(&system, &env(Some(&missing), None)),
            &missing,
        );
        // Without a system config, CARECARD_CONFIG is the config in force.
        let c = Config::resolve(&s.missing(), &env(Some(&wider), None));
        assert!(c.check_caller(Some(STORE)).is_ok());
        assert!(c.developer_mode);
        assert_eq!(c.log_max_bytes, 50_000_000);
        assert_eq!(c.source, wider);
    }

    #[test]
    fn log_settings_from_file_and_environment() {
        let s = Scratch::new();
        let path = s.file(
            "log.json",
            &format!(r#"{{"allowedExtensionIds": ["{STORE_ID}"], "logLevel": "warn", "logMaxBytes": 65536}}"#),
        );
        let c = Config::resolve(&path, &env(None, None));
        assert_eq!(c.log_level, LevelFilter::Warn);
        assert_eq!(c.log_max_bytes, 65536);
        let mut e = env(None, None);
        e.log_level = Some("trace".into());
        assert_eq!(Config::resolve(&path, &e).log_level, LevelFilter::Trace);
        let c = Config::resolve(&s.missing(), &env(None, None));
        assert_eq!(c.log_max_bytes, DEFAULT_LOG_MAX_BYTES);
        assert_eq!(c.log_level, LevelFilter::Info);
    }

    const FIREFOX_ID: &str = "carecard@carecard.org";
    const FIREFOX_MANIFEST: &str = "/usr/lib/mozilla/native-messaging-hosts/org.carecard.host.json";

    fn firefox(c: &Config, id: &str) -> Result<Caller, OriginError> {
        c.check_caller_args(&[FIREFOX_MANIFEST.to_owned(), id.to_owned()])
    }

    #[test]
    fn firefox_add_on_ids() {
        for good in [
            FIREFOX_ID,
            "a@b",
            "@carecard.org",
            "my_add-on.2@example.co.uk",
            "{12345678-abcd-ef01-2345-6789ABCDEF01}",
        ] {
            assert!(is_firefox_extension_id(good), "{good}");
        }
        let long = format!("{}@carecard.org", "a".repeat(250));
        for bad in [
            "",
            "carecard",
            "carecard@",
            "a@b@c",
            "care card@carecard.org",
            "carecard@carecard.org/",
            "chrome-extension://pggklkelfcagmclfcaejdknbclgpeaco/",
            DEVELOPMENT_EXTENSION_ID,
            "{12345678-abcd-ef01-2345-6789abcdef0}",
            "{12345678-abcd-ef01-2345-6789abcdef0g}",
            "12345678-abcd-ef01-2345-6789abcdef01",
            long.as_str(),
        ] {
            assert!(!is_firefox_extension_id(bad), "{bad}");
        }
    }

    #[test]
    fn firefox_add_ons_are_served_only_when_listed() {
        let s = Scratch::new();
        // Without any config file: the development Chrome extension only, no Firefox add-on,
        // not even with developer mode on.
        let c = Config::resolve(&s.missing(), &env(None, Some("1")));
        assert_eq!(
            firefox(&c, FIREFOX_ID),
            Err(OriginError::FirefoxNotAllowed(FIREFOX_ID.into()))
        );
        // Listed: served, and the caller names the manifest Firefox read.
        let listed = s.file(
            "firefox.json",
            &format!(
                r#"{{"allowedExtensionIds": [], "allowedFirefoxExtensions": ["{FIREFOX_ID}"]}}"#
            ),
        );
        let c = Config::resolve(&listed, &env(None, None));
        assert_eq!(
            firefox(&c, FIREFOX_ID),
            Ok(Caller::Firefox {
                id: FIREFOX_ID.into(),
                manifest: FIREFOX_MANIFEST.into()
            })
        );
        // ... and nothing else: another add-on, a Chrome ID passed the Firefox way, the
        // development extension.
        assert_eq!(
            firefox(&c, "other@carecard.org"),
            Err(OriginError::FirefoxNotAllowed("other@carecard.org".into()))
        );
        assert_eq!(
            firefox(&c, DEVELOPMENT_EXTENSION_ID),
            Err(OriginError::MalformedFirefox)
        );
        assert_eq!(
            c.check_caller_args(&[DEV.to_owned()]),
            Err(OriginError::NotAllowed(DEVELOPMENT_EXTENSION_ID.into()))
        );
        // The Chrome list does not serve a Firefox add-on of the same name, nor the other way.
        let chrome_only = s.file(
            "chrome.json",
            &format!(r#"{{"allowedExtensionIds": ["{STORE_ID}"], "developerMode": true}}"#),
        );
        let c = Config::resolve(&chrome_only, &env(None, None));
        assert_eq!(
            firefox(&c, FIREFOX_ID),
            Err(OriginError::FirefoxNotAllowed(FIREFOX_ID.into()))
        );
        assert_eq!(
            c.check_caller_args(&[STORE.to_owned()]),
            Ok(Caller::Chrome(STORE_ID.into()))
        );
        // Chrome's caller with an extra argument is still Chrome's (only the origin counts).
        assert_eq!(
            c.check_caller_args(&[STORE.to_owned(), "x".to_owned()]),
            Ok(Caller::Chrome(STORE_ID.into()))
        );
    }

    #[test]
    fn firefox_callers_fail_closed() {
        let s = Scratch::new();
        let listed = s.file(
            "firefox.json",
            &format!(
                r#"{{"allowedExtensionIds": [], "allowedFirefoxExtensions": ["{FIREFOX_ID}"]}}"#
            ),
        );
        let c = Config::resolve(&listed, &env(None, None));
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for bad in [
            args(&["", FIREFOX_ID]),
            args(&[FIREFOX_MANIFEST, ""]),
            args(&[FIREFOX_MANIFEST, "carecard"]),
            args(&[FIREFOX_MANIFEST, FIREFOX_ID, "extra"]),
            args(&[FIREFOX_ID, FIREFOX_MANIFEST]),
        ] {
            assert!(c.check_caller_args(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(c.check_caller_args(&[]), Err(OriginError::Missing));
        assert_eq!(
            c.check_caller_args(&args(&[FIREFOX_ID])),
            Err(OriginError::Malformed)
        );
        // An invalid Firefox entry breaks the whole config: every caller is refused.
        for text in [
            format!(
                r#"{{"allowedExtensionIds": ["{STORE_ID}"], "allowedFirefoxExtensions": ["{FIREFOX_ID}", "not an id"]}}"#
            ),
            format!(
                r#"{{"allowedExtensionIds": ["{STORE_ID}"], "allowedFirefoxExtensions": "{FIREFOX_ID}"}}"#
            ),
            format!(
                r#"{{"allowedExtensionIds": ["{STORE_ID}"], "allowedFirefoxExtensions": ["{DEVELOPMENT_EXTENSION_ID}"]}}"#
            ),
            format!(r#"{{"allowedExtensionIds": ["{FIREFOX_ID}"]}}"#),
            format!(r#"{{"allowedFirefoxExtensions": ["{FIREFOX_ID}"]}}"#),
        ] {
            let path = s.file("broken.json", &text);
            let c = Config::resolve(&path, &env(None, None));
            assert!(c.problem.is_some(), "{text}");
            refused_as_broken(&c, &path);
            assert!(
                matches!(
                    firefox(&c, FIREFOX_ID),
                    Err(OriginError::ConfigBroken { .. })
                ),
                "{text}"
            );
            assert!(matches!(
                c.check_caller_args(&[FIREFOX_MANIFEST.into(), FIREFOX_ID.into(), "x".into()]),
                Err(OriginError::ConfigBroken { .. })
            ));
        }
    }

    #[test]
    fn carecard_config_narrows_the_firefox_list_too() {
        let s = Scratch::new();
        let system = s.file(
            "system.json",
            &format!(r#"{{"allowedExtensionIds": [], "allowedFirefoxExtensions": ["{FIREFOX_ID}", "b@carecard.org"]}}"#),
        );
        let narrower = s.file(
            "narrower.json",
            r#"{"allowedExtensionIds": [], "allowedFirefoxExtensions": ["b@carecard.org", "c@carecard.org"]}"#,
        );
        let c = Config::resolve(&system, &env(Some(&narrower), None));
        assert_eq!(
            c.allowed_firefox_extensions,
            vec!["b@carecard.org".to_owned()]
        );
        assert!(firefox(&c, "b@carecard.org").is_ok());
        assert!(firefox(&c, FIREFOX_ID).is_err());
        assert!(firefox(&c, "c@carecard.org").is_err());
        // Without a system config the private file is in force.
        let c = Config::resolve(&s.missing(), &env(Some(&narrower), None));
        assert!(firefox(&c, "c@carecard.org").is_ok());
    }

    #[test]
    fn malformed_callers_refused() {
        let s = Scratch::new();
        let c = Config::resolve(&s.missing(), &env(None, None));
        for bad in [
            "chrome-extension://pggklkelfcagmclfcaejdknbclgpeaco",
            "https://pggklkelfcagmclfcaejdknbclgpeaco/",
            "chrome-extension://pggklkelfcagmclfcaejdknbclgpeacz/",
            "chrome-extension://pggklkelfcagmclfcaejdknbclgpeaco/x",
        ] {
            assert_eq!(
                c.check_caller(Some(bad)),
                Err(OriginError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(c.check_caller(None), Err(OriginError::Missing));
    }
}
