//! `carecard-host diagnose`, one test per problem a service desk meets: each is reported as a
//! `PROBLEM` line with a `hint:`, and a healthy part as `ok`. The system-wide manifest folders
//! are looked up under `CARECARD_DIAGNOSE_ROOT`, the per-user ones under `HOME`, so nothing of
//! the machine's own install is read.

use carecard_testkit::{ServeOptions, Stack};
use std::path::{Path, PathBuf};
use std::process::Command;

const HOST: &str = env!("CARGO_BIN_EXE_carecard-host");
const STORE_ID: &str = "abcdefghijklmnopabcdefghijklmnop";
const OTHER_ID: &str = "ponmlkjihgfedcbaponmlkjihgfedcba";
const CHROMIUM_DIR: &str = "etc/chromium/native-messaging-hosts";

/// A temporary machine: a root for the system manifests, a home, a host config.
struct Machine {
    dir: PathBuf,
}

impl Machine {
    fn new(name: &str) -> Machine {
        let dir =
            std::env::temp_dir().join(format!("carecard-diagnose-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["root", "home", "logs"] {
            std::fs::create_dir_all(dir.join(sub)).expect("temp dirs");
        }
        Machine { dir }
    }

    fn config(&self, json: &str) -> PathBuf {
        let path = self.dir.join("host.json");
        std::fs::write(&path, json).expect("config");
        path
    }

    fn valid_config(&self) -> PathBuf {
        self.config(&format!(r#"{{"allowedExtensionIds": ["{STORE_ID}"], "developerMode": false, "logLevel": "info"}}"#))
    }

    /// Writes the Chromium system manifest (under the fake root) with this text.
    fn chromium_manifest(&self, text: &str) -> PathBuf {
        let dir = self.dir.join("root").join(CHROMIUM_DIR);
        std::fs::create_dir_all(&dir).expect("manifest dir");
        let path = dir.join("org.carecard.host.json");
        std::fs::write(&path, text).expect("manifest");
        path
    }

    fn manifest_for(&self, program: &Path, id: &str) -> PathBuf {
        self.chromium_manifest(
            &serde_json::json!({
                "name": "org.carecard.host",
                "description": "carecard test",
                "path": program,
                "type": "stdio",
                "allowed_origins": [format!("chrome-extension://{id}/")],
            })
            .to_string(),
        )
    }

    /// Runs diagnose with PC/SC pointed at `socket` (a stack's, or nowhere).
    fn diagnose(&self, config: &Path, pcsc: &[(String, String)]) -> String {
        let out = Command::new(HOST)
            .arg("diagnose")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_STATE_HOME")
            .env_remove("CARECARD_DEVELOPER_MODE")
            .env("HOME", self.dir.join("home"))
            .env("CARECARD_DIAGNOSE_ROOT", self.dir.join("root"))
            .env("CARECARD_CONFIG", config)
            .env("CARECARD_LOG_DIR", self.dir.join("logs"))
            .env("PCSCLITE_CSOCK_NAME", self.dir.join("no-pcscd.comm"))
            .envs(pcsc.iter().cloned())
            .output()
            .expect("diagnose runs");
        assert!(out.status.success(), "diagnose failed: {out:?}");
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The text has a PROBLEM line containing `what`, followed by a hint.
fn assert_problem(text: &str, what: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("PROBLEM") && l.contains(what))
        .unwrap_or_else(|| panic!("no PROBLEM line with {what:?} in:\n{text}"));
    assert!(
        lines
            .get(at + 1)
            .is_some_and(|l| l.trim_start().starts_with("hint: ") && l.len() > 20),
        "no hint after the problem {what:?} in:\n{text}"
    );
}

fn assert_ok(text: &str, what: &str) {
    assert!(
        text.lines()
            .any(|l| l.starts_with("ok") && l.contains(what)),
        "no ok line with {what:?} in:\n{text}"
    );
}

fn assert_no_problem(text: &str, what: &str) {
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("PROBLEM") && l.contains(what)),
        "unexpected PROBLEM with {what:?} in:\n{text}"
    );
}

fn problem_count(text: &str) -> usize {
    text.lines().filter(|l| l.starts_with("PROBLEM")).count()
}

#[test]
fn version_config_ids_and_log_location() {
    let m = Machine::new("basics");
    let text = m.diagnose(&m.valid_config(), &[]);
    assert!(
        text.starts_with(&format!("carecard-host {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains(&format!("program: {HOST}")), "{text}");
    assert_ok(&text, "is valid");
    assert!(
        text.contains(&format!("allowed extensions: {STORE_ID}")),
        "{text}"
    );
    assert!(
        text.contains("developer mode: off; log level: info"),
        "{text}"
    );
    assert!(
        text.contains(
            &m.dir
                .join("logs")
                .join("carecard-host.log")
                .display()
                .to_string()
        ),
        "{text}"
    );
    let count = problem_count(&text);
    let want = if count == 1 {
        "1 problem found".to_owned()
    } else {
        format!("{count} problems found")
    };
    assert!(text.trim_end().ends_with(&want), "{text}");
}

#[test]
fn broken_config_is_a_problem() {
    let m = Machine::new("broken-config");
    for bad in ["{not json", "", r#"{"allowedExtensionIds": ["short"]}"#] {
        let text = m.diagnose(&m.config(bad), &[]);
        assert_problem(&text, "is broken, problem: ");
        assert_problem(&text, "refuses every extension");
    }
}

#[test]
fn config_allowing_no_extension_is_a_problem() {
    let m = Machine::new("empty-config");
    let text = m.diagnose(&m.config(r#"{"allowedExtensionIds": []}"#), &[]);
    assert_problem(&text, "allows no extension");
}

#[test]
fn missing_config_is_a_problem() {
    if Path::new("/etc/carecard/host.json").exists() {
        eprintln!("skipped: this machine has a system host config"); // stdout-ok: stderr in a test
        return;
    }
    let m = Machine::new("no-config");
    let out = Command::new(HOST)
        .arg("diagnose")
        .env_remove("CARECARD_CONFIG")
        .env("HOME", m.dir.join("home"))
        .env("CARECARD_DIAGNOSE_ROOT", m.dir.join("root"))
        .env("PCSCLITE_CSOCK_NAME", m.dir.join("no-pcscd.comm"))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_problem(&text, "no config file at /etc/carecard/host.json");
}

#[test]
fn no_manifest_anywhere_is_a_problem() {
    let m = Machine::new("no-manifest");
    let text = m.diagnose(&m.valid_config(), &[]);
    assert_problem(&text, "no browser host manifest found");
    assert!(text.contains("Chromium (system): none at"), "{text}");
}

#[test]
fn manifest_pointing_at_this_program_is_ok() {
    let m = Machine::new("good-manifest");
    m.manifest_for(Path::new(HOST), STORE_ID);
    let text = m.diagnose(&m.valid_config(), &[]);
    assert_ok(
        &text,
        &format!(
            "Chromium (system): {}",
            m.dir.join("root").join(CHROMIUM_DIR).display()
        ),
    );
    assert_ok(&text, &format!("→ this program; allows {STORE_ID}"));
    assert_no_problem(&text, "manifest");
}

#[test]
fn user_level_manifest_is_found() {
    let m = Machine::new("user-manifest");
    let dir = m
        .dir
        .join("home/.config/google-chrome/NativeMessagingHosts");
    std::fs::create_dir_all(&dir).expect("dir");
    let manifest = serde_json::json!({
        "name": "org.carecard.host", "description": "d", "path": HOST, "type": "stdio",
        "allowed_origins": [format!("chrome-extension://{STORE_ID}/")],
    });
    std::fs::write(dir.join("org.carecard.host.json"), manifest.to_string()).expect("manifest");
    let text = m.diagnose(&m.valid_config(), &[]);
    assert_ok(&text, "Chrome (this user)");
}

#[test]
fn manifest_pointing_elsewhere_is_a_problem() {
    let m = Machine::new("other-program");
    let other = m.dir.join("other-carecard-host");
    std::fs::copy(HOST, &other).expect("copy");
    m.manifest_for(&other, STORE_ID);
    let text = m.diagnose(&m.valid_config(), &[]);
    assert_problem(&text, "not this program");
}

#[test]
fn manifest_pointing_at_nothing_is_a_problem() {
    let m = Machine::new("missing-program");
    m.manifest_for(&m.dir.join("gone/carecard-host"), STORE_ID);
    let text = m.diagnose(&m.valid_config(), &[]);
    assert_problem(&text, "which does not exist");
}

#[test]
fn unreadable_or_incomplete_manifest_is_a_problem() {
    let m = Machine::new("bad-manifest");
    m.chromium_manifest("{\"name\": ");
    let text = m.diagnose(&m.valid_config(), &[]);
    assert_problem(&text, "cannot be read as JSON");

    // No description: Chrome says "not found".
    m.chromium_manifest(
        &serde_json::json!({"name": "org.carecard.host", "path": HOST, "type": "stdio",
            "allowed_origins": [format!("chrome-extension://{STORE_ID}/")]})
        .to_string(),
    );
    let text = m.diagnose(&m.valid_config(), &[]);
    assert_problem(&text, "is not a valid host manifest");
}

#[test]
fn manifest_and_config_disagreeing_on_the_extension_is_a_problem() {
    let m = Machine::new("disagree");
    m.manifest_for(Path::new(HOST), OTHER_ID);
    let text = m.diagnose(&m.valid_config(), &[]);
    assert_problem(&text, "the host config allows none of them");
}

const FIREFOX_ID: &str = "carecard@carecard.org";
const FIREFOX_DIR: &str = "usr/lib/mozilla/native-messaging-hosts";

/// Writes Firefox's system manifest (under the fake root) for `program`, allowing `ids`.
fn firefox_manifest(m: &Machine, program: &Path, ids: &[&str]) {
    let dir = m.dir.join("root").join(FIREFOX_DIR);
    std::fs::create_dir_all(&dir).expect("manifest dir");
    let manifest = serde_json::json!({
        "name": "org.carecard.host", "description": "carecard test", "path": program,
        "type": "stdio", "allowed_extensions": ids,
    });
    std::fs::write(dir.join("org.carecard.host.json"), manifest.to_string()).expect("manifest");
}

#[test]
fn firefox_manifest_for_a_listed_add_on_is_ok() {
    let m = Machine::new("firefox-manifest");
    firefox_manifest(&m, Path::new(HOST), &[FIREFOX_ID]);
    let config = m.config(&format!(
        r#"{{"allowedExtensionIds": ["{STORE_ID}"], "allowedFirefoxExtensions": ["{FIREFOX_ID}"]}}"#
    ));
    let text = m.diagnose(&config, &[]);
    assert!(
        text.contains(&format!("allowed Firefox add-ons: {FIREFOX_ID}")),
        "{text}"
    );
    assert_ok(
        &text,
        &format!(
            "Firefox (system): {}",
            m.dir.join("root").join(FIREFOX_DIR).display()
        ),
    );
    assert_ok(&text, &format!("→ this program; allows {FIREFOX_ID}"));
    assert_no_problem(&text, "manifest");
}

#[test]
fn firefox_manifest_for_an_add_on_the_config_does_not_list_is_a_problem() {
    let m = Machine::new("firefox-disagree");
    // The Chrome list names the same string: Firefox's manifest is checked against Firefox's list only.
    firefox_manifest(&m, Path::new(HOST), &[FIREFOX_ID]);
    let text = m.diagnose(&m.valid_config(), &[]);
    assert_problem(
        &text,
        &format!("allows {FIREFOX_ID} but the host config allows none of them"),
    );
}

#[test]
fn firefox_manifest_allowing_nothing_is_a_problem() {
    let m = Machine::new("firefox-empty");
    firefox_manifest(&m, Path::new(HOST), &[]);
    let text = m.diagnose(&m.valid_config(), &[]);
    assert_problem(&text, "allows no extension");
    assert!(text.contains("scripts/install --browser firefox"), "{text}");
}

#[test]
fn a_config_serving_only_firefox_allows_an_extension() {
    let m = Machine::new("firefox-only");
    let config = m.config(&format!(
        r#"{{"allowedExtensionIds": [], "allowedFirefoxExtensions": ["{FIREFOX_ID}"]}}"#
    ));
    let text = m.diagnose(&config, &[]);
    assert_ok(&text, "is valid");
    assert_no_problem(&text, "allows no extension");
}

#[test]
fn pcsc_unavailable_is_a_problem() {
    let m = Machine::new("no-pcsc");
    let text = m.diagnose(&m.valid_config(), &[]);
    assert_problem(&text, "PC/SC: unavailable");
    assert!(text.contains("pcscd"), "the hint names the service: {text}");
}

#[test]
fn readers_without_a_card_is_a_problem() {
    let stack = Stack::start().expect("stack");
    let m = Machine::new("no-card");
    let text = m.diagnose(&m.valid_config(), &stack.env());
    assert_ok(&text, "PC/SC: available, 2 reader(s)");
    assert!(
        text.contains(&format!("{}: no card", stack.reader(0))),
        "{text}"
    );
    assert_problem(&text, "no card in any reader");
}

#[test]
fn a_good_card_and_a_card_without_piv() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _good = stack.insert(&card, &ServeOptions::default());
    let other = stack.new_card("p256");
    let _not_piv = stack.insert(
        &other,
        &ServeOptions {
            slot: 1,
            fail: vec!["A4=6A82".into()],
            ..ServeOptions::default()
        },
    );
    let m = Machine::new("cards");
    let text = m.diagnose(&m.valid_config(), &stack.env());
    assert_ok(&text, &format!("{}: card, ATR 3B88", stack.reader(0)));
    assert_ok(&text, "PIV, Alex Tester (555000000001)");
    assert!(text.contains("3 PIN tries left"), "{text}");
    assert!(
        text.contains("the login certificate is valid for"),
        "{text}"
    );
    assert_problem(&text, &format!("{}: card, ATR", stack.reader(1)));
    assert_problem(&text, "has no PIV application");
    assert_no_problem(&text, "no card in any reader");
}

#[test]
fn blocked_pin_is_a_problem() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _blocked = stack.insert(
        &card,
        &ServeOptions {
            fail: vec!["20=6983".into()],
            ..ServeOptions::default()
        },
    );
    let m = Machine::new("blocked");
    let text = m.diagnose(&m.valid_config(), &stack.env());
    assert_problem(&text, "the PIN is blocked");
    assert!(text.contains("self-service"), "{text}");
}

#[test]
fn healthy_machine_has_no_problems() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _card = stack.insert(&card, &ServeOptions::default());
    let m = Machine::new("healthy");
    m.manifest_for(Path::new(HOST), STORE_ID);
    let text = m.diagnose(&m.valid_config(), &stack.env());
    assert_eq!(problem_count(&text), 0, "{text}");
    assert!(text.trim_end().ends_with("no problems found"), "{text}");
    if std::env::var_os("CARECARD_SHOW_DIAGNOSE").is_some() {
        eprintln!("{text}"); // stdout-ok: stderr in a test
    }
}
