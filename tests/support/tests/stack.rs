//! The isolated stack against the real pcscd and vpcd on this machine.

use std::time::Duration;

use carecard_testkit::{ServeOptions, Stack};
use serde_json::Value;

fn reader_names(stack: &Stack) -> Vec<String> {
    let readers = stack.readers().expect("readers");
    readers
        .iter()
        .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

fn atr_of(stack: &Stack, reader: &str) -> Option<String> {
    let readers = stack.readers().expect("readers");
    readers
        .iter()
        .find(|r| r.get("name").and_then(Value::as_str) == Some(reader))
        .and_then(|r| r.get("atr").and_then(Value::as_str).map(str::to_owned))
}

#[test]
fn a_stack_has_two_empty_virtual_readers_of_its_own() {
    let stack = Stack::start().expect("stack");
    assert!(stack.socket().starts_with(stack.dir()));
    assert!(stack.socket().exists());
    assert_eq!(stack.env()[0].0, "PCSCLITE_CSOCK_NAME");
    assert_eq!(
        reader_names(&stack),
        ["Virtual PCD 00 00", "Virtual PCD 00 01"]
    );
    assert_eq!(atr_of(&stack, &stack.reader(0)), None);
    // The system's socket folder is not where our pcscd put its socket.
    assert!(!std::path::Path::new("/run/pcscd")
        .join(stack.dir().file_name().expect("name"))
        .exists());
}

#[test]
fn parallel_stacks_get_different_ports_and_sockets() {
    let a = Stack::start().expect("stack a");
    let b = Stack::start().expect("stack b");
    assert_ne!(a.port(), b.port());
    assert_ne!(a.socket(), b.socket());
    assert_eq!(reader_names(&a).len(), 2);
    assert_eq!(reader_names(&b).len(), 2);
}

#[test]
fn pcscd_can_be_stopped_and_started_again() {
    let mut stack = Stack::start().expect("stack");
    let port = stack.port();
    stack.stop_pcscd();
    assert!(!stack.socket().exists());
    // (Not asking pcscd for readers here: pcsc-lite waits 5 s for a daemon that is gone.)
    assert!(carecard_testkit::ports::is_free(port), "vpcd port released");
    stack.start_pcscd().expect("restart");
    assert_eq!(stack.port(), port);
    assert_eq!(reader_names(&stack).len(), 2);
}

#[test]
fn dropping_a_stack_ends_its_pcscd() {
    let stack = Stack::start().expect("stack");
    let socket = stack.socket();
    let port = stack.port();
    drop(stack);
    assert!(!socket.exists());
    // The vpcd ports are released with pcscd.
    assert!(carecard_testkit::ports::is_free(port));
}

#[test]
fn an_inserted_card_shows_up_and_goes_away() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    assert!(card.state.is_file() && card.ca_der.is_file());
    let inserted = stack.insert(&card, &ServeOptions::default());
    assert_eq!(inserted.reader(), "Virtual PCD 00 00");
    let atr = atr_of(&stack, "Virtual PCD 00 00").expect("an ATR once inserted");
    assert!(atr.starts_with("3B"), "ATR {atr}");
    assert_eq!(atr_of(&stack, "Virtual PCD 00 01"), None);
    inserted.remove();
    assert_eq!(atr_of(&stack, "Virtual PCD 00 00"), None);
}

#[test]
fn a_card_can_go_into_the_second_reader() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let options = ServeOptions {
        slot: 1,
        ..ServeOptions::default()
    };
    let _inserted = stack.insert(&card, &options);
    assert!(atr_of(&stack, "Virtual PCD 00 01").is_some());
    assert_eq!(atr_of(&stack, "Virtual PCD 00 00"), None);
    std::thread::sleep(Duration::from_millis(10));
}

#[test]
fn a_served_card_comes_back_after_a_pcscd_restart() {
    let mut stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let mut inserted = stack.insert(&card, &ServeOptions::default());
    stack.stop_pcscd();
    stack.start_pcscd().expect("restart");
    // The card server reconnects to the new pcscd's vpcd by itself.
    inserted.wait(true).expect("card back after restart");
    assert!(inserted.is_serving());
    assert!(atr_of(&stack, "Virtual PCD 00 00").is_some());
}
