//! What a login costs through the whole PC/SC stack, next to OpenSC doing the same job:
//!
//! - `host_cold_status`: starting `carecard-host` until its `status` reply;
//! - `host_authenticate`: one `authenticate` naming the card's certificate on a running host that
//!   has logged in before (PIN + signature on the card), as the extension's login sends it;
//! - `host_cold_authenticate`: start the host, `cards`, `authenticate`, as a browser's first
//!   login does;
//! - `pkcs11_tool_login_sign`: `pkcs11-tool --login --sign` with the same key on the same card;
//!
//! then cold start to the first reply without pcscd next to the "C floor" (a bare C
//! native-messaging host, `CARECARD_BENCH_C_FLOOR`, timed alternately in the same run), APDUs
//! and bytes per authentication warm and cold and for `cards` (from pcscd's APDU log), and a
//! table of medians and ratios. `CARECARD_BENCH_ALGORITHM=rsa2048|p256|p384` picks the card
//! (p256); `CARECARD_BENCH_SUMMARY=<file>` also writes the figures as JSON for
//! `artifacts/bench/summary.json`. Run through `scripts/bench`.

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

/// `authenticate` as the extension sends it: naming the certificate `cards` gave.
fn authenticate(host: &mut HostProcess, certificate: &Value) {
    let reply = host.command(
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": nonce(), "pin": PIN, "certificate": certificate}),
    );
    expect_success(&reply, "authenticate");
}

/// `cards`, and the first card's 9A certificate from it (what the extension asks before the
/// PIN window).
fn cards(host: &mut HostProcess) -> Value {
    let reply = host.command("cards", json!({}));
    expect_success(&reply, "cards");
    reply["result"]["cards"][0]["certificates"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["slot"] == json!("9A")))
        .map(|c| c["certificate"].clone())
        .unwrap_or_else(|| panic!("no 9A certificate in {reply}"))
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
    let certificate = cards(&mut warm);
    authenticate(&mut warm, &certificate);
    group.bench_function("host_authenticate", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                authenticate(&mut warm, &certificate);
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
                let certificate = cards(&mut host);
                authenticate(&mut host, &certificate);
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

/// APDUs and bytes, from the pcscd log, of what a browser login sends.
#[derive(Debug, Clone, Copy, Default)]
struct LoginTraffic {
    /// `cards`, before the PIN window.
    cards: Traffic,
    /// The first `authenticate` of a host process (the certificate not yet known to it).
    cold: Traffic,
    /// A later `authenticate` (the certificate known for this card in this host process).
    warm: Traffic,
    /// `pkcs11-tool --login --sign`.
    tool: Traffic,
}

/// APDUs and bytes of one login by each client, on a stack whose pcscd logs every APDU.
fn traffic(algorithm: &str) -> LoginTraffic {
    let stack = Stack::start_with(StackOptions {
        pcscd_args: vec!["--apdu".into(), "--debug".into()],
    })
    .expect("stack with APDU logging");
    let card = stack.new_card(algorithm);
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);
    expect_success(&host.command("status", json!({})), "status");
    let measure = |f: &mut dyn FnMut()| {
        let before = stack.pcscd_log_text().len();
        f();
        let log = stack.pcscd_log_text();
        count(log.get(before..).unwrap_or_default())
    };
    let mut certificate = Value::Null;
    let cards_traffic = measure(&mut || certificate = cards(&mut host));
    let cold = measure(&mut || authenticate(&mut host, &certificate));
    let warm = measure(&mut || authenticate(&mut host, &certificate));
    drop(host);

    let input = hash_input(&stack, algorithm);
    let args = pkcs11_sign_args(algorithm, &input);
    let tool = measure(&mut || pkcs11_sign(&stack, &args));
    LoginTraffic {
        cards: cards_traffic,
        cold,
        warm,
        tool,
    }
}

/// A native-messaging host started, sent one `status` frame, timed until its reply frame, then
/// stdin closed; environment as the browser's (private config and log folder, log level info),
/// and no pcscd (the socket named does not exist).
fn cold_reply(program: &Path, env: &[(String, String)]) -> Duration {
    use std::io::{Read, Write};
    let request = br#"{"id":1,"command":"status"}"#;
    let mut frame = (request.len() as u32).to_ne_bytes().to_vec();
    frame.extend_from_slice(request);
    let start = Instant::now();
    let mut child = Command::new(program)
        .arg("chrome-extension://pggklkelfcagmclfcaejdknbclgpeaco/")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    stdin.write_all(&frame).expect("write the request");
    let mut len = [0u8; 4];
    stdout.read_exact(&mut len).expect("a reply frame");
    let mut reply = vec![0u8; u32::from_ne_bytes(len) as usize];
    stdout.read_exact(&mut reply).expect("the reply");
    let took = start.elapsed();
    drop(stdin);
    let _ = child.wait();
    let reply: Value = serde_json::from_slice(&reply).expect("a JSON reply");
    expect_success(&reply, "cold status");
    took
}

/// Medians of carecard-host's and the C floor's cold start, alternating run by run so both see
/// the same machine load. `None` for the floor without `CARECARD_BENCH_C_FLOOR`.
fn cold_starts(dir: &Path, runs: usize) -> (Option<Duration>, Option<Duration>) {
    let host = carecard_testkit::bin_path("carecard-host").expect("carecard-host built");
    let floor = std::env::var_os("CARECARD_BENCH_C_FLOOR").map(std::path::PathBuf::from);
    let config = dir.join("cold-host.json");
    fs::write(
        &config,
        r#"{"allowedExtensionIds": ["pggklkelfcagmclfcaejdknbclgpeaco"]}"#,
    )
    .expect("write the config");
    let logs = dir.join("cold-logs");
    fs::create_dir_all(&logs).expect("log folder");
    let mut env: Vec<(String, String)> = ["PATH", "HOME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
        .collect();
    env.push(("CARECARD_CONFIG".into(), config.display().to_string()));
    env.push(("CARECARD_LOG_DIR".into(), logs.display().to_string()));
    env.push((
        "PCSCLITE_CSOCK_NAME".into(),
        dir.join("no-pcscd.comm").display().to_string(),
    ));
    let mut host_times = Vec::new();
    let mut floor_times = Vec::new();
    for _ in 0..runs {
        host_times.push(cold_reply(&host, &env));
        if let Some(floor) = &floor {
            floor_times.push(cold_reply(floor, &env));
        }
    }
    let mid = |mut v: Vec<Duration>| {
        v.sort();
        v.get(v.len() / 2).copied()
    };
    (mid(host_times), mid(floor_times))
}

fn millis(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| {
        json!((d.as_secs_f64() * 1e6).round() / 1e3)
    })
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

    let (cold_start, c_floor) = cold_starts(stack.dir(), 200);
    let traffic = traffic(&algorithm);
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
    println!("\n  cold start to the first reply, no pcscd (200 runs each, alternating)");
    println!(
        "  {:<34} {:>12} {:>16}",
        "carecard-host",
        ms(cold_start),
        format!("{} C floor", ratio(cold_start, c_floor))
    );
    println!("  {:<34} {:>12}", "C floor (bare C host)", ms(c_floor));
    println!("\n  per login                          APDUs   bytes (commands + responses)");
    for (name, t) in [
        ("cards (before the PIN window)", traffic.cards),
        ("authenticate, cold", traffic.cold),
        ("authenticate, warm", traffic.warm),
        ("pkcs11-tool --login --sign", traffic.tool),
    ] {
        println!(
            "  {name:<34} {:>5}   {:>5} ({} + {})",
            t.commands,
            t.total_bytes(),
            t.command_bytes,
            t.response_bytes
        );
    }
    let tool = traffic.tool;
    if tool.commands > 0 && tool.total_bytes() > 0 {
        println!(
            "  ratio warm authenticate / pkcs11-tool {:>2.2}   {:>5.2}",
            traffic.warm.commands as f64 / tool.commands as f64,
            traffic.warm.total_bytes() as f64 / tool.total_bytes() as f64
        );
    }
    if let Some(path) = std::env::var_os("CARECARD_BENCH_SUMMARY") {
        let summary = json!({
            "algorithm": algorithm,
            "apdus_per_login_warm": traffic.warm.commands,
            "apdus_per_login_cold": traffic.cold.commands,
            "apdus_cards_request": traffic.cards.commands,
            "apdus_pkcs11_tool": traffic.tool.commands,
            "host_authenticate_ms": millis(median("host_authenticate")),
            "host_cold_authenticate_ms": millis(median("host_cold_authenticate")),
            "host_cold_status_with_pcscd_ms": millis(median("host_cold_status")),
            "pkcs11_tool_ms": millis(pkcs11),
            "cold_start_ms": millis(cold_start),
            "c_floor_ms": millis(c_floor),
        });
        fs::write(&path, format!("{summary:#}\n")).expect("write the bench summary");
    }
}
