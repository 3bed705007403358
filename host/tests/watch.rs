//! `watch`: card and reader events from a real pcscd when the virtual card comes and goes.

use carecard_testkit::{HostProcess, ServeOptions, Stack};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The next event frame within `timeout` that is not about another reader.
fn next_event(host: &mut HostProcess, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = host
            .read_frame(left)
            .unwrap_or_else(|| panic!("no event within {timeout:?}\n{}", host.log_text()));
        if frame.get("event").is_some() {
            return frame;
        }
    }
}

#[test]
fn watch_reports_removal_insertion_and_pcsc_outage() {
    let mut stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);
    let reply = host.command("watch", json!({}));
    assert_eq!(reply["result"], json!({}), "{reply}");
    // The current state is not an event.
    assert_eq!(host.read_frame(Duration::from_millis(500)), None);

    let reader = stack.reader(0);
    inserted.remove();
    let event = next_event(&mut host, Duration::from_secs(10));
    assert_eq!(event, json!({"event": "card-removed", "reader": reader}));

    let _inserted = stack.insert(&card, &ServeOptions::default());
    let event = next_event(&mut host, Duration::from_secs(10));
    assert_eq!(event["event"], json!("card-inserted"), "{event}");
    assert_eq!(event["reader"], json!(reader));
    assert!(
        event["atr"].as_str().is_some_and(|a| a.starts_with("3B88")),
        "{event}"
    );

    // Requests are still answered while watching.
    let status = host.command("status", json!({}));
    assert!(status["result"]["readers"].is_array(), "{status}");

    stack.stop_pcscd();
    let event = next_event(&mut host, Duration::from_secs(10));
    assert_eq!(event, json!({"event": "pcsc-unavailable"}));
    stack.start_pcscd().expect("pcscd restarts");
    let event = next_event(&mut host, Duration::from_secs(15));
    assert_eq!(event["event"], json!("reader-added"), "{event}");

    // End of stdin stops the watch thread and the host promptly.
    let started = Instant::now();
    assert!(host.wait().success());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
