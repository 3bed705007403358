//! The host config fails closed (issue 8, item 1) and bounds the log (item 4), through the real
//! binary: a broken config refuses every caller with one `ERR_ORIGIN_NOT_ALLOWED` and a log
//! line naming the file and the reason; `logMaxBytes` caps the rotated log files.
//!
//! The system config (`/etc/carecard/host.json`) cannot be written by a test without touching
//! the machine, so these tests use `CARECARD_CONFIG`, which the host reads in its place where no
//! system config exists; the narrowing rules for a system config are unit tests in
//! `host/src/config.rs`.

mod common;

use carecard_testkit::{HostProcess, Stack, DEV_EXTENSION_ORIGIN};
use common::code;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const STORE_ID: &str = "abcdefghijklmnopabcdefghijklmnop";
const STORE_ORIGIN: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop/";

/// Starts a host for `origin` with `config` and returns its only frame and its log.
fn refused(stack: &Stack, origin: &str, config: &Path) -> (Value, String) {
    let config = config.to_string_lossy().into_owned();
    let mut host =
        HostProcess::spawn_with_args(stack, &[origin], &[("CARECARD_CONFIG", config.as_str())]);
    let reply = host
        .read_frame(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no reply for {origin} with {config}"));
    assert_eq!(
        host.read_frame(Duration::from_millis(200)),
        None,
        "one frame only"
    );
    let status = host.wait();
    assert!(!status.success(), "{status}");
    (reply, host.log_text())
}

fn serves(stack: &Stack, origin: &str, config: &Path, env: &[(&str, &str)]) -> bool {
    let config = config.to_string_lossy().into_owned();
    let mut all = vec![("CARECARD_CONFIG", config.as_str())];
    all.extend_from_slice(env);
    let mut host = HostProcess::spawn_with_args(stack, &[origin], &all);
    host.send_frame(br#"{"id": 1, "command": "status"}"#);
    let reply = host
        .read_frame(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no reply for {origin} with {config}"));
    let served = reply["id"] == json!(1) && reply["result"]["readers"].is_array();
    if !served {
        assert_eq!(code(&reply), "ERR_ORIGIN_NOT_ALLOWED", "{reply}");
        assert!(
            host.log_text().contains("refused caller"),
            "{}",
            host.log_text()
        );
    }
    served
}

#[test]
fn a_broken_config_refuses_every_caller_and_says_where() {
    let stack = Stack::start().expect("stack");
    let dir = stack.dir().join("configs");
    std::fs::create_dir_all(&dir).expect("dir");
    let dev = "pggklkelfcagmclfcaejdknbclgpeaco";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "trailing-comma",
            format!(r#"{{"allowedExtensionIds": ["{STORE_ID}",]}}"#),
            "not JSON",
        ),
        ("empty", String::new(), "empty"),
        (
            "invalid-first",
            format!(r#"{{"allowedExtensionIds": ["not-an-id", "{STORE_ID}", "{dev}"]}}"#),
            "allowedExtensionIds[0]",
        ),
        (
            "invalid-last",
            format!(r#"{{"allowedExtensionIds": ["{STORE_ID}", "{dev}", "x"]}}"#),
            "allowedExtensionIds[2]",
        ),
        (
            "wrong-type",
            format!(r#"{{"allowedExtensionIds": ["{STORE_ID}", "{dev}"], "developerMode": "no"}}"#),
            "invalid type",
        ),
        (
            "log-level",
            format!(r#"{{"allowedExtensionIds": ["{STORE_ID}", "{dev}"], "logLevel": "verbose"}}"#),
            "logLevel",
        ),
    ];
    let mut paths = Vec::new();
    for (name, text, reason) in &cases {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, text).expect("write");
        paths.push((path, *reason));
    }
    let folder = dir.join("folder.json");
    std::fs::create_dir_all(&folder).expect("dir");
    paths.push((folder, "cannot read"));

    for (path, reason) in &paths {
        for origin in [DEV_EXTENSION_ORIGIN, STORE_ORIGIN] {
            let (reply, log) = refused(&stack, origin, path);
            assert_eq!(
                code(&reply),
                "ERR_ORIGIN_NOT_ALLOWED",
                "{}: {reply}",
                path.display()
            );
            assert_eq!(reply["id"], json!(null));
            assert!(
                reply["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("configuration"),
                "{reply}"
            );
            let line = log
                .lines()
                .find(|l| l.contains("is broken"))
                .unwrap_or_else(|| {
                    panic!("no 'is broken' log line for {}:\n{log}", path.display())
                });
            assert!(line.contains("[ERROR]"), "{line}");
            assert!(line.contains(&path.display().to_string()), "{line}");
            assert!(line.contains(reason), "{reason}: {line}");
        }
    }
}

#[test]
fn an_installed_config_serves_only_what_it_lists() {
    let stack = Stack::start().expect("stack");
    let store = stack.dir().join("store.json");
    std::fs::write(
        &store,
        format!(r#"{{"allowedExtensionIds": ["{STORE_ID}"]}}"#),
    )
    .expect("write");
    assert!(serves(&stack, STORE_ORIGIN, &store, &[]));
    assert!(!serves(&stack, DEV_EXTENSION_ORIGIN, &store, &[]));
    // An empty list serves nobody, the development extension included.
    let nobody = stack.dir().join("nobody.json");
    std::fs::write(
        &nobody,
        r#"{"allowedExtensionIds": [], "logLevel": "info"}"#,
    )
    .expect("write");
    assert!(!serves(&stack, DEV_EXTENSION_ORIGIN, &nobody, &[]));
    assert!(!serves(&stack, STORE_ORIGIN, &nobody, &[]));
    // The development extension when the file asks for developer mode.
    let developer = stack.dir().join("developer.json");
    std::fs::write(
        &developer,
        format!(r#"{{"allowedExtensionIds": ["{STORE_ID}"], "developerMode": true}}"#),
    )
    .expect("write");
    assert!(serves(&stack, DEV_EXTENSION_ORIGIN, &developer, &[]));
    // The environment may turn it off.
    assert!(!serves(
        &stack,
        DEV_EXTENSION_ORIGIN,
        &developer,
        &[("CARECARD_DEVELOPER_MODE", "0")]
    ));
}

#[test]
fn log_max_bytes_caps_the_rotated_log() {
    let stack = Stack::start().expect("stack");
    let config = stack.dir().join("small-log.json");
    std::fs::write(
        &config,
        r#"{"allowedExtensionIds": ["pggklkelfcagmclfcaejdknbclgpeaco"], "logLevel": "trace", "logMaxBytes": 20000}"#,
    )
    .expect("write");
    let config = config.to_string_lossy().into_owned();
    let mut host = HostProcess::spawn(&stack, &[("CARECARD_CONFIG", config.as_str())]);
    for n in 0..600 {
        let reply = host.command("no-such-command", json!({"n": n}));
        assert_eq!(code(&reply), "ERR_UNKNOWN_COMMAND", "{reply}");
    }
    let reply = host.command("status", json!({}));
    assert!(reply["result"]["readers"].is_array(), "{reply}");
    assert!(host.wait().success());
    let mut files: Vec<(String, u64)> = std::fs::read_dir(host.log_dir())
        .expect("log dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().expect("metadata").len(),
            )
        })
        .collect();
    files.sort();
    let total: u64 = files.iter().map(|(_, len)| len).sum();
    assert!(total <= 20000, "{total} bytes in {files:?}");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "carecard-host.log",
            "carecard-host.log.1",
            "carecard-host.log.2",
            "carecard-host.log.3",
            "carecard-host.log.4"
        ],
        "{files:?}"
    );
    // The newest lines are kept: the last request and the exit.
    let log = host.log_text();
    assert!(log.contains("stopped"), "{log}");
}
