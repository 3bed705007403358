//! `status` and `certificates` through the real binary against a real pcscd.

mod common;

use carecard_testkit::{HostProcess, ServeOptions, Stack};
use common::*;
use serde_json::{json, Value};

fn our_reader(reply: &Value, name: &str) -> Value {
    reply["result"]["readers"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == json!(name)).cloned())
        .unwrap_or_else(|| panic!("reader {name} missing: {reply}"))
}

#[test]
fn status_lists_the_virtual_reader_and_a_piv_card() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);
    let reply = host.command("status", json!({}));
    assert_eq!(reply["result"]["pcsc"], json!("available"), "{reply}");
    assert_eq!(reply["result"]["protocol"], json!(1), "{reply}");
    let reader = our_reader(&reply, &stack.reader(0));
    assert_eq!(reader["card"]["application"], json!("PIV"), "{reply}");
    let atr = reader["card"]["atr"].as_str().expect("atr");
    assert!(
        atr.starts_with("3B88")
            && atr
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()),
        "{atr}"
    );
    // The other virtual reader is empty.
    assert_eq!(
        our_reader(&reply, &stack.reader(1))["card"],
        json!(null),
        "{reply}"
    );

    let reply = host.command("certificates", json!({}));
    let certs = reply["result"]["certificates"]
        .as_array()
        .expect("certificates")
        .clone();
    let slots: Vec<&str> = certs.iter().filter_map(|c| c["slot"].as_str()).collect();
    assert_eq!(slots, ["9A", "9C"], "{reply}");
    for c in &certs {
        assert_eq!(c["reader"], json!(stack.reader(0)));
        assert!(
            b64(c["certificate"].as_str().expect("b64"))[0] == 0x30,
            "DER SEQUENCE"
        );
    }
    assert!(host.wait().success());
}

#[test]
fn no_card_means_card_null_and_no_card_errors() {
    let stack = Stack::start().expect("stack");
    let mut host = HostProcess::spawn(&stack, &[]);
    let reply = host.command("status", json!({}));
    assert_eq!(
        our_reader(&reply, &stack.reader(0))["card"],
        json!(null),
        "{reply}"
    );
    let reply = host.command("certificates", json!({}));
    assert_eq!(reply["result"]["certificates"], json!([]), "{reply}");
    let reply = authenticate(&mut host, DEFAULT_PIN);
    assert_eq!(code(&reply), "ERR_NO_CARD", "{reply}");
    assert!(host.wait().success());
}

#[test]
fn pcscd_stopped_then_started_again() {
    let mut stack = Stack::start().expect("stack");
    let mut host = HostProcess::spawn(&stack, &[]);
    assert_eq!(
        host.command("status", json!({}))["result"]["pcsc"],
        json!("available")
    );
    stack.stop_pcscd();
    let reply = host.command("status", json!({}));
    assert_eq!(reply["result"]["pcsc"], json!("unavailable"), "{reply}");
    assert_eq!(reply["result"]["readers"], json!([]), "{reply}");
    for command in ["certificates", "pin-status"] {
        let reply = host.command(command, json!({}));
        assert_eq!(code(&reply), "ERR_PCSC_UNAVAILABLE", "{command}: {reply}");
    }
    let reply = authenticate(&mut host, DEFAULT_PIN);
    assert_eq!(code(&reply), "ERR_PCSC_UNAVAILABLE", "{reply}");

    stack.start_pcscd().expect("pcscd restarts");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let reply = host.command("status", json!({}));
    assert_eq!(reply["result"]["pcsc"], json!("available"), "{reply}");
    assert_eq!(
        our_reader(&reply, &stack.reader(0))["card"]["application"],
        json!("PIV"),
        "{reply}"
    );
    assert!(host.wait().success());
}
