//! The host driver against the real `carecard-host`: frames go both ways, replies are matched
//! by id, logs land in the per-host folder, and end of stdin ends the host.

use std::time::Duration;

use carecard_testkit::{HostProcess, ServeOptions, Stack};
use serde_json::{json, Value};

#[test]
fn status_through_the_driver_sees_the_inserted_card() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);

    let reply = host.command("status", json!({}));
    assert_eq!(reply["id"], json!(1), "{reply}");
    let readers = reply["result"]["readers"]
        .as_array()
        .expect("readers")
        .clone();
    let ours = readers
        .iter()
        .find(|r| r["name"] == json!("Virtual PCD 00 00"))
        .unwrap_or_else(|| panic!("reader missing: {reply}"));
    assert!(ours["card"]["atr"].is_string(), "{reply}");

    // Ids are the caller's when given, and a second request gets its own reply.
    let reply = host.request(&json!({"id": 41, "command": "status"}));
    assert_eq!(reply["id"], json!(41));
    let reply = host.command("status", json!({}));
    assert_eq!(reply["id"], json!(2));

    assert_eq!(
        host.read_frame(Duration::from_millis(50)),
        None,
        "no stray frames"
    );
    let status = host.wait();
    assert!(status.success(), "exit {status}");
    assert!(
        !host.log_text().is_empty(),
        "trace log written to CARECARD_LOG_DIR"
    );
}

#[test]
fn a_malformed_frame_gets_an_error_reply_not_silence() {
    let stack = Stack::start().expect("stack");
    let mut host = HostProcess::spawn(&stack, &[]);
    host.send_frame(b"{not json");
    let reply: Value = host.read_frame(Duration::from_secs(10)).expect("a reply");
    assert_eq!(
        reply["error"]["code"],
        json!("ERR_INVALID_REQUEST"),
        "{reply}"
    );
    assert!(host.wait().success());
}
