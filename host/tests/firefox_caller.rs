//! Firefox starts the host as `carecard-host <path of the host manifest> <add-on ID>` (not with a
//! `chrome-extension://` origin). The real binary serves a Firefox add-on listed in the config's
//! `allowedFirefoxExtensions` and refuses everything else with one `ERR_ORIGIN_NOT_ALLOWED`
//! frame, exactly as it does for Chrome callers: unknown add-ons, Chrome IDs passed the Firefox
//! way, malformed argument lists, and every caller under a broken config.

mod common;

use carecard_testkit::{HostProcess, Stack, DEV_EXTENSION_ORIGIN};
use common::code;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const FIREFOX_ID: &str = "carecard@carecard.org";
const MANIFEST: &str = "/usr/lib/mozilla/native-messaging-hosts/org.carecard.host.json";
const DEV_ID: &str = "pggklkelfcagmclfcaejdknbclgpeaco";

enum Outcome {
    Served,
    Refused(Value, String),
}

fn start(stack: &Stack, args: &[&str], config: &Path) -> Outcome {
    let config = config.to_string_lossy().into_owned();
    let mut host =
        HostProcess::spawn_with_args(stack, args, &[("CARECARD_CONFIG", config.as_str())]);
    host.send_frame(br#"{"id": 1, "command": "status"}"#);
    let reply = host
        .read_frame(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no reply for {args:?} with {config}"));
    if reply["id"] == json!(1) && reply["result"]["readers"].is_array() {
        let log = host.log_text();
        host.wait();
        assert!(log.contains("started"), "{log}");
        return Outcome::Served;
    }
    assert_eq!(
        host.read_frame(Duration::from_millis(200)),
        None,
        "one frame only"
    );
    let status = host.wait();
    assert!(!status.success(), "{status}");
    Outcome::Refused(reply, host.log_text())
}

fn write(stack: &Stack, name: &str, text: &str) -> std::path::PathBuf {
    let path = stack.dir().join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn a_listed_firefox_add_on_is_served_and_logged_with_its_manifest() {
    let stack = Stack::start().expect("stack");
    let config = write(
        &stack,
        "firefox.json",
        &format!(r#"{{"allowedExtensionIds": [], "allowedFirefoxExtensions": ["{FIREFOX_ID}"]}}"#),
    );
    let args = [MANIFEST, FIREFOX_ID];
    let mut host = HostProcess::spawn_with_args(
        &stack,
        &args,
        &[("CARECARD_CONFIG", &*config.to_string_lossy())],
    );
    host.send_frame(br#"{"id": 1, "command": "status"}"#);
    let reply = host.read_frame(Duration::from_secs(10)).expect("reply");
    assert_eq!(reply["id"], json!(1), "{reply}");
    assert_eq!(reply["result"]["protocol"], json!(1), "{reply}");
    host.send_frame(br#"{"id": 2, "command": "cards"}"#);
    let reply = host.read_frame(Duration::from_secs(10)).expect("reply");
    assert_eq!(reply["id"], json!(2), "{reply}");
    let status = host.wait();
    assert!(
        status.success(),
        "end of stdin ends the host cleanly: {status}"
    );
    let log = host.log_text();
    assert!(
        log.contains(&format!(
            "for Firefox add-on {FIREFOX_ID} (host manifest {MANIFEST})"
        )),
        "{log}"
    );
}

#[test]
fn firefox_callers_outside_the_list_are_refused() {
    let stack = Stack::start().expect("stack");
    let firefox = write(
        &stack,
        "firefox.json",
        &format!(
            r#"{{"allowedExtensionIds": ["{DEV_ID}"], "developerMode": true, "allowedFirefoxExtensions": ["{FIREFOX_ID}"]}}"#
        ),
    );
    let chrome_only = write(
        &stack,
        "chrome.json",
        &format!(r#"{{"allowedExtensionIds": ["{DEV_ID}"], "developerMode": true}}"#),
    );
    // The Chrome caller still works with both configs.
    assert!(matches!(
        start(&stack, &[DEV_EXTENSION_ORIGIN], &firefox),
        Outcome::Served
    ));
    assert!(matches!(
        start(&stack, &[MANIFEST, FIREFOX_ID], &firefox),
        Outcome::Served
    ));
    let cases: Vec<(Vec<&str>, &Path, &str)> = vec![
        // Not listed (developer mode adds no Firefox add-on).
        (vec![MANIFEST, FIREFOX_ID], &chrome_only, "not allowed"),
        (
            vec![MANIFEST, "other@carecard.org"],
            &firefox,
            "not allowed",
        ),
        (
            vec![MANIFEST, "{12345678-abcd-ef01-2345-6789abcdef01}"],
            &firefox,
            "not allowed",
        ),
        // A Chrome ID passed the Firefox way is no Firefox add-on ID.
        (vec![MANIFEST, DEV_ID], &firefox, "neither"),
        // Malformed argument lists.
        (vec![FIREFOX_ID], &firefox, "not a chrome-extension"),
        (vec![MANIFEST, FIREFOX_ID, "extra"], &firefox, "neither"),
        (vec![MANIFEST, ""], &firefox, "neither"),
        (vec!["", FIREFOX_ID], &firefox, "neither"),
        (
            vec![MANIFEST, "carecard@carecard.org\nforged"],
            &firefox,
            "neither",
        ),
    ];
    for (args, config, why) in cases {
        match start(&stack, &args, config) {
            Outcome::Served => panic!("{args:?} with {} was served", config.display()),
            Outcome::Refused(reply, log) => {
                assert_eq!(code(&reply), "ERR_ORIGIN_NOT_ALLOWED", "{args:?}: {reply}");
                assert_eq!(reply["id"], json!(null));
                assert!(log.contains("refused caller"), "{args:?}: {log}");
                assert!(log.contains(why), "{args:?}: wanted {why:?} in {log}");
            }
        }
    }
}

#[test]
fn a_broken_config_refuses_firefox_too() {
    let stack = Stack::start().expect("stack");
    for (name, text) in [
        (
            "bad-entry.json",
            format!(
                r#"{{"allowedExtensionIds": [], "allowedFirefoxExtensions": ["{FIREFOX_ID}", "carecard"]}}"#
            ),
        ),
        (
            "not-a-list.json",
            format!(r#"{{"allowedExtensionIds": [], "allowedFirefoxExtensions": "{FIREFOX_ID}"}}"#),
        ),
        (
            "firefox-in-chrome-list.json",
            format!(r#"{{"allowedExtensionIds": ["{FIREFOX_ID}"]}}"#),
        ),
        (
            "trailing-comma.json",
            format!(
                r#"{{"allowedExtensionIds": [], "allowedFirefoxExtensions": ["{FIREFOX_ID}",]}}"#
            ),
        ),
    ] {
        let path = write(&stack, name, &text);
        for args in [vec![MANIFEST, FIREFOX_ID], vec![DEV_EXTENSION_ORIGIN]] {
            match start(&stack, &args, &path) {
                Outcome::Served => panic!("{args:?} served with broken {name}"),
                Outcome::Refused(reply, log) => {
                    assert_eq!(code(&reply), "ERR_ORIGIN_NOT_ALLOWED", "{name}: {reply}");
                    assert!(
                        reply["error"]["message"]
                            .as_str()
                            .unwrap_or("")
                            .contains("configuration"),
                        "{reply}"
                    );
                    assert!(log.contains(&path.display().to_string()), "{log}");
                    assert!(log.contains("is broken"), "{log}");
                }
            }
        }
    }
}
