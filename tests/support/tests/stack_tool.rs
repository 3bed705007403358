//! The `carecard-stack` tool as the browser tests use it: one JSON line describing the stack,
//! then line commands answered with one JSON line each; end of stdin stops everything.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

fn line(reader: &mut impl BufRead) -> Value {
    let mut text = String::new();
    reader.read_line(&mut text).expect("read a line");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}

fn atr_of(reply: &Value, reader: &str) -> Value {
    let readers = reply["readers"].as_array().expect("readers");
    readers
        .iter()
        .find(|r| r["name"] == json!(reader))
        .map(|r| r["atr"].clone())
        .unwrap_or_else(|| panic!("{reader} missing: {reply}"))
}

#[test]
fn the_stack_tool_serves_line_commands_and_cleans_up() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_carecard-stack"))
        .args(["--algorithm", "p256"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn carecard-stack");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));

    let info = line(&mut stdout);
    let socket = info["socket"].as_str().expect("socket").to_owned();
    assert_eq!(info["env"]["PCSCLITE_CSOCK_NAME"], json!(socket));
    assert_eq!(info["reader"], json!("Virtual PCD 00 00"));
    let ca = info["card"]["caDer"].as_str().expect("caDer");
    assert!(std::path::Path::new(ca).is_file());

    let mut ask = |command: &str| {
        writeln!(stdin, "{command}").expect("write");
        line(&mut stdout)
    };
    assert!(atr_of(&ask("readers"), "Virtual PCD 00 00").is_string());
    assert_eq!(ask("remove"), json!({"ok": true}));
    assert!(atr_of(&ask("readers"), "Virtual PCD 00 00").is_null());
    assert!(ask("remove")["error"].is_string(), "nothing left to remove");
    assert_eq!(ask("insert"), json!({"ok": true}));
    assert!(atr_of(&ask("readers"), "Virtual PCD 00 00").is_string());
    assert!(ask("no-such-command")["error"].is_string());

    drop(stdin);
    let status = child.wait().expect("wait");
    assert!(status.success(), "exit {status}");
    assert!(
        !std::path::Path::new(&socket).exists(),
        "stack folder removed"
    );
}
