//! What a login costs through the whole PC/SC stack, next to OpenSC doing the same job:
//!
//! - `host_cold_status`: starting `carecard-host` until its `status` reply;
//! - `host_authenticate`: one `authenticate` on a running host (PIN + signature on the card);
//! - `host_cold_authenticate`: start the host, authenticate, as a browser's first login does;
//! - `pkcs11_tool_login_sign`: `pkcs11-tool --login --sign` with the same key on the same card;
//!
//! then APDUs and bytes per authentication for both (from pcscd's APDU log), and a table of
//! medians and ratios. `CARECARD_BENCH_ALGORITHM=rsa2048|p256|p384` picks the card (p256).
//! Run through `scripts/bench`.

#![allow(clippy::print_stdout)] // the summary table is this program's output

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use carecard_testkit::apdu_log::{count, Traffic};
use carecard_testkit::{HostProcess, ServeOptions, Stack, StackOptions};
use criterion::Criterion;
use rand::RngCore;
use serde_json::{json, Value};

const ORIGIN: &str = "https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk";
const PIN: &str = "123456";

/// Every timed iteration, by benchmark, for our own medians next to criterion's report.
static SAMPLES: Mutex<BTreeMap<&'static str, Vec<Duration>>> = Mutex::new(BTreeMap::new());

fn record(name: &'static str, took: Duration) {
    if let Ok(mut samples) = SAMPLES.lock() {
        samples.entry(name).or_default().push(took);
    }
}

fn median(name: &str) -> Option<Duration> {
    let samples = SAMPLES.lock().ok()?;
    let mut times = samples.get(name)?.clone();
    times.sort();
    times.get(times.len() / 2).copied()
}

fn nonce() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

/// Panics unless `reply` is a success: a benchmark of failures would be meaningless.
fn expect_success(reply: &Value, what: &str) {
    assert!(reply.get("result").is_some(), "{what} failed: {reply}");
}

fn authenticate(host: &mut HostProcess) {
    let reply = host.command(
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": nonce(), "pin": PIN}),
    );
    expect_success(&reply, "authenticate");
}

/// pkcs11-tool arguments signing a hash-sized input with the PIV authentication key (ID 01).
fn pkcs11_sign_args(algorithm: &str, input: &Path) -> Vec<String> {
    let mechanism = match algorithm {
        "rsa2048" => "SHA256-RSA-PKCS",
        _ => "ECDSA",
    };
    [
        "--login",
        "--pin",
        PIN,
        "--sign",
        "--id",
        "01",
        "--mechanism",
        mechanism,
        "--input-file",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([
        input.to_string_lossy().into_owned(),
        "--output-file".into(),
        "/dev/null".into(),
    ])
    .collect()
}

fn pkcs11_sign(stack: &Stack, args: &[String]) {
    let output = Command::new("pkcs11-tool")
        .args(args)
        .envs(stack.env())
        .stdin(Stdio::null())
        .output()
        .expect("pkcs11-tool (Debian package opensc) runs");
    assert!(
        output.status.success(),
        "pkcs11-tool failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn hash_input(stack: &Stack, algorithm: &str) -> std::path::PathBuf {
    let len = if algorithm == "p384" { 48 } else { 32 };
    let mut data = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut data);
    let path = stack.dir().join("to-sign.bin");
    fs::write(&path, data).expect("write input");
    path
}

fn timing(c: &mut Criterion, stack: &Stack, algorithm: &str) {
    let mut group = c.benchmark_group("carecard");
    group.bench_function("host_cold_status", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let mut host = HostProcess::spawn(stack, &[]);
                expect_success(&host.command("status", json!({})), "status");
                let took = start.elapsed();
                record("host_cold_status", took);
                total += took;
            }
            total
        });
    });
    let mut warm = HostProcess::spawn(stack, &[]);
    group.bench_function("host_authenticate", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                authenticate(&mut warm);
                let took = start.elapsed();
                record("host_authenticate", took);
                total += took;
            }
            total
        });
    });
    drop(warm);
    group.bench_function("host_cold_authenticate", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let mut host = HostProcess::spawn(stack, &[]);
                authenticate(&mut host);
                let took = start.elapsed();
                record("host_cold_authenticate", took);
                total += took;
            }
            total
        });
    });
    let input = hash_input(stack, algorithm);
    let args = pkcs11_sign_args(algorithm, &input);
    group.bench_function("pkcs11_tool_login_sign", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                pkcs11_sign(stack, &args);
                let took = start.elapsed();
                record("pkcs11_tool_login_sign", took);
                total += took;
            }
            total
        });
    });
    group.finish();
}

/// APDUs and bytes of one login by each client, on a stack whose pcscd logs every APDU.
fn traffic(algorithm: &str) -> (Traffic, Traffic) {
    let stack = Stack::start_with(StackOptions {
        pcscd_args: vec!["--apdu".into(), "--debug".into()],
    })
    .expect("stack with APDU logging");
    let card = stack.new_card(algorithm);
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);
    expect_success(&host.command("status", json!({})), "status");
    let before = stack.pcscd_log_text().len();
    authenticate(&mut host);
    let log = stack.pcscd_log_text();
    let host_traffic = count(log.get(before..).unwrap_or_default());
    drop(host);

    let input = hash_input(&stack, algorithm);
    let before = stack.pcscd_log_text().len();
    pkcs11_sign(&stack, &pkcs11_sign_args(algorithm, &input));
    let log = stack.pcscd_log_text();
    (host_traffic, count(log.get(before..).unwrap_or_default()))
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(
        || "-".to_owned(),
        |d| format!("{:.2} ms", d.as_secs_f64() * 1e3),
    )
}

fn ratio(a: Option<Duration>, b: Option<Duration>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if !b.is_zero() => format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64()),
        _ => "-".to_owned(),
    }
}

fn main() {
    let algorithm = std::env::var("CARECARD_BENCH_ALGORITHM").unwrap_or_else(|_| "p256".to_owned());
    let stack = Stack::start().expect("stack");
    let card = stack.new_card(&algorithm);
    let _inserted = stack.insert(&card, &ServeOptions::default());

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    timing(&mut c, &stack, &algorithm);
    c.final_summary();

    let (host, tool) = traffic(&algorithm);
    let pkcs11 = median("pkcs11_tool_login_sign");
    println!("\ncarecard vs OpenSC pkcs11-tool, {algorithm} virtual card through pcscd (medians)");
    println!("  {:<34} {:>12} {:>16}", "", "time", "vs pkcs11-tool");
    for name in [
        "host_cold_status",
        "host_authenticate",
        "host_cold_authenticate",
        "pkcs11_tool_login_sign",
    ] {
        println!(
            "  {name:<34} {:>12} {:>16}",
            ms(median(name)),
            ratio(median(name), pkcs11)
        );
    }
    println!("\n  per login                          APDUs   bytes (commands + responses)");
    for (name, t) in [
        ("carecard-host authenticate", host),
        ("pkcs11-tool --login --sign", tool),
    ] {
        println!(
            "  {name:<34} {:>5}   {:>5} ({} + {})",
            t.commands,
            t.total_bytes(),
            t.command_bytes,
            t.response_bytes
        );
    }
    if tool.commands > 0 && tool.total_bytes() > 0 {
        println!(
            "  ratio host / pkcs11-tool           {:>5.2}   {:>5.2}",
            host.commands as f64 / tool.commands as f64,
            host.total_bytes() as f64 / tool.total_bytes() as f64
        );
    }
}
