//! The card-management service driven through its API with a software card playing the PIV
//! card (9B with the default 3DES key, keys generated in software).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use der::Encode as _;
use p256::pkcs8::EncodePrivateKey as _;
use serde_json::{json, Value};
use signature::Signer as _;

use super::ca::{Ca, Holder, Slot};
use super::keyauth::ManagementKey;
use super::*;
use crate::test_pki::{self, Key, Profile};
use crate::verify::{verify_token, Expected, UnverifiedToken};

const USER: &str = "555000000001";
const SUBJECT: &str =
    "cn=Alex Tester,givenName=Alex,sn=Tester,serialNumber=555000000001,o=carecard test";
const CARD_ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct World {
    ca: test_pki::Ca,
    manage: Manage,
    user: LoggedIn,
    now: SystemTime,
}

fn ca_parts() -> (test_pki::Ca, Ca) {
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let pkcs8 = key.to_pkcs8_der().expect("pkcs8");
    let test_ca = test_pki::Ca::new(Key::P256(key));
    let ca = Ca::from_parts(&test_ca.der, pkcs8.as_bytes()).expect("ca");
    (test_ca, ca)
}

fn world() -> World {
    let (test_ca, ca) = ca_parts();
    let anchor = TrustAnchor::from_der(&test_ca.der).expect("anchor");
    World {
        manage: Manage::new(ca, anchor, true),
        ca: test_ca,
        user: LoggedIn {
            name: "Alex Tester".into(),
            user_id: USER.into(),
        },
        now: test_pki::now(),
    }
}

/// A software PIV card: what the host would answer for each relayed command.
struct SoftCard {
    management_key: ManagementKey,
    witness: Vec<u8>,
    authenticated: bool,
    keys: HashMap<String, p256::ecdsa::SigningKey>,
    certificates: HashMap<String, Vec<u8>>,
    puk_used: Option<String>,
    tamper_proof: bool,
}

impl SoftCard {
    fn new() -> SoftCard {
        SoftCard {
            management_key: ManagementKey::default_3des(),
            witness: vec![0x24; 8],
            authenticated: false,
            keys: HashMap::new(),
            certificates: HashMap::new(),
            puk_used: None,
            tamper_proof: false,
        }
    }

    fn run(&mut self, action: &Value) -> Value {
        let args = &action["args"];
        let b64 = |field: &str| {
            STANDARD
                .decode(args[field].as_str().expect(field))
                .expect("b64")
        };
        let slot = args["slot"].as_str().unwrap_or_default().to_owned();
        match action["command"].as_str().expect("command") {
            "management-authenticate" => {
                let template = b64("template");
                let tdes = |block: &[u8], encrypt: bool| {
                    use des::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
                    let cipher =
                        des::TdesEde3::new_from_slice(&keyauth::DEFAULT_3DES_KEY).expect("key");
                    let mut out = block.to_vec();
                    #[allow(deprecated)]
                    let b = des::cipher::generic_array::GenericArray::from_mut_slice(&mut out);
                    if encrypt {
                        cipher.encrypt_block(b);
                    } else {
                        cipher.decrypt_block(b);
                    }
                    out
                };
                let _ = &self.management_key;
                if template == [0x80, 0x00] {
                    let witness = tdes(&self.witness, true);
                    json!({"template": STANDARD.encode([vec![0x80, 8], witness].concat())})
                } else {
                    assert_eq!(
                        &template[2..10],
                        self.witness.as_slice(),
                        "decrypted witness"
                    );
                    let challenge = &template[12..20];
                    self.authenticated = true;
                    json!({"template": STANDARD.encode([vec![0x82, 8], tdes(challenge, true)].concat())})
                }
            }
            "generate-key" => {
                assert!(self.authenticated, "GENERATE needs the management key");
                assert_eq!(args["algorithm"], "P256");
                let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
                let spki = spki::SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
                    .expect("spki")
                    .to_der()
                    .expect("der");
                self.keys.insert(slot, key);
                json!({"publicKey": STANDARD.encode(spki)})
            }
            "prove-possession" => {
                // One PIN for every proof; keys asked for are generated first.
                let mut proved = Vec::new();
                for proof in args["proofs"].as_array().expect("a list of proofs") {
                    let slot = proof["slot"].as_str().expect("slot").to_owned();
                    let mut entry = json!({"slot": slot});
                    if let Some(algorithm) = proof["generate"].as_str() {
                        let generated = self.run(&json!({"command": "generate-key",
                            "args": {"slot": slot, "algorithm": algorithm}}));
                        entry["publicKey"] = generated["publicKey"].clone();
                    }
                    let challenge = STANDARD
                        .decode(proof["challenge"].as_str().expect("challenge"))
                        .expect("b64");
                    let key = &self.keys[&slot];
                    let mut sig: Vec<u8> = {
                        let s: p256::ecdsa::Signature = key.sign(&challenge);
                        s.to_bytes().to_vec()
                    };
                    if self.tamper_proof {
                        sig[5] ^= 1;
                    }
                    entry["signature"] = json!(STANDARD.encode(sig));
                    entry["signatureAlgorithm"] = json!({"cryptoAlgorithm": "ECC", "hashFunction": "SHA-256", "paddingScheme": "NONE"});
                    proved.push(entry);
                }
                json!({"proofs": proved})
            }
            "write-certificate" => {
                assert!(self.authenticated, "PUT DATA needs the management key");
                self.certificates.insert(slot, b64("certificate"));
                json!({})
            }
            "put-data" => json!({}),
            "unlock" => {
                self.puk_used = args["puk"].as_str().map(str::to_owned);
                json!({})
            }
            other => panic!("unexpected {other}"),
        }
    }
}

impl World {
    fn call(&mut self, path: &str, body: Value) -> ApiReply {
        let user = self.user.clone();
        self.manage
            .api(path, &body, "browser-1", Some(&user), self.now)
    }

    /// Drives an operation to its end; returns the final reply and the actions seen.
    fn drive(&mut self, start: Value, card: &mut SoftCard) -> (ApiReply, Vec<String>) {
        let mut reply = self.call("op/start", start);
        let mut steps = Vec::new();
        while reply.status == 200 && reply.body.get("next").is_some() {
            let action = reply.body["next"].clone();
            steps.push(action["step"].as_str().unwrap_or_default().to_owned());
            let result = card.run(&action);
            reply = self.call("op/next", json!({"op": reply.body["op"], "result": result}));
        }
        (reply, steps)
    }

    fn holder_certificate(&self, key: &Key) -> Vec<u8> {
        self.ca.issue(SUBJECT, key, &Profile::login())
    }
}

fn b64(der: &[u8]) -> String {
    STANDARD.encode(der)
}

#[test]
fn the_ca_issues_login_and_signing_certificates_the_cis2_verifier_accepts() {
    let (test_ca, ca) = ca_parts();
    let anchor = TrustAnchor::from_der(&test_ca.der).expect("anchor");
    let holder = Holder::new("Alex", "Tester", USER).expect("holder");
    for key in [
        test_pki::p256_key(),
        test_pki::p384_key(),
        test_pki::rsa_key(0),
    ] {
        let spki = key.spki().to_der().expect("spki");
        let now = SystemTime::now();
        let login = ca
            .issue(&holder, Slot::Authentication, &spki, now)
            .expect("9A certificate");
        // A token signed by the key with this certificate logs in at the CIS2 mock.
        let nonce = "A".repeat(43) + "=";
        let token = test_pki::token(
            &login,
            &key,
            key.token_algorithm(),
            "https://cis2.example",
            &nonce,
        );
        let user = verify_token(
            &UnverifiedToken::from_json(&token).expect("token"),
            &Expected {
                origin: "https://cis2.example",
                nonce: &nonce,
                earlier_nonces: &[],
            },
            &anchor,
            now,
        )
        .expect("the renewed certificate logs in");
        assert_eq!(user.user_id, USER);
        assert_eq!(user.summary.given_name.as_deref(), Some("Alex"));
        assert_eq!(user.summary.surname.as_deref(), Some("Tester"));
        let days = days_left(user.summary.not_after, now);
        assert!((728..=730).contains(&days), "{days}");
        assert!(!verify::has_non_repudiation(&login));
        let signing = ca
            .issue(&holder, Slot::Signature, &spki, now)
            .expect("9C certificate");
        assert!(verify::has_non_repudiation(&signing));
        verify::check_certificate(&signing, &anchor, Some(now)).expect("chains to the CA");
    }
    // The key must be the CA certificate's.
    let other = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng)
        .to_pkcs8_der()
        .expect("pkcs8");
    assert!(matches!(
        Ca::from_parts(&test_ca.der, other.as_bytes()),
        Err(ca::CaError::KeyMismatch)
    ));
    assert!(Holder::new("Alex", "Tester", "123").is_none());
}

#[test]
fn renewal_is_offered_in_the_last_90_days_or_on_request() {
    let mut w = world();
    let key = test_pki::p256_key();
    let certificate = w.holder_certificate(&key);
    let not_after = test_pki::NOT_AFTER as i64;
    for (now_days_before_expiry, due) in [(91, false), (90, true), (10, true)] {
        w.now = SystemTime::UNIX_EPOCH
            + Duration::from_secs((not_after - now_days_before_expiry * 86_400 - 60) as u64);
        let reply = w.call(
            "card",
            json!({"certificate": b64(&certificate), "cardId": CARD_ID}),
        );
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        assert_eq!(
            reply.body["renewalDue"],
            json!(due),
            "{now_days_before_expiry}: {}",
            reply.body
        );
    }
    w.now = test_pki::now();
    let start = json!({"kind": "renew", "certificate": b64(&certificate), "cardId": CARD_ID});
    let refused = w.call("op/start", start.clone());
    assert_eq!(
        refused.body["error"], "RENEWAL_NOT_DUE",
        "{:?}",
        refused.body
    );
    let mut request = start;
    request["onRequest"] = json!(true);
    assert_eq!(w.call("op/start", request).status, 200);
}

#[test]
fn a_renewal_authenticates_the_card_proves_each_new_key_and_issues_under_the_same_ca() {
    let mut w = world();
    let old = w.holder_certificate(&test_pki::p256_key());
    let mut card = SoftCard::new();
    let (reply, steps) = w.drive(
        json!({"kind": "renew", "onRequest": true, "certificate": b64(&old), "cardId": CARD_ID}),
        &mut card,
    );
    assert_eq!(reply.body["done"], json!(true), "{:?}", reply.body);
    assert_eq!(
        steps,
        [
            "auth-witness",
            "auth-response",
            "prove-possession:9A+9C",
            "write-certificate:9A",
            "write-certificate:9C",
        ]
    );
    let anchor = TrustAnchor::from_der(&w.ca.der).expect("anchor");
    for (slot, key) in [("9A", &card.keys["9A"]), ("9C", &card.keys["9C"])] {
        let certificate = &card.certificates[slot];
        let summary = verify::check_certificate(certificate, &anchor, Some(w.now)).expect(slot);
        assert_eq!(summary.user_id.as_deref(), Some(USER));
        let public = spki::SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).expect("spki");
        let cert = <x509_cert::Certificate as der::Decode>::from_der(certificate).expect("cert");
        assert_eq!(
            cert.tbs_certificate.subject_public_key_info, public,
            "{slot} certifies the card's new key"
        );
    }
    // Someone else's card is refused.
    let mut other = w.user.clone();
    other.user_id = "555000000002".into();
    let refused = w.manage.api(
        "op/start",
        &json!({"kind": "renew", "onRequest": true, "certificate": b64(&old), "cardId": CARD_ID}),
        "browser-1",
        Some(&other),
        w.now,
    );
    assert_eq!(refused.body["error"], "NOT_YOUR_CARD");
    // Without a login, nothing.
    let anonymous = w
        .manage
        .api("op/start", &json!({}), "browser-2", None, w.now);
    assert_eq!(anonymous.status, 401);
}

#[test]
fn a_proof_that_does_not_verify_stops_the_renewal_before_any_certificate() {
    let mut w = world();
    let old = w.holder_certificate(&test_pki::p256_key());
    let mut card = SoftCard::new();
    card.tamper_proof = true;
    let (reply, steps) = w.drive(
        json!({"kind": "renew", "onRequest": true, "certificate": b64(&old), "cardId": CARD_ID}),
        &mut card,
    );
    assert_eq!(reply.body["error"], "BAD_PROOF", "{:?}", reply.body);
    assert_eq!(
        steps.last().map(String::as_str),
        Some("prove-possession:9A+9C")
    );
    assert!(card.certificates.is_empty());
}

#[test]
fn a_resumed_renewal_proves_a_journalled_key_and_resends_a_certificate_already_issued() {
    let mut w = world();
    let old = w.holder_certificate(&test_pki::p256_key());
    let mut card = SoftCard::new();
    // First attempt: stop after the 9A certificate was issued but before it was written.
    let mut reply = w.call(
        "op/start",
        json!({"kind": "renew", "onRequest": true, "certificate": b64(&old), "cardId": CARD_ID}),
    );
    let issued_9a = loop {
        let action = reply.body["next"].clone();
        if action["step"] == "write-certificate:9A" {
            break action["args"]["certificate"].as_str().map(str::to_owned);
        }
        let result = card.run(&action);
        reply = w.call("op/next", json!({"op": reply.body["op"], "result": result}));
    };
    let stopped = w.call(
        "op/next",
        json!({"op": reply.body["op"], "error": {"code": "ERR_NATIVE_UNAVAILABLE"}}),
    );
    assert_eq!(stopped.body["stopped"], "ERR_NATIVE_UNAVAILABLE");
    let spki_9a = {
        let key = &card.keys["9A"];
        spki::SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
            .expect("spki")
            .to_der()
            .expect("der")
    };
    // Retry with the journal: the certified key gets the same certificate without a new proof;
    // the card still has its old certificates and is not due: the unfinished renewal continues.
    let (reply, steps) = w.drive(
        json!({"kind": "renew", "certificate": b64(&old), "cardId": CARD_ID,
               "pendingRenewal": [{"slot": "9A", "step": "key-generated", "publicKey": b64(&spki_9a)}]}),
        &mut card,
    );
    assert_eq!(reply.body["done"], json!(true), "{:?}", reply.body);
    assert_eq!(
        steps,
        [
            "auth-witness",
            "auth-response",
            "prove-possession:9C",
            "write-certificate:9A",
            "write-certificate:9C"
        ]
    );
    assert_eq!(Some(b64(&card.certificates["9A"])), issued_9a);

    // A journalled key the service never saw (the host died right after GENERATE) must sign a
    // fresh challenge before it is certified: the journal is the desktop's word, not the card's.
    let mut w = world();
    let old = w.holder_certificate(&test_pki::p256_key());
    let mut card = SoftCard::new();
    card.run(&json!({"command": "management-authenticate", "args": {"template": b64(&[0x80, 0])}}));
    card.authenticated = true;
    let generated =
        card.run(&json!({"command": "generate-key", "args": {"slot": "9A", "algorithm": "P256"}}));
    let (reply, steps) = w.drive(
        json!({"kind": "renew", "certificate": b64(&old), "cardId": CARD_ID,
               "pendingRenewal": [{"slot": "9A", "step": "key-generated", "publicKey": generated["publicKey"]}]}),
        &mut card,
    );
    assert_eq!(reply.body["done"], json!(true), "{:?}", reply.body);
    assert_eq!(
        &steps[..4],
        [
            "auth-witness",
            "auth-response",
            "prove-possession:9A+9C",
            "write-certificate:9A"
        ]
    );
}

#[test]
fn ra_issue_writes_chuid_and_ccc_sets_the_pin_with_the_puk_and_forces_a_pin_change() {
    let mut w = world();
    let mut card = SoftCard::new();
    let (reply, steps) = w.drive(
        json!({"kind": "issue", "givenName": "Sam", "surname": "Newstarter", "userId": "555000000077"}),
        &mut card,
    );
    assert_eq!(reply.body["done"], json!(true), "{:?}", reply.body);
    assert_eq!(
        &steps[..6],
        [
            "auth-witness",
            "auth-response",
            "put-data:CHUID",
            "put-data:CCC",
            // The RA sets the initial PIN with the service's PUK, then types it once more to
            // prove both new keys (the host generates them after that PIN's VERIFY).
            "set-pin",
            "prove-possession:9A+9C"
        ]
    );
    assert_eq!(card.puk_used.as_deref(), Some(puk::DEFAULT_PUK));
    assert_eq!(reply.body["cardId"].as_str().map(str::len), Some(64));
    assert!(w.manage.must_change_pin("555000000077"));
    assert!(!w.manage.must_change_pin(USER));
    // An RA cannot issue to themselves; a card with a CHUID is not blank.
    let own = w.call(
        "op/start",
        json!({"kind": "issue", "givenName": "Alex", "surname": "Tester", "userId": USER}),
    );
    assert_eq!(own.body["error"], "OWN_CARD");
    let issued = w.call("op/start", json!({"kind": "issue", "cardId": CARD_ID, "givenName": "A", "surname": "B", "userId": "555000000078"}));
    assert_eq!(issued.body["error"], "NOT_BLANK");
}

#[test]
fn self_unlock_releases_the_puk_of_the_checked_card_only_after_the_code() {
    let mut w = world();
    let certificate = w.holder_certificate(&test_pki::p256_key());
    w.manage.api(
        "test/puk",
        &json!({"cardId": "f".repeat(64), "puk": "99999999"}),
        "x",
        None,
        w.now,
    );
    let started = w.manage.api(
        "unlock/start",
        &json!({"certificate": b64(&certificate), "cardId": CARD_ID}),
        "anonymous",
        None,
        w.now,
    );
    assert_eq!(started.status, 200, "{:?}", started.body);
    assert_eq!(started.body["userId"], USER);
    let code = started.body["codeHint"].as_str().expect("code").to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = w.manage.api(
        "unlock/verify",
        &json!({"code": wrong}),
        "anonymous",
        None,
        w.now,
    );
    assert_eq!(refused.status, 403);
    assert!(refused.body.get("puk").is_none());
    // The code is no use from another browser.
    let elsewhere = w.manage.api(
        "unlock/verify",
        &json!({"code": code}),
        "other",
        None,
        w.now,
    );
    assert_eq!(elsewhere.body["error"], "NO_CHECK");
    let released = w.manage.api(
        "unlock/verify",
        &json!({"code": code}),
        "anonymous",
        None,
        w.now,
    );
    assert_eq!(
        released.body,
        json!({"cardId": CARD_ID, "puk": puk::DEFAULT_PUK})
    );
    let again = w.manage.api(
        "unlock/verify",
        &json!({"code": code}),
        "anonymous",
        None,
        w.now,
    );
    assert_eq!(again.body["error"], "ALREADY_RELEASED");
    // A certificate from another CA is not a card of this service.
    let stranger = test_pki::Ca::new(test_pki::p256_key()).issue(
        SUBJECT,
        &test_pki::p256_key(),
        &Profile::login(),
    );
    let untrusted = w.manage.api(
        "unlock/start",
        &json!({"certificate": b64(&stranger), "cardId": CARD_ID}),
        "anonymous",
        None,
        w.now,
    );
    assert_eq!(untrusted.body["error"], "UNTRUSTED_CERTIFICATE");
}
