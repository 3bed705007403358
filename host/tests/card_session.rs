//! Card sessions and the management relay through the real binary, pcscd and the virtual card
//! (INTERFACES.md "Card contract v2"): one session at a time, held exclusively, ended by close,
//! idleness, removal and host exit; renewal by relay, journalled, resumable after the host is
//! killed between GENERATE and the certificate.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_testkit::{HostProcess, ServeOptions, Stack};
use common::*;
use des::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use serde_json::{json, Value};
use std::str::FromStr;
use std::time::Duration;

/// The virtual card's default 3DES management key: known to the test, which plays the
/// card-management server. The host never sees it.
const MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    [vec![tag, value.len() as u8], value.to_vec()].concat()
}

fn find(data: &[u8], tag: u8) -> Vec<u8> {
    let mut rest = data;
    while rest.len() >= 2 {
        let (t, len) = (rest[0], rest[1] as usize);
        if t == tag {
            return rest[2..2 + len].to_vec();
        }
        rest = &rest[2 + len..];
    }
    panic!("no {tag:02X} in {data:02X?}")
}

#[allow(deprecated)] // generic-array 0.14, as cipher 0.4 wants it
fn tdes(block: &[u8], encrypt: bool) -> Vec<u8> {
    let cipher = des::TdesEde3::new_from_slice(&MANAGEMENT_KEY).expect("key");
    let mut out = block.to_vec();
    let b = des::cipher::generic_array::GenericArray::from_mut_slice(&mut out);
    if encrypt {
        cipher.encrypt_block(b);
    } else {
        cipher.decrypt_block(b);
    }
    out
}

/// The server's half of SP 800-73-4 mutual authentication, relayed through the host.
fn authenticate_management_key(host: &mut HostProcess, session: &str) {
    let step = |host: &mut HostProcess, template: Vec<u8>| {
        let reply = host.command(
            "management-authenticate",
            json!({"session": session, "algorithm": "3DES", "template": STANDARD.encode(template)}),
        );
        STANDARD
            .decode(
                reply["result"]["template"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{reply}")),
            )
            .expect("b64")
    };
    let witness = find(&step(host, vec![0x80, 0x00]), 0x80);
    let challenge = [0x3C; 8];
    let template = [
        tlv(0x80, &tdes(&witness, false)),
        tlv(0x81, &challenge),
        tlv(0x82, &[]),
    ]
    .concat();
    let answer = find(&step(host, template), 0x82);
    assert_eq!(answer, tdes(&challenge, true), "the card proved the key");
}

/// The card-management server's CA: a certificate for `spki`.
fn issue(spki_b64: &str, name: &str) -> String {
    use p256::ecdsa::{DerSignature, SigningKey};
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    use x509_cert::der::Encode;
    let signer = SigningKey::random(&mut rand_core());
    let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::try_from(
        STANDARD.decode(spki_b64).expect("b64").as_slice(),
    )
    .expect("spki");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time");
    let validity = x509_cert::time::Validity::from_now(Duration::from_secs(3 * 365 * 86400))
        .expect("validity");
    let builder = CertificateBuilder::new(
        // Root: the one profile whose fields do not depend on x509-cert's features (the
        // workspace build turns `hazmat` on, a lone host build does not). The host only checks
        // that the certificate carries the generated key.
        Profile::Root,
        x509_cert::serial_number::SerialNumber::from(now.as_secs() as u32),
        validity,
        x509_cert::name::Name::from_str(&format!("CN={name},serialNumber=555000000001"))
            .expect("subject"),
        spki,
        &signer,
    )
    .expect("builder");
    STANDARD.encode(
        builder
            .build::<DerSignature>()
            .expect("signed")
            .to_der()
            .expect("der"),
    )
}

fn rand_core() -> p256::elliptic_curve::rand_core::OsRng {
    p256::elliptic_curve::rand_core::OsRng
}

fn open(host: &mut HostProcess, arguments: Value) -> String {
    let reply = host.command("session-open", arguments);
    reply["result"]["session"]
        .as_str()
        .unwrap_or_else(|| panic!("session-open: {reply}"))
        .to_owned()
}

fn only_card(host: &mut HostProcess) -> Value {
    let reply = host.command("cards", json!({}));
    let cards = reply["result"]["cards"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(cards.len(), 1, "{reply}");
    cards[0].clone()
}

#[test]
fn cards_lists_certificates_retries_and_id_in_one_request() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);
    assert_eq!(
        authenticate(&mut host, WRONG_PIN)["error"]["retriesLeft"],
        json!(2)
    );
    let entry = only_card(&mut host);
    assert_eq!(entry["reader"], json!(stack.reader(0)));
    assert_eq!(entry["application"], json!("PIV"));
    assert_eq!(entry["held"], json!(false), "{entry}");
    assert_eq!(entry["pinRetriesLeft"], json!(2), "{entry}");
    assert_eq!(entry["pinBlocked"], json!(false));
    let slots: Vec<&Value> = entry["certificates"]
        .as_array()
        .expect("certificates")
        .iter()
        .map(|c| &c["slot"])
        .collect();
    assert_eq!(slots, [&json!("9A"), &json!("9C")]);
    let id = entry["cardId"].as_str().expect("cardId from the CHUID");
    assert_eq!(id.len(), 64);
    assert!(host.wait().success());
}

#[test]
fn a_session_holds_its_card_alone_and_one_at_a_time() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);
    let session = open(&mut host, json!({"reader": stack.reader(0)}));
    assert!(
        session.starts_with("s-") && session.len() == 18,
        "{session}"
    );

    let second = host.command("session-open", json!({"reader": stack.reader(0)}));
    assert_eq!(code(&second), "ERR_CARD_BUSY", "{second}");
    // Another program (a second host) cannot use the card meanwhile.
    let mut other = HostProcess::spawn(&stack, &[]);
    let busy = authenticate(&mut other, DEFAULT_PIN);
    assert_eq!(code(&busy), "ERR_CARD_BUSY", "{busy}");
    // `cards` says the card is held — by this host's session or by another program's — rather
    // than leaving `application: null` to read as "not a PIV card".
    for (who, lister) in [("own host", &mut host), ("other program", &mut other)] {
        let entry = only_card(lister);
        assert_eq!(entry["held"], json!(true), "{who}: {entry}");
        assert_eq!(entry["application"], Value::Null, "{who}: {entry}");
        assert!(entry.get("pinRetriesLeft").is_none(), "{who}: {entry}");
    }

    // Inside the session the PIN stays verified from step to step.
    let verified = host.command(
        "verify-pin",
        json!({"session": session, "pin": DEFAULT_PIN}),
    );
    assert_eq!(verified["result"], json!({}), "{verified}");
    let closed = host.command("session-close", json!({"session": session}));
    assert_eq!(closed["result"], json!({}), "{closed}");
    let late = host.command("pin-status", json!({"session": session}));
    assert_eq!(code(&late), "ERR_TIMEOUT", "{late}");

    // Closing reset the card: the other program gets it, with the PIN no longer verified.
    let entry = only_card(&mut other);
    assert_eq!(
        (&entry["held"], &entry["application"]),
        (&json!(false), &json!("PIV")),
        "{entry}"
    );
    let status = other.command("pin-status", json!({}));
    assert_eq!(status["result"]["pinRetriesLeft"], json!(3), "{status}");
    let token = authenticate(&mut other, DEFAULT_PIN);
    verify_token(&token["result"], ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {token}"));
    assert!(host.wait().success());
    assert!(other.wait().success());
}

#[test]
fn a_session_ends_when_idle_or_when_its_card_is_removed() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let inserted = stack.insert(&card, &ServeOptions::default());
    // The environment may shorten the idle limit (never lengthen it).
    let mut host = HostProcess::spawn(&stack, &[("CARECARD_SESSION_IDLE_MS", "400")]);
    let session = open(&mut host, json!({}));
    std::thread::sleep(Duration::from_millis(1200));
    let late = host.command(
        "verify-pin",
        json!({"session": session, "pin": DEFAULT_PIN}),
    );
    assert_eq!(code(&late), "ERR_TIMEOUT", "{late}");
    assert!(
        host.log_text().contains("ended: Idle"),
        "{}",
        host.log_text()
    );
    // The ended session released the card: a new one opens (in a host with the normal idle
    // limit, so that the removal below, which takes pcscd a moment to see, is what ends it).
    assert!(host.wait().success());
    let mut host = HostProcess::spawn(&stack, &[]);
    let session = open(&mut host, json!({}));
    let verified = host.command(
        "verify-pin",
        json!({"session": session, "pin": DEFAULT_PIN}),
    );
    assert_eq!(verified["result"], json!({}), "{verified}");
    inserted.remove();
    let gone = host.command("pin-status", json!({"session": session}));
    assert_eq!(code(&gone), "ERR_CARD_REMOVED", "{gone}");
    assert!(host.wait().success());
}

#[test]
fn renewal_by_relay_survives_the_host_being_killed_after_generate() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    // Both hosts share a log folder, hence the journal, as one user's hosts do.
    let shared = tempfile_dir(&stack);
    let env = [("CARECARD_LOG_DIR", shared.as_str())];
    let mut host = HostProcess::spawn(&stack, &env);
    let old = only_card(&mut host)["certificates"][0]["certificate"].clone();
    let session = open(&mut host, json!({"certificate": old}));

    let generate = |host: &mut HostProcess| {
        host.command(
            "generate-key",
            json!({"session": session, "slot": "9A", "algorithm": "P256"}),
        )
    };
    // Without the holder's PIN in this session the host refuses to generate (the site alone
    // must not replace the holder's keys), even once the management key is authenticated...
    authenticate_management_key(&mut host, &session);
    let refused = generate(&mut host);
    assert_eq!(code(&refused), "ERR_INVALID_REQUEST", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("PIN")),
        "{refused}"
    );
    // ...and a wrong PIN is no consent.
    let wrong = host.command("verify-pin", json!({"session": session, "pin": WRONG_PIN}));
    assert_eq!(code(&wrong), "ERR_PIN_INCORRECT", "{wrong}");
    assert_eq!(code(&generate(&mut host)), "ERR_INVALID_REQUEST");
    let verified = host.command(
        "verify-pin",
        json!({"session": session, "pin": DEFAULT_PIN}),
    );
    assert_eq!(verified["result"], json!({}), "{verified}");
    let generated = generate(&mut host);
    let public_key = generated["result"]["publicKey"]
        .as_str()
        .unwrap_or_else(|| panic!("{generated}"))
        .to_owned();
    // Proof of possession: the new key signs the server's challenge.
    let challenge = [7u8; 32];
    let proof = host.command(
        "prove-possession",
        json!({"session": session, "slot": "9A", "challenge": STANDARD.encode(challenge), "pin": DEFAULT_PIN}),
    );
    let certificate = issue(&public_key, "Alex Tester");
    verify(
        &STANDARD.decode(&certificate).expect("b64"),
        "ES256",
        &challenge,
        &STANDARD
            .decode(proof["result"]["signature"].as_str().expect("sig"))
            .expect("b64"),
    )
    .unwrap_or_else(|e| panic!("{e}: {proof}"));

    // The host dies before the certificate is written: the card has a key and the old
    // certificate. Killing it also ends the exclusive hold and resets the card.
    drop(host);
    let mut host = HostProcess::spawn(&stack, &env);
    let entry = only_card(&mut host);
    assert_eq!(
        entry["pendingRenewal"][0],
        json!({"slot": "9A", "step": "key-generated", "publicKey": public_key, "at": entry["pendingRenewal"][0]["at"]}),
        "{entry}"
    );
    let session = open(&mut host, json!({"reader": stack.reader(0)}));
    authenticate_management_key(&mut host, &session);
    // A certificate for another key is refused: it would leave a key without its certificate.
    let stranger = issue(
        &STANDARD.encode(
            x509_cert::der::Encode::to_der(
                &x509_cert::spki::SubjectPublicKeyInfoOwned::from_key(
                    *p256::ecdsa::SigningKey::random(&mut rand_core()).verifying_key(),
                )
                .expect("spki"),
            )
            .expect("der"),
        ),
        "Someone Else",
    );
    let wrong = host.command(
        "write-certificate",
        json!({"session": session, "slot": "9A", "certificate": stranger}),
    );
    assert_eq!(code(&wrong), "ERR_INVALID_REQUEST", "{wrong}");
    let written = host.command(
        "write-certificate",
        json!({"session": session, "slot": "9A", "certificate": certificate}),
    );
    // Written without a PIN in this session: it certifies the journalled key.
    assert_eq!(written["result"], json!({}), "{written}");
    host.command("session-close", json!({"session": session}));

    // With the journal finished, replacing a certificate is the holder's decision again.
    let session = open(&mut host, json!({"reader": stack.reader(0)}));
    authenticate_management_key(&mut host, &session);
    let replace = host.command(
        "write-certificate",
        json!({"session": session, "slot": "9C", "certificate": certificate}),
    );
    assert_eq!(code(&replace), "ERR_INVALID_REQUEST", "{replace}");
    host.command("session-close", json!({"session": session}));

    // Finished: the journal is empty and the renewed certificate logs in.
    let entry = only_card(&mut host);
    assert!(entry.get("pendingRenewal").is_none(), "{entry}");
    assert_eq!(entry["certificates"][0]["certificate"], json!(certificate));
    let token = authenticate(&mut host, DEFAULT_PIN);
    assert_eq!(token["result"]["unverifiedCertificate"], json!(certificate));
    verify_token(&token["result"], ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {token}"));
    assert!(host.wait().success());
}

/// A log folder inside the stack's own folder (removed with it).
fn tempfile_dir(stack: &Stack) -> String {
    let dir = stack.dir().join("shared-log");
    std::fs::create_dir_all(&dir).expect("log dir");
    dir.to_string_lossy().into_owned()
}

#[test]
fn one_pin_generates_and_proves_both_keys_and_is_not_kept() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let inserted = stack.insert(
        &card,
        &ServeOptions {
            extra_args: vec!["--trace".into()],
            ..ServeOptions::default()
        },
    );
    let dir = tempfile_dir(&stack);
    let mut host = HostProcess::spawn(&stack, &[("CARECARD_LOG_DIR", dir.as_str())]);
    let session = open(&mut host, json!({"reader": stack.reader(0)}));
    authenticate_management_key(&mut host, &session);
    let challenges = [[1u8; 32], [2u8; 32]];
    let proofs = |pin: &str| {
        json!({"session": session, "pin": pin, "proofs": [
            {"slot": "9A", "challenge": STANDARD.encode(challenges[0]), "generate": "P256"},
            {"slot": "9C", "challenge": STANDARD.encode(challenges[1]), "generate": "P256"},
        ]})
    };
    let verifies_before = pin_verifies(&inserted.log_text());

    // A wrong PIN stops it before any key is generated: nothing journalled, nothing lost.
    let wrong =
        host.request(&json!({"command": "prove-possession", "arguments": proofs(WRONG_PIN)}));
    assert_eq!(code(&wrong), "ERR_PIN_INCORRECT", "{wrong}");
    assert_eq!(wrong["error"]["retriesLeft"], json!(2), "{wrong}");
    assert_eq!(pin_verifies(&inserted.log_text()), verifies_before + 1);

    // The right PIN, typed once: VERIFY, GENERATE 9A and 9C, sign 9A, VERIFY (9C is PIN-always),
    // sign 9C.
    let proved =
        host.request(&json!({"command": "prove-possession", "arguments": proofs(DEFAULT_PIN)}));
    let list = proved["result"]["proofs"]
        .as_array()
        .unwrap_or_else(|| panic!("{proved}"))
        .clone();
    assert_eq!(list.len(), 2, "{proved}");
    assert_eq!(
        pin_verifies(&inserted.log_text()),
        verifies_before + 3,
        "one VERIFY for the request and one right before the PIN-always 9C key"
    );
    for ((entry, slot), challenge) in list.iter().zip(["9A", "9C"]).zip(challenges) {
        assert_eq!(entry["slot"], json!(slot), "{entry}");
        let public_key = entry["publicKey"].as_str().expect("publicKey");
        let certificate = STANDARD
            .decode(issue(public_key, "Alex Tester"))
            .expect("b64");
        let signature = STANDARD
            .decode(entry["signature"].as_str().expect("signature"))
            .expect("b64");
        verify(&certificate, "ES256", &challenge, &signature)
            .unwrap_or_else(|e| panic!("{slot}: {e}: {entry}"));
        assert_eq!(
            entry["signatureAlgorithm"]["hashFunction"],
            json!("SHA-256")
        );
    }
    // Both keys are journalled until their certificates are written.
    host.command("session-close", json!({"session": session}));
    let entry = only_card(&mut host);
    let steps: Vec<&Value> = entry["pendingRenewal"]
        .as_array()
        .expect("pendingRenewal")
        .iter()
        .map(|p| &p["step"])
        .collect();
    assert_eq!(steps, [&json!("key-generated"), &json!("key-generated")]);

    // The PIN was not kept: a new request needs its own (the host refuses one without it).
    let session = open(&mut host, json!({"reader": stack.reader(0)}));
    let again = host.command(
        "prove-possession",
        json!({"session": session, "proofs": [{"slot": "9C", "challenge": STANDARD.encode([3u8; 32])}]}),
    );
    assert_eq!(code(&again), "ERR_INVALID_REQUEST", "{again}");
    assert!(host.wait().success());
}

#[test]
fn a_reader_without_a_pin_pad_says_so_and_no_pin_try_is_spent() {
    // vpcd's reader has no PC/SC part 10 features: `cards` says so, and a request for PIN entry
    // on the reader is refused before anything reaches the card.
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);
    let entry = only_card(&mut host);
    assert_eq!(entry["pinPad"], json!(false), "{entry}");
    assert_eq!(entry["pinPadChange"], json!(false), "{entry}");
    let login = host.command(
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": nonce(), "pinEntry": "reader"}),
    );
    assert_eq!(code(&login), "ERR_INVALID_REQUEST", "{login}");
    assert!(
        login["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no PIN pad")),
        "{login}"
    );
    let session = open(&mut host, json!({}));
    let verify = host.command(
        "verify-pin",
        json!({"session": session, "pinEntry": "reader"}),
    );
    assert_eq!(code(&verify), "ERR_INVALID_REQUEST", "{verify}");
    let change = host.command(
        "change-pin",
        json!({"session": session, "pinEntry": "reader"}),
    );
    assert_eq!(code(&change), "ERR_INVALID_REQUEST", "{change}");
    host.command("session-close", json!({"session": session}));
    assert_eq!(only_card(&mut host)["pinRetriesLeft"], json!(3));
    assert!(host.wait().success());
}
