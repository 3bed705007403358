//! Host configuration: the config file, environment overrides, and the caller-origin check.

use log::LevelFilter;
use serde_json::Value;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The development extension (key in `extension/manifest.json`): always allowed.
pub const DEVELOPMENT_EXTENSION_ID: &str = "pggklkelfcagmclfcaejdknbclgpeaco";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub allowed_extension_ids: Vec<String>,
    pub developer_mode: bool,
    pub log_level: LevelFilter,
    /// Where the settings came from, and any problem reading it (for `diagnose` and the log).
    pub source: PathBuf,
    pub problem: Option<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum OriginError {
    #[error("no caller origin was given")]
    Missing,
    #[error("the caller origin is not a chrome-extension://<id>/ origin")]
    Malformed,
    #[error("extension {0} is not allowed to use this host")]
    NotAllowed(String),
}

impl Config {
    /// Reads the config file (`$CARECARD_CONFIG` or the platform path) and applies the
    /// environment overrides. A missing or unreadable file gives the defaults, which allow only
    /// the development extension: failing closed.
    pub fn load() -> Config {
        let source = std::env::var_os("CARECARD_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(default_config_path);
        let mut config = Config::from_file(&source);
        config.apply_env(
            std::env::var("CARECARD_DEVELOPER_MODE").ok().as_deref(),
            std::env::var("CARECARD_LOG_LEVEL").ok().as_deref(),
        );
        config
    }

    fn defaults(source: PathBuf) -> Config {
        Config {
            allowed_extension_ids: Vec::new(),
            developer_mode: false,
            log_level: LevelFilter::Info,
            source,
            problem: None,
        }
    }

    fn from_file(path: &Path) -> Config {
        let mut config = Config::defaults(path.to_path_buf());
        match std::fs::read(path) {
            Ok(bytes) => {
                if let Err(why) = config.apply_json(&bytes) {
                    config.problem = Some(why);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => config.problem = Some(format!("cannot read: {e}")),
        }
        config
    }

    /// `{"allowedExtensionIds": [...], "developerMode": false, "logLevel": "info"}`.
    fn apply_json(&mut self, bytes: &[u8]) -> Result<(), String> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let obj = value.as_object().ok_or("not a JSON object")?;
        if let Some(ids) = obj.get("allowedExtensionIds") {
            let ids = ids.as_array().ok_or("allowedExtensionIds is not a list")?;
            for id in ids {
                match id.as_str() {
                    Some(id) if is_extension_id(id) => {
                        self.allowed_extension_ids.push(id.to_owned())
                    }
                    _ => return Err(format!("allowedExtensionIds has an invalid ID: {id}")),
                }
            }
        }
        if let Some(mode) = obj.get("developerMode") {
            self.developer_mode = mode.as_bool().ok_or("developerMode is not true/false")?;
        }
        if let Some(level) = obj.get("logLevel") {
            let level = level.as_str().ok_or("logLevel is not a string")?;
            self.log_level = parse_level(level).ok_or("logLevel is not a known level")?;
        }
        Ok(())
    }

    fn apply_env(&mut self, developer_mode: Option<&str>, log_level: Option<&str>) {
        if let Some(mode) = developer_mode {
            self.developer_mode = mode == "1" || mode.eq_ignore_ascii_case("true");
        }
        if let Some(level) = log_level.and_then(parse_level) {
            self.log_level = level;
        }
    }

    /// Checks Chrome's first argument `chrome-extension://<id>/` against the allowed IDs.
    pub fn check_caller(&self, origin: Option<&str>) -> Result<String, OriginError> {
        let origin = origin.ok_or(OriginError::Missing)?;
        let id = origin
            .strip_prefix("chrome-extension://")
            .and_then(|rest| rest.strip_suffix('/'))
            .filter(|id| is_extension_id(id))
            .ok_or(OriginError::Malformed)?;
        let allowed = self.allowed_extension_ids.iter().any(|a| a == id)
            || (id == DEVELOPMENT_EXTENSION_ID && self.development_extension_allowed());
        if allowed {
            Ok(id.to_owned())
        } else {
            Err(OriginError::NotAllowed(id.to_owned()))
        }
    }
}

impl Config {
    /// The development extension's key is public, so anyone can load an unpacked copy with its
    /// ID. It is served on a machine whose config lists no extension IDs (a developer's machine
    /// without an install), in developer mode, or where the config lists it; an installed config
    /// that leaves it out (`scripts/install --no-dev-extension`) refuses it.
    fn development_extension_allowed(&self) -> bool {
        self.allowed_extension_ids.is_empty() || self.developer_mode
    }
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

fn default_config_path() -> PathBuf {
    if cfg!(windows) {
        let base = std::env::var_os("ProgramData").unwrap_or_else(|| "C:\\ProgramData".into());
        PathBuf::from(base).join("carecard").join("host.json")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/carecard/host.json")
    } else {
        PathBuf::from("/etc/carecard/host.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Config {
        let mut c = Config::defaults(PathBuf::from("test.json"));
        c.apply_json(json.as_bytes()).expect("valid config");
        c
    }

    #[test]
    fn development_id_always_allowed_others_only_when_configured() {
        let c = config("{}");
        assert!(c
            .check_caller(Some("chrome-extension://pggklkelfcagmclfcaejdknbclgpeaco/"))
            .is_ok());
        assert_eq!(
            c.check_caller(Some("chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/")),
            Err(OriginError::NotAllowed(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into()
            ))
        );
        let c = config(r#"{"allowedExtensionIds": ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]}"#);
        assert!(c
            .check_caller(Some("chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"))
            .is_ok());
    }

    #[test]
    fn development_extension_only_where_no_ids_are_installed_or_in_developer_mode() {
        let dev = "chrome-extension://pggklkelfcagmclfcaejdknbclgpeaco/";
        let store = r#"{"allowedExtensionIds": ["abcdefghijklmnopabcdefghijklmnop"]}"#;
        assert!(config("{}").check_caller(Some(dev)).is_ok());
        assert_eq!(
            config(store).check_caller(Some(dev)),
            Err(OriginError::NotAllowed(DEVELOPMENT_EXTENSION_ID.to_owned()))
        );
        let with_dev = r#"{"allowedExtensionIds": ["abcdefghijklmnopabcdefghijklmnop", "pggklkelfcagmclfcaejdknbclgpeaco"]}"#;
        assert!(config(with_dev).check_caller(Some(dev)).is_ok());
        let mut developer = config(store);
        developer.apply_env(Some("1"), None);
        assert!(developer.check_caller(Some(dev)).is_ok());
    }

    #[test]
    fn malformed_callers_refused() {
        let c = config("{}");
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

    #[test]
    fn env_overrides_file_and_bad_file_rejected() {
        let mut c = config(r#"{"developerMode": true, "logLevel": "warn"}"#);
        assert!(c.developer_mode);
        assert_eq!(c.log_level, LevelFilter::Warn);
        c.apply_env(Some("0"), Some("trace"));
        assert!(!c.developer_mode);
        assert_eq!(c.log_level, LevelFilter::Trace);
        let mut d = Config::defaults(PathBuf::from("x"));
        assert!(d
            .apply_json(br#"{"allowedExtensionIds": ["short"]}"#)
            .is_err());
    }
}
