//! The mock card-management service ("Manage Care Identities"): the pages a card holder and a
//! Registration Authority use, and the JSON API behind them, under `/manage`.
//!
//! - [`ca`]: issues NHS-style holder certificates under the test CA the login verifier trusts.
//! - [`pop`]: checks proofs of possession and document signatures.
//! - [`keyauth`]: the server's half of 9B mutual authentication (the key never leaves here).
//! - [`ops`]: renew / RA issue / RA repair as server-driven state machines the page relays.
//! - [`puk`]: the PUK store and its release after an identity check, for one card only.
//!
//! Every API call is bound to the browser session (the login mock's cookie); the holder's and
//! the RA's calls need a logged-in session, the self-unlock calls an identity check instead.

pub mod ca;
pub mod keyauth;
pub mod ops;
pub mod pop;
pub mod puk;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::session::LoggedIn;
use crate::verify::{self, TrustAnchor};
use ca::{Ca, Holder, Slot};
use keyauth::ManagementKey;
use ops::{Kind, Op, Plan, SlotStart};
use pop::PublicKey;
use puk::{IdentityChecks, PukStore};

/// Renewal is offered in the last 90 days of the authentication certificate.
pub const RENEWAL_WINDOW_DAYS: i64 = 90;
/// Operations not driven for this long are dropped.
const OP_LIFETIME: Duration = Duration::from_secs(15 * 60);
const DAY: i64 = 86_400;

/// An API answer: HTTP status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiReply {
    pub status: u16,
    pub body: Value,
}

fn ok(body: Value) -> ApiReply {
    ApiReply { status: 200, body }
}

fn fail(status: u16, code: &str, message: &str) -> ApiReply {
    ApiReply {
        status,
        body: json!({"error": code, "message": message}),
    }
}

/// What the service knows about one card (by cardId, the SHA-256 of its CHUID).
#[derive(Debug)]
struct CardRecord {
    management_key: ManagementKey,
    /// The 12-digit user ID of its holder, once known.
    user_id: Option<String>,
}

/// A document waiting for its signature.
#[derive(Debug)]
struct Document {
    id: String,
    certificate: Vec<u8>,
    hash: Vec<u8>,
}

/// The card-management service's state.
#[derive(Debug)]
pub struct Manage {
    ca: Ca,
    anchor: TrustAnchor,
    cards: HashMap<String, CardRecord>,
    puks: PukStore,
    checks: IdentityChecks,
    /// User IDs that must change their PIN at their next login (cards an RA issued or repaired).
    must_change_pin: HashSet<String>,
    /// Certificates issued by unfinished operations, by the SPKI they certify (DER): a
    /// journalled key already certified gets its certificate again without a new proof.
    issued: HashMap<Vec<u8>, (String, Slot, Vec<u8>)>,
    /// Cards with an unfinished renewal (a retry finishes it even outside the renewal window).
    renewals: HashSet<String>,
    ops: HashMap<String, (Op, SystemTime)>,
    documents: HashMap<String, Document>,
    test_hooks: bool,
}

impl Manage {
    pub fn new(ca: Ca, anchor: TrustAnchor, test_hooks: bool) -> Manage {
        Manage {
            ca,
            anchor,
            cards: HashMap::new(),
            puks: PukStore::default(),
            checks: IdentityChecks::default(),
            must_change_pin: HashSet::new(),
            issued: HashMap::new(),
            renewals: HashSet::new(),
            ops: HashMap::new(),
            documents: HashMap::new(),
            test_hooks,
        }
    }

    /// Whether `user_id` must change the PIN before anything else (the login redirects there).
    pub fn must_change_pin(&self, user_id: &str) -> bool {
        self.must_change_pin.contains(user_id)
    }

    /// One API call. `path` is below `/manage/api/`.
    pub fn api(
        &mut self,
        path: &str,
        body: &Value,
        session: &str,
        user: Option<&LoggedIn>,
        now: SystemTime,
    ) -> ApiReply {
        self.ops.retain(|_, (_, at)| {
            now.duration_since(*at)
                .map_or(true, |age| age < OP_LIFETIME)
        });
        // Self-unlock: the identity check stands in for a login (the card is blocked).
        match path {
            "unlock/start" => return self.unlock_start(body, session, now),
            "unlock/verify" => return self.unlock_verify(body, session, now),
            "unlock/done" => return self.unlock_done(body, session),
            "test/puk" if self.test_hooks => return self.test_set_puk(body),
            _ => {}
        }
        let Some(user) = user else {
            return fail(401, "NOT_LOGGED_IN", "Log in with your smartcard first.");
        };
        match path {
            "card" => self.card(body, user, now),
            "pin-changed" => {
                self.must_change_pin.remove(&user.user_id);
                ok(json!({"mustChangePin": false}))
            }
            "op/start" => self.op_start(body, session, user, now),
            "op/next" => self.op_next(body, session, now),
            "sign/document" => self.sign_document(body, session, user, now),
            "sign/verify" => self.sign_verify(body, session, now),
            _ => fail(404, "NOT_FOUND", "There is no such API."),
        }
    }

    fn record(&mut self, card_id: &str) -> &mut CardRecord {
        self.cards
            .entry(card_id.to_owned())
            .or_insert_with(|| CardRecord {
                // A card the service has not seen yet: personalised with the factory key.
                management_key: ManagementKey::default_3des(),
                user_id: None,
            })
    }

    /// A certificate from the page: issued by our CA and valid now.
    fn certificate(
        &self,
        body: &Value,
        field: &str,
        now: impl Into<Option<SystemTime>>,
    ) -> Result<(Vec<u8>, carecard_protocol::CertificateSummary), ApiReply> {
        let der = b64_field(body, field).ok_or_else(|| {
            fail(
                400,
                "BAD_REQUEST",
                &format!("{field} (base64 DER) is required"),
            )
        })?;
        let summary = verify::check_certificate(&der, &self.anchor, now.into())
            .map_err(|e| fail(403, e.code(), &e.to_string()))?;
        Ok((der, summary))
    }

    /// "My card": what the page shows about a card, and whether renewal is offered. Someone
    /// else's card (a second card in another reader) is shown as not yours: only its holder may
    /// renew it.
    fn card(&mut self, body: &Value, user: &LoggedIn, now: SystemTime) -> ApiReply {
        let (_, summary) = match self.certificate(body, "certificate", None) {
            Ok(found) => found,
            Err(reply) => return reply,
        };
        let yours = summary.user_id.as_deref() == Some(user.user_id.as_str());
        if let (true, Some(card_id)) = (yours, body.get("cardId").and_then(Value::as_str)) {
            self.record(card_id).user_id = Some(user.user_id.clone());
        }
        let days_left = days_left(summary.not_after, now);
        let unfinished = body
            .get("cardId")
            .and_then(Value::as_str)
            .is_some_and(|id| self.renewals.contains(id))
            || body
                .get("pendingRenewal")
                .and_then(Value::as_array)
                .is_some_and(|p| !p.is_empty());
        ok(json!({
            "holder": display_name(&summary),
            "userId": summary.user_id,
            "notAfter": summary.not_after,
            "daysLeft": days_left,
            "renewalDue": days_left <= RENEWAL_WINDOW_DAYS,
            "renewalUnfinished": unfinished,
            "mustChangePin": yours && self.must_change_pin(&user.user_id),
            "yours": yours,
        }))
    }

    fn op_start(
        &mut self,
        body: &Value,
        session: &str,
        user: &LoggedIn,
        now: SystemTime,
    ) -> ApiReply {
        let plan = match body.get("kind").and_then(Value::as_str) {
            Some("renew") => self.plan_renewal(body, session, user, now),
            Some("issue") => self.plan_issue(body, session, user),
            Some("repair") => self.plan_repair(body, session, user, now),
            _ => Err(fail(
                400,
                "BAD_REQUEST",
                "kind must be renew, issue or repair",
            )),
        };
        let plan = match plan {
            Ok(plan) => plan,
            Err(reply) => return reply,
        };
        let mut op = match Op::new(plan) {
            Ok(op) => op,
            Err(e) => return fail(400, e.code, &e.message),
        };
        let first = match op.next(None, &self.ca, now) {
            Ok(Some(action)) => action,
            Ok(None) => return fail(409, "NOTHING_TO_DO", "There is nothing to do on this card."),
            Err(e) => return fail(400, e.code, &e.message),
        };
        let id = random_id();
        log::info!(
            "card management: {} for {} started",
            op.kind.purpose(),
            op.holder.user_id
        );
        self.ops.insert(id.clone(), (op, now));
        ok(json!({"op": id, "next": first}))
    }

    fn plan_renewal(
        &mut self,
        body: &Value,
        session: &str,
        user: &LoggedIn,
        now: SystemTime,
    ) -> Result<Plan, ApiReply> {
        let (der, summary) = self.certificate(body, "certificate", now)?;
        if summary.user_id.as_deref() != Some(user.user_id.as_str()) {
            return Err(fail(
                403,
                "NOT_YOUR_CARD",
                "You can only renew your own card.",
            ));
        }
        let card_id = card_id_field(body)?;
        let holder = holder_of(&summary)?;
        let key_algorithm = certificate_key(&der)?.algorithm();
        let pending = pending_keys(body);
        let current = current_certificates(body);
        let unfinished = self.renewals.contains(&card_id);
        let on_request = body.get("onRequest").and_then(Value::as_bool) == Some(true);
        let due = days_left(summary.not_after, now) <= RENEWAL_WINDOW_DAYS;
        if !(due || on_request || unfinished || !pending.is_empty()) {
            return Err(fail(
                409,
                "RENEWAL_NOT_DUE",
                &format!(
                    "Your certificates are renewed in their last {RENEWAL_WINDOW_DAYS} days; ask to renew now if you need to."
                ),
            ));
        }
        let mut slots = Vec::new();
        for slot in [Slot::Authentication, Slot::Signature] {
            // Already written by this unfinished renewal: the card carries the certificate we
            // issued in it (even if the page never told us the write succeeded).
            let done = current.get(&slot).is_some_and(|c| {
                self.issued
                    .values()
                    .any(|(id, s, issued)| id == &card_id && *s == slot && issued == c)
            });
            if done {
                continue;
            }
            let start = match pending.get(&slot) {
                Some(spki) => match self.issued.get(spki) {
                    // Certified before (the page went before writing it): the proof was checked
                    // when it was issued; sending the same certificate again adds nothing.
                    Some((id, s, certificate)) if id == &card_id && *s == slot => {
                        SlotStart::Certified(certificate.clone())
                    }
                    // The host's journal is the desktop's word, not the card's: a real CA
                    // certifies a key only after the key itself signed its challenge.
                    _ => SlotStart::Journalled(spki.clone()),
                },
                None => SlotStart::Fresh,
            };
            slots.push((slot, start));
        }
        self.renewals.insert(card_id.clone());
        let management_key = self.record(&card_id).management_key.clone();
        Ok(Plan {
            kind: Kind::Renew,
            owner: session.to_owned(),
            card_id: Some(card_id),
            holder,
            key_algorithm,
            management_key,
            puk: None,
            slots,
        })
    }

    fn plan_issue(&mut self, body: &Value, session: &str, ra: &LoggedIn) -> Result<Plan, ApiReply> {
        if body.get("cardId").and_then(Value::as_str).is_some() {
            return Err(fail(
                409,
                "NOT_BLANK",
                "This card has already been issued (it has a CHUID): repair it instead.",
            ));
        }
        let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default();
        let holder = Holder::new(field("givenName"), field("surname"), field("userId"))
            .ok_or_else(|| {
                fail(
                    400,
                    "BAD_HOLDER",
                    "Give the holder's given name, surname and 12-digit user ID.",
                )
            })?;
        if holder.user_id == ra.user_id {
            return Err(fail(
                403,
                "OWN_CARD",
                "An RA cannot issue a card to themselves.",
            ));
        }
        let key_algorithm = match field("algorithm") {
            "" | "P256" => "P256",
            "P384" => "P384",
            "RSA2048" => "RSA2048",
            _ => return Err(fail(400, "BAD_REQUEST", "algorithm: RSA2048, P256 or P384")),
        };
        Ok(Plan {
            kind: Kind::Issue,
            owner: session.to_owned(),
            card_id: None,
            holder,
            key_algorithm,
            // A blank card still has its factory (transport) key.
            management_key: ManagementKey::default_3des(),
            // Blank cards leave the factory with the default PUK; the service records it.
            puk: Some(puk::default_puk()),
            slots: vec![
                (Slot::Authentication, SlotStart::Fresh),
                (Slot::Signature, SlotStart::Fresh),
            ],
        })
    }

    fn plan_repair(
        &mut self,
        body: &Value,
        session: &str,
        ra: &LoggedIn,
        _now: SystemTime,
    ) -> Result<Plan, ApiReply> {
        // An expired certificate is one reason for a repair: ours is enough, valid or not.
        let (der, summary) = self.certificate(body, "certificate", None)?;
        let card_id = card_id_field(body)?;
        let holder = holder_of(&summary)?;
        if holder.user_id == ra.user_id {
            return Err(fail(
                403,
                "OWN_CARD",
                "An RA cannot repair their own card: ask another RA.",
            ));
        }
        let key_algorithm = certificate_key(&der)?.algorithm();
        let puk = self.puks.puk(&card_id);
        let record = self.record(&card_id);
        record.user_id = Some(holder.user_id.clone());
        let management_key = record.management_key.clone();
        Ok(Plan {
            kind: Kind::Repair,
            owner: session.to_owned(),
            card_id: Some(card_id),
            holder,
            key_algorithm,
            management_key,
            puk: Some(puk),
            slots: vec![
                (Slot::Authentication, SlotStart::Fresh),
                (Slot::Signature, SlotStart::Fresh),
            ],
        })
    }

    fn op_next(&mut self, body: &Value, session: &str, now: SystemTime) -> ApiReply {
        let Some(id) = body.get("op").and_then(Value::as_str).map(str::to_owned) else {
            return fail(400, "BAD_REQUEST", "op is required");
        };
        let Some((mut op, _)) = self.ops.remove(&id) else {
            return fail(404, "OP_UNKNOWN", "This operation has ended; start again.");
        };
        if op.owner != session {
            // Not this browser's: put it back untouched.
            self.ops.insert(id, (op, now));
            return fail(404, "OP_UNKNOWN", "This operation has ended; start again.");
        }
        if let Some(error) = body.get("error") {
            let code = error.get("code").and_then(Value::as_str).unwrap_or("ERROR");
            log::info!(
                "card management: {} for {} stopped by the card or browser: {code}",
                op.kind.purpose(),
                op.holder.user_id
            );
            return ok(json!({"stopped": code}));
        }
        match op.next(body.get("result"), &self.ca, now) {
            Ok(Some(action)) => {
                self.remember_issued(&op);
                self.ops.insert(id, (op, now));
                ok(json!({"op": id_of(&body["op"]), "next": action}))
            }
            Ok(None) => {
                self.remember_issued(&op);
                ok(self.finish(&op))
            }
            Err(e) => {
                log::warn!(
                    "card management: {} for {} refused: {}",
                    op.kind.purpose(),
                    op.holder.user_id,
                    e.message
                );
                fail(400, e.code, &e.message)
            }
        }
    }

    /// Records certificates issued so far, so a retry after an interruption re-sends them.
    fn remember_issued(&mut self, op: &Op) {
        let Some(card_id) = op.card_id.clone().or_else(|| op.outcome().card_id.clone()) else {
            return;
        };
        for slot in [Slot::Authentication, Slot::Signature] {
            if let (Some(spki), Some(certificate)) = (op.public_key(slot), op.certificate(slot)) {
                self.issued
                    .insert(spki.to_vec(), (card_id.clone(), slot, certificate.to_vec()));
            }
        }
    }

    fn finish(&mut self, op: &Op) -> Value {
        let card_id = op.card_id.clone().or_else(|| op.outcome().card_id.clone());
        if let Some(card_id) = &card_id {
            self.renewals.remove(card_id);
            self.issued.retain(|_, (id, _, _)| id != card_id);
            self.record(card_id).user_id = Some(op.holder.user_id.clone());
        }
        if op.kind != Kind::Renew {
            // Issued or repaired by an RA: the holder chooses their own PIN at their next login.
            self.must_change_pin.insert(op.holder.user_id.clone());
        }
        let written: Vec<Value> = op
            .outcome()
            .written
            .iter()
            .map(|(slot, der)| {
                let not_after = carecard_protocol::CertificateSummary::from_der(der)
                    .map(|s| s.not_after)
                    .unwrap_or_default();
                json!({"slot": slot.name(), "certificate": STANDARD.encode(der), "notAfter": not_after})
            })
            .collect();
        log::info!(
            "card management: {} for {} done",
            op.kind.purpose(),
            op.holder.user_id
        );
        json!({
            "done": true,
            "kind": op.kind.purpose(),
            "cardId": card_id,
            "holder": op.holder.common_name(),
            "userId": op.holder.user_id,
            "certificates": written,
            "mustChangePin": op.kind != Kind::Renew,
        })
    }

    // ---- self-unlock

    fn unlock_start(&mut self, body: &Value, session: &str, now: SystemTime) -> ApiReply {
        let (_, summary) = match self.certificate(body, "certificate", now) {
            Ok(found) => found,
            Err(reply) => return reply,
        };
        let card_id = match card_id_field(body) {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        let Some(user_id) = summary.user_id.clone() else {
            return fail(
                403,
                "NO_USER_ID",
                "The card's certificate names no user ID.",
            );
        };
        let code = self.checks.start(session, &card_id, &user_id, now);
        ok(json!({
            "holder": display_name(&summary),
            "userId": user_id,
            // A stand-in for the one-time code the real service sends to the holder's phone.
            "codeHint": code,
        }))
    }

    fn unlock_verify(&mut self, body: &Value, session: &str, now: SystemTime) -> ApiReply {
        let code = body.get("code").and_then(Value::as_str).unwrap_or_default();
        match self.checks.verify(session, code, now) {
            Ok(card_id) => {
                let puk = self.puks.puk(&card_id);
                log::info!("self-unlock: PUK released for one card after the identity check");
                ok(json!({"cardId": card_id, "puk": puk.as_str()}))
            }
            Err(e) => ApiReply {
                status: 403,
                body: json!({"error": e.code(), "message": e.to_string(), "triesLeft": e.tries_left()}),
            },
        }
    }

    fn unlock_done(&mut self, body: &Value, session: &str) -> ApiReply {
        let outcome = body.get("code").and_then(Value::as_str).unwrap_or("OK");
        log::info!("self-unlock finished: {outcome}");
        self.checks.end(session);
        ok(json!({}))
    }

    fn test_set_puk(&mut self, body: &Value) -> ApiReply {
        match (
            body.get("cardId").and_then(Value::as_str),
            body.get("puk").and_then(Value::as_str),
        ) {
            (Some(card_id), Some(value)) => {
                self.puks.set(card_id, value);
                ok(json!({}))
            }
            _ => fail(400, "BAD_REQUEST", "cardId and puk"),
        }
    }

    // ---- signing

    fn sign_document(
        &mut self,
        body: &Value,
        session: &str,
        user: &LoggedIn,
        now: SystemTime,
    ) -> ApiReply {
        let (der, summary) = match self.certificate(body, "certificate", now) {
            Ok(found) => found,
            Err(reply) => return reply,
        };
        if summary.user_id.as_deref() != Some(user.user_id.as_str()) {
            return fail(403, "NOT_YOUR_CARD", "Sign with your own card.");
        }
        if !verify::has_non_repudiation(&der) {
            return fail(
                403,
                "NOT_A_SIGNING_CERTIFICATE",
                "Use the card's signing (9C) certificate.",
            );
        }
        let key = match certificate_key(&der) {
            Ok(key) => key,
            Err(reply) => return reply,
        };
        let id = random_id();
        let text = format!(
            "Prescription {} — patient Jo Bloggs (NHS number 943 476 5919): amoxicillin 500 mg capsules, \
             one three times a day for 5 days. Prescriber: {} ({}). Issued {}.",
            &id[..8],
            display_name(&summary),
            user.user_id,
            unix(now)
        );
        let hash = key.hash(text.as_bytes());
        let reply = json!({
            "id": id,
            "text": text,
            "hash": STANDARD.encode(&hash),
            "hashFunction": key.hash_function(),
        });
        self.documents.insert(
            session.to_owned(),
            Document {
                id,
                certificate: der,
                hash,
            },
        );
        ok(reply)
    }

    fn sign_verify(&mut self, body: &Value, session: &str, _now: SystemTime) -> ApiReply {
        let Some(document) = self.documents.remove(session) else {
            return fail(404, "NO_DOCUMENT", "Ask for a document to sign first.");
        };
        if body.get("id").and_then(Value::as_str) != Some(document.id.as_str()) {
            return fail(
                409,
                "WRONG_DOCUMENT",
                "That is not the document you were given.",
            );
        }
        let Some(signature) = b64_field(body, "signature") else {
            return fail(400, "BAD_REQUEST", "signature (base64) is required");
        };
        let key = match certificate_key(&document.certificate) {
            Ok(key) => key,
            Err(reply) => return reply,
        };
        if key.verifies_hash(&document.hash, &signature) {
            log::info!(
                "signing: document {} signed and verified",
                &document.id[..8]
            );
            ok(json!({"verified": true, "id": document.id}))
        } else {
            fail(
                400,
                "BAD_SIGNATURE",
                "The signature does not verify against your signing certificate.",
            )
        }
    }
}

fn id_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn b64_field(body: &Value, field: &str) -> Option<Vec<u8>> {
    STANDARD.decode(body.get(field)?.as_str()?).ok()
}

fn card_id_field(body: &Value) -> Result<String, ApiReply> {
    body.get("cardId")
        .and_then(Value::as_str)
        .filter(|id| id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
        .ok_or_else(|| {
            fail(
                400,
                "BAD_REQUEST",
                "cardId (the card's 64 hex digit id from carecard) is required",
            )
        })
}

fn holder_of(summary: &carecard_protocol::CertificateSummary) -> Result<Holder, ApiReply> {
    let (given, surname) = match (&summary.given_name, &summary.surname) {
        (Some(g), Some(s)) => (g.clone(), s.clone()),
        _ => match summary.common_name.rsplit_once(' ') {
            Some((g, s)) => (g.to_owned(), s.to_owned()),
            None => (summary.common_name.clone(), summary.common_name.clone()),
        },
    };
    Holder::new(
        &given,
        &surname,
        summary.user_id.as_deref().unwrap_or_default(),
    )
    .ok_or_else(|| {
        fail(
            403,
            "NO_USER_ID",
            "The certificate does not name a holder with a 12-digit user ID.",
        )
    })
}

fn certificate_key(der: &[u8]) -> Result<PublicKey, ApiReply> {
    use der::Decode as _;
    let certificate = x509_cert::Certificate::from_der(der)
        .map_err(|e| fail(400, "MALFORMED_CERTIFICATE", &e.to_string()))?;
    PublicKey::from_spki(&certificate.tbs_certificate.subject_public_key_info)
        .map_err(|e| fail(400, "BAD_PUBLIC_KEY", &e.to_string()))
}

/// `pendingRenewal` entries with a generated key: slot → SPKI DER.
fn pending_keys(body: &Value) -> HashMap<Slot, Vec<u8>> {
    body.get("pendingRenewal")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("step").and_then(Value::as_str) == Some("key-generated"))
        .filter_map(|p| {
            let slot = Slot::parse(p.get("slot")?.as_str()?)?;
            Some((slot, b64_field(p, "publicKey")?))
        })
        .collect()
}

/// The card's certificates as the page read them: slot → DER.
fn current_certificates(body: &Value) -> HashMap<Slot, Vec<u8>> {
    body.get("certificates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let slot = Slot::parse(c.get("slot")?.as_str()?)?;
            Some((slot, b64_field(c, "certificate")?))
        })
        .collect()
}

fn display_name(summary: &carecard_protocol::CertificateSummary) -> String {
    match (&summary.given_name, &summary.surname) {
        (Some(given), Some(surname)) => format!("{given} {surname}"),
        _ => summary.common_name.clone(),
    }
}

fn unix(now: SystemTime) -> i64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Whole days from `now` until `not_after` (negative once expired).
pub fn days_left(not_after: i64, now: SystemTime) -> i64 {
    (not_after - unix(now)).div_euclid(DAY)
}

#[cfg(test)]
mod tests;
