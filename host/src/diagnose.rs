//! `carecard-host diagnose`: what an IT service desk asks, printed for a person — the version,
//! the host config (found, valid, which extensions it allows), each browser's host manifest
//! (present, well-formed, pointing at this program, allowing an extension the config allows),
//! PC/SC (pcscd reachable, readers, cards: PIV or not, holder, certificate expiry, PIN tries) and
//! the log file, with a plain hint for each problem found.
//!
//! Lines start with `ok`, `--` (for information) or `PROBLEM`; each problem is followed by a
//! `hint:` line. The last line counts the problems. `CARECARD_DIAGNOSE_ROOT` makes it look for the
//! system-wide manifests under that folder instead of `/` (tests, or checking a staged install).

#![allow(clippy::print_stdout)]

use crate::config::{Config, DEVELOPMENT_EXTENSION_ID};
use crate::logging;
use carecard_card::{CardError, Pcsc, PinStatus, Slot};
use carecard_protocol::{hex_upper, CertificateSummary};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

const HOST_NAME: &str = "org.carecard.host";

/// What `diagnose` prints, line by line, and how many problems it found.
#[derive(Debug, Default)]
struct Report {
    lines: Vec<String>,
    problems: usize,
}

impl Report {
    fn ok(&mut self, text: impl AsRef<str>) {
        self.lines.push(format!("ok       {}", text.as_ref()));
    }

    fn info(&mut self, text: impl AsRef<str>) {
        self.lines.push(format!("--       {}", text.as_ref()));
    }

    fn problem(&mut self, text: impl AsRef<str>, hint: impl AsRef<str>) {
        self.problems += 1;
        self.lines.push(format!("PROBLEM  {}", text.as_ref()));
        self.lines.push(format!("         hint: {}", hint.as_ref()));
    }

    fn heading(&mut self, text: &str) {
        self.lines.push(format!("\n{text}"));
    }
}

pub fn run(config: &Config) {
    let mut report = Report::default();
    report
        .lines
        .push(format!("carecard-host {}", env!("CARGO_PKG_VERSION")));
    let this = std::env::current_exe().ok();
    report.lines.push(format!(
        "program: {}",
        this.as_deref()
            .map_or("unknown".into(), |p| p.display().to_string())
    ));
    check_config(&mut report, config);
    check_manifests(&mut report, config, this.as_deref());
    check_pcsc(&mut report);
    check_log(&mut report);
    report.lines.push(String::new());
    report.lines.push(match report.problems {
        0 => "no problems found".to_owned(),
        1 => "1 problem found".to_owned(),
        n => format!("{n} problems found"),
    });
    for line in &report.lines {
        println!("{line}"); // stdout-ok: diagnose is run by a person in a terminal
    }
}

// --- the host config -----------------------------------------------------------------------

fn check_config(report: &mut Report, config: &Config) {
    report.heading("host config");
    let path = config.source.display();
    if let Some(problem) = &config.problem {
        report.problem(
            format!("config {path} is broken, problem: {problem}; the host refuses every extension"),
            format!(
                "fix {path} or reinstall carecard; it must be JSON like \
                 {{\"allowedExtensionIds\": [\"<extension ID>\"], \"developerMode\": false, \"logLevel\": \"info\"}}"
            ),
        );
    } else if !config.source.exists() {
        report.problem(
            format!("no config file at {path}: only the development extension is served"),
            "install carecard (the package, or scripts/install --extension-id <ID>) or ask IT to deploy the host config",
        );
    } else if config.allowed_extension_ids.is_empty()
        && config.allowed_firefox_extensions.is_empty()
    {
        report.problem(
            format!("config {path} allows no extension: the host refuses every extension"),
            format!(
                "list the carecard extension's ID in allowedExtensionIds (Chrome, Edge) or \
                 allowedFirefoxExtensions (Firefox) in {path}"
            ),
        );
    } else {
        report.ok(format!("config {path} is valid"));
    }
    if config.problem.is_none() {
        let ids: Vec<String> = config
            .allowed_extension_ids
            .iter()
            .map(|id| describe_id(id))
            .collect();
        report.info(format!(
            "allowed extensions: {}",
            if ids.is_empty() {
                "none".to_owned()
            } else {
                ids.join(", ")
            }
        ));
        if !config.allowed_firefox_extensions.is_empty() {
            report.info(format!(
                "allowed Firefox add-ons: {}",
                config.allowed_firefox_extensions.join(", ")
            ));
        }
        report.info(format!(
            "developer mode: {}; log level: {}",
            if config.developer_mode { "on" } else { "off" },
            config.log_level.as_str().to_ascii_lowercase()
        ));
    }
    for note in &config.notes {
        report.info(note);
    }
}

fn describe_id(id: &str) -> String {
    if id == DEVELOPMENT_EXTENSION_ID {
        format!("{id} (development)")
    } else {
        id.to_owned()
    }
}

// --- the browsers' host manifests ----------------------------------------------------------

/// Which browser family reads a manifest: Chrome, Chromium and Edge list `allowed_origins`
/// (`chrome-extension://<id>/`), Firefox lists `allowed_extensions` (add-on IDs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Chromium,
    Firefox,
}

/// One place a browser looks for `org.carecard.host.json` on this platform.
struct ManifestPlace {
    browser: String,
    family: Family,
    path: PathBuf,
}

/// Where each browser looks for `org.carecard.host.json` on this platform (manifests/README.md;
/// Firefox: MDN "Native manifests", the folders `scripts/install --browser firefox` writes).
fn manifest_locations() -> Vec<ManifestPlace> {
    let root = std::env::var_os("CARECARD_DIAGNOSE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"));
    let file = format!("{HOST_NAME}.json");
    let system = |dir: &str| Some(root.join(dir.trim_start_matches('/')).join(&file));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let user = |dir: &str| home.as_ref().map(|h| h.join(dir).join(&file));
    use Family::{Chromium, Firefox};
    let places: Vec<(&str, Family, Option<PathBuf>)> = if cfg!(windows) {
        // The registry says where each manifest is; the installer puts them beside the program.
        let beside = |name: &str| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join(name)))
        };
        vec![
            (
                "Chrome and Edge (beside this program)",
                Chromium,
                beside(&file),
            ),
            (
                "Firefox (beside this program)",
                Firefox,
                beside(&format!("{HOST_NAME}.firefox.json")),
            ),
        ]
    } else if cfg!(target_os = "macos") {
        vec![
            (
                "Chrome (system)",
                Chromium,
                system("/Library/Google/Chrome/NativeMessagingHosts"),
            ),
            (
                "Chromium (system)",
                Chromium,
                system("/Library/Application Support/Chromium/NativeMessagingHosts"),
            ),
            (
                "Edge (system)",
                Chromium,
                system("/Library/Microsoft/Edge/NativeMessagingHosts"),
            ),
            (
                "Firefox (system)",
                Firefox,
                system("/Library/Application Support/Mozilla/NativeMessagingHosts"),
            ),
            (
                "Chrome (this user)",
                Chromium,
                user("Library/Application Support/Google/Chrome/NativeMessagingHosts"),
            ),
            (
                "Chromium (this user)",
                Chromium,
                user("Library/Application Support/Chromium/NativeMessagingHosts"),
            ),
            (
                "Edge (this user)",
                Chromium,
                user("Library/Application Support/Microsoft Edge/NativeMessagingHosts"),
            ),
            (
                "Firefox (this user)",
                Firefox,
                user("Library/Application Support/Mozilla/NativeMessagingHosts"),
            ),
        ]
    } else {
        let config_home = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".config")));
        let xdg = |dir: &str| config_home.as_ref().map(|c| c.join(dir).join(&file));
        vec![
            (
                "Chrome (system)",
                Chromium,
                system("/etc/opt/chrome/native-messaging-hosts"),
            ),
            (
                "Chromium (system)",
                Chromium,
                system("/etc/chromium/native-messaging-hosts"),
            ),
            (
                "Edge (system)",
                Chromium,
                system("/etc/opt/edge/native-messaging-hosts"),
            ),
            (
                "Firefox (system)",
                Firefox,
                system("/usr/lib/mozilla/native-messaging-hosts"),
            ),
            (
                "Firefox (system, lib64)",
                Firefox,
                system("/usr/lib64/mozilla/native-messaging-hosts"),
            ),
            (
                "Chrome (this user)",
                Chromium,
                xdg("google-chrome/NativeMessagingHosts"),
            ),
            (
                "Chromium (this user)",
                Chromium,
                xdg("chromium/NativeMessagingHosts"),
            ),
            (
                "Edge (this user)",
                Chromium,
                xdg("microsoft-edge/NativeMessagingHosts"),
            ),
            (
                "Firefox (this user)",
                Firefox,
                user(".mozilla/native-messaging-hosts"),
            ),
        ]
    };
    places
        .into_iter()
        .filter_map(|(browser, family, path)| {
            path.map(|path| ManifestPlace {
                browser: browser.to_owned(),
                family,
                path,
            })
        })
        .collect()
}

fn check_manifests(report: &mut Report, config: &Config, this: Option<&Path>) {
    report.heading(&format!("browser host manifests ({HOST_NAME})"));
    let mut found = 0;
    for place in manifest_locations() {
        if !place.path.exists() {
            report.info(format!(
                "{}: none at {}",
                place.browser,
                place.path.display()
            ));
            continue;
        }
        found += 1;
        check_manifest(report, config, this, &place);
    }
    if cfg!(windows) {
        report.info(format!(
            "the registry keys are not read here: reg query HKLM\\SOFTWARE\\Google\\Chrome\\NativeMessagingHosts\\{HOST_NAME} \
             (and ...\\Microsoft\\Edge\\..., ...\\Mozilla\\...) must name the manifest's full path"
        ));
    }
    if found == 0 {
        report.problem(
            "no browser host manifest found: Chrome, Chromium, Edge and Firefox cannot start the host",
            "install carecard (the package, or scripts/install) so each browser finds org.carecard.host.json",
        );
    }
}

fn check_manifest(
    report: &mut Report,
    config: &Config,
    this: Option<&Path>,
    place: &ManifestPlace,
) {
    let (browser, path) = (place.browser.as_str(), place.path.as_path());
    let shown = path.display();
    let manifest: Value = match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            report.problem(
                format!("{browser}: {shown} cannot be read as JSON ({e})"),
                "reinstall carecard to rewrite the manifest (the browser ignores a broken one)",
            );
            return;
        }
    };
    let text = |key: &str| manifest.get(key).and_then(Value::as_str).unwrap_or("");
    if text("name") != HOST_NAME || text("type") != "stdio" || text("description").is_empty() {
        report.problem(
            format!("{browser}: {shown} is not a valid host manifest (name, type or description wrong or missing)"),
            "reinstall carecard; without a description Chrome reports the host as not found",
        );
        return;
    }
    let target = text("path");
    let target_path = if Path::new(target).is_absolute() {
        PathBuf::from(target)
    } else {
        path.parent().unwrap_or(Path::new("")).join(target)
    };
    if target.is_empty() || !target_path.is_file() {
        report.problem(
            format!("{browser}: {shown} points at {target:?}, which does not exist"),
            "reinstall carecard so the manifest points at the installed carecard-host",
        );
        return;
    }
    let same = match (this, std::fs::canonicalize(&target_path)) {
        (Some(this), Ok(target)) => std::fs::canonicalize(this).is_ok_and(|t| t == target),
        _ => false,
    };
    let ids = allowed_ids(&manifest, place.family);
    let allowed = match place.family {
        Family::Chromium => &config.allowed_extension_ids,
        Family::Firefox => &config.allowed_firefox_extensions,
    };
    let served: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| allowed.iter().any(|a| a == id))
        .collect();
    if !same {
        report.problem(
            format!("{browser}: {shown} points at {target}, not this program"),
            "two carecard installs disagree: remove the old one, or run diagnose from the program the manifest names",
        );
    } else if ids.is_empty() {
        report.problem(
            format!("{browser}: {shown} allows no extension"),
            match place.family {
                Family::Chromium => "reinstall carecard with the extension's ID (scripts/install --extension-id <ID>)",
                Family::Firefox => "reinstall carecard for Firefox (scripts/install --browser firefox)",
            },
        );
    } else if served.is_empty() && config.problem.is_none() {
        report.problem(
            format!(
                "{browser}: {shown} allows {} but the host config allows none of them",
                ids.join(", ")
            ),
            "the browser will start the host and the host will refuse it: list the same IDs in the manifest and the host config",
        );
    } else {
        report.ok(format!(
            "{browser}: {shown} → this program; allows {}",
            ids.iter()
                .map(|id| describe_id(id))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

/// The extensions a manifest lets start the host: Chrome's `allowed_origins` as IDs, Firefox's
/// `allowed_extensions` as they are.
fn allowed_ids(manifest: &Value, family: Family) -> Vec<&str> {
    let key = match family {
        Family::Chromium => "allowed_origins",
        Family::Firefox => "allowed_extensions",
    };
    let listed = manifest
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
        .unwrap_or_default();
    match family {
        Family::Chromium => listed
            .into_iter()
            .filter_map(|o| {
                o.strip_prefix("chrome-extension://")
                    .and_then(|r| r.strip_suffix('/'))
            })
            .collect(),
        Family::Firefox => listed,
    }
}

// --- PC/SC, readers and cards --------------------------------------------------------------

fn check_pcsc(report: &mut Report) {
    report.heading("smartcard service (PC/SC), readers and cards");
    let pcsc = match Pcsc::establish() {
        Ok(p) => p,
        Err(e) => {
            report.problem(format!("PC/SC: unavailable ({e})"), pcsc_hint());
            return;
        }
    };
    let readers = match pcsc.readers() {
        Ok(r) => r,
        Err(CardError::NoReader) => Vec::new(),
        Err(e) => {
            report.problem(format!("PC/SC: unavailable ({e})"), pcsc_hint());
            return;
        }
    };
    report.ok(format!("PC/SC: available, {} reader(s)", readers.len()));
    if readers.is_empty() {
        report.problem(
            "no smartcard reader found",
            "connect the card reader (unplug and plug it back in); if it is connected, restart the smart card service",
        );
        return;
    }
    let mut cards = 0;
    for reader in &readers {
        match &reader.atr {
            None => report.info(format!("{}: no card", reader.name)),
            Some(atr) => {
                cards += 1;
                check_card(report, &pcsc, &reader.name, atr);
            }
        }
    }
    if cards == 0 {
        report.problem(
            "no card in any reader",
            "insert your smartcard, chip first and face up; if it is in, take it out and put it back",
        );
    }
}

fn pcsc_hint() -> &'static str {
    if cfg!(windows) {
        "start the Windows \"Smart Card\" service (SCardSvr), or restart the computer"
    } else if cfg!(target_os = "macos") {
        "restart the computer; macOS starts its smart card service by itself"
    } else {
        "start the smart card service: sudo systemctl enable --now pcscd.socket (Debian/Ubuntu: apt install pcscd)"
    }
}

/// What the card's PIV application says: the login certificate and the PIN tries left.
fn check_card(report: &mut Report, pcsc: &Pcsc, reader: &str, atr: &[u8]) {
    let read = pcsc.connect(reader).and_then(|mut card| {
        card.transaction(|piv| {
            let certificate = piv.read_certificate(Slot::Authentication)?;
            let pin = piv.pin_status()?;
            Ok((certificate, pin))
        })
    });
    let label = format!("{reader}: card, ATR {}", hex_upper(atr));
    let (certificate, pin) = match read {
        Ok(found) => found,
        Err(CardError::UnsupportedCard) => {
            report.problem(
                format!("{label} has no PIV application"),
                "this is not an NHS smartcard (or it is inserted the wrong way round): use your NHS smartcard",
            );
            return;
        }
        Err(e) => {
            report.problem(
                format!("{label} cannot be read: {e}"),
                "take the card out and put it back; if it keeps failing, the card or reader may be faulty",
            );
            return;
        }
    };
    let Some(der) = certificate else {
        report.problem(
            format!("{label}: PIV card without a login certificate"),
            "the card has not been issued or was not finished: contact your Registration Authority (RA)",
        );
        return;
    };
    let summary = match CertificateSummary::from_der(&der) {
        Ok(s) => s,
        Err(e) => {
            report.problem(
                format!("{label}: the login certificate cannot be read ({e})"),
                "contact your Registration Authority (RA) to repair the card",
            );
            return;
        }
    };
    let holder = [summary.given_name.as_deref(), summary.surname.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let holder = if holder.is_empty() {
        summary.common_name.clone()
    } else {
        holder
    };
    let who = match &summary.user_id {
        Some(id) => format!("{holder} ({id})"),
        None => holder,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let days_left = (summary.not_after - now).div_euclid(86_400);
    report.ok(format!("{label}: PIV, {who}"));
    if days_left < 0 {
        report.problem(
            format!("{reader}: the login certificate has expired"),
            "contact your Registration Authority (RA) to renew the card",
        );
    } else if days_left <= 90 {
        report.info(format!(
            "{reader}: the login certificate expires in {days_left} day(s); renew it on the CIS2 self-service site"
        ));
    } else {
        report.info(format!(
            "{reader}: the login certificate is valid for {days_left} more days"
        ));
    }
    match pin {
        PinStatus::Blocked => report.problem(
            format!("{reader}: the PIN is blocked"),
            "unlock the card on the CIS2 self-service site, or ask your Registration Authority (RA)",
        ),
        PinStatus::RetriesLeft(n) if n <= 1 => report.problem(
            format!("{reader}: {n} PIN try left before the card locks"),
            "if you are not sure of your PIN, do not try again: unlock or reset it with CIS2 self-service or your RA",
        ),
        PinStatus::RetriesLeft(n) => report.info(format!("{reader}: {n} PIN tries left")),
        PinStatus::Verified => report.info(format!("{reader}: PIN currently verified")),
    }
}

// --- the log -------------------------------------------------------------------------------

fn check_log(report: &mut Report) {
    report.heading("log");
    match logging::log_path() {
        None => report
            .info("log file: none (no home folder): the host logs to the browser's error output"),
        Some(path) => match std::fs::metadata(&path) {
            Ok(m) => report.info(format!("log file: {} ({} bytes)", path.display(), m.len())),
            Err(_) => report.info(format!(
                "log file: {} (not written yet: the browser has not started the host as this user)",
                path.display()
            )),
        },
    }
}
