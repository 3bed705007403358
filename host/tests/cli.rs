//! The command line a person uses: --version, --help, diagnose.

use carecard_testkit::{ServeOptions, Stack};
use std::process::Command;

fn host() -> Command {
    Command::new(env!("CARGO_BIN_EXE_carecard-host"))
}

#[test]
fn version_and_help() {
    let out = host().arg("--version").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.trim(),
        format!("carecard-host {}", env!("CARGO_PKG_VERSION"))
    );
    let out = host().arg("--help").output().expect("runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("diagnose"));
}

#[test]
fn diagnose_shows_pcsc_readers_config_and_log() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let config = stack.dir().join("diag.json");
    std::fs::write(
        &config,
        r#"{"allowedExtensionIds": ["abcdefghijklmnopabcdefghijklmnop"]}"#,
    )
    .expect("config");
    let logs = stack.dir().join("diag-logs");
    let out = host()
        .arg("diagnose")
        .envs(stack.env())
        .env("CARECARD_CONFIG", &config)
        .env("CARECARD_LOG_DIR", &logs)
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PC/SC: available"), "{text}");
    assert!(
        text.contains(&format!("{}: card, ATR 3B88", stack.reader(0))),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}: no card", stack.reader(1))),
        "{text}"
    );
    assert!(text.contains("abcdefghijklmnopabcdefghijklmnop"), "{text}");
    assert!(
        text.contains(&logs.join("carecard-host.log").display().to_string()),
        "{text}"
    );

    // A broken config file is reported, and the service being down is said plainly.
    std::fs::write(&config, "{not json").expect("config");
    let out = host()
        .arg("diagnose")
        .env("PCSCLITE_CSOCK_NAME", stack.dir().join("nowhere.comm"))
        .env("CARECARD_CONFIG", &config)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("problem: not JSON"), "{text}");
    assert!(text.contains("PC/SC: unavailable"), "{text}");
}
