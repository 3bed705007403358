//! Card-management operations (renew, RA issue, RA repair) as server-side state machines. The
//! page relays: it asks for the next action, runs it on the card through carecard
//! (`cardSession`, or `unlock` for the PIN), and posts the card's answer back. The service decides
//! every step and checks every answer; the page never holds the management key and gets the PUK
//! only for the card being operated.

use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::ca::{Ca, Holder, Slot};
use super::keyauth::{ManagementKey, MutualAuth};
use super::pop::PublicKey;

/// What an operation is for; also the PIN window's purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Renew,
    Issue,
    Repair,
}

impl Kind {
    pub fn purpose(self) -> &'static str {
        match self {
            Kind::Renew => "renew",
            Kind::Issue => "issue",
            Kind::Repair => "repair",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    AuthBegin,
    AuthAnswer,
    PutChuid,
    PutCcc,
    SetPin,
    /// One `prove-possession` for every slot that needs a proof, under one PIN entry: the host
    /// verifies the PIN (the holder's consent), generates the keys marked `true`, and signs each
    /// slot's challenge with its (new or journalled) key.
    Prove(Vec<(Slot, bool)>),
    Write(Slot),
}

/// Why an operation stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OpError {
    pub code: &'static str,
    pub message: String,
}

impl OpError {
    pub fn new(code: &'static str, message: impl Into<String>) -> OpError {
        OpError {
            code,
            message: message.into(),
        }
    }
}

/// What the service learns when an operation ends well.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The card's id once it has a CHUID (issue writes one).
    pub card_id: Option<String>,
    /// Certificates written, by slot.
    pub written: Vec<(Slot, Vec<u8>)>,
}

/// One operation on one card.
#[derive(Debug)]
pub struct Op {
    pub kind: Kind,
    /// The browser session that started it: only it may drive it.
    pub owner: String,
    pub card_id: Option<String>,
    pub holder: Holder,
    key_algorithm: &'static str,
    management_key: ManagementKey,
    puk: Option<Zeroizing<String>>,
    steps: VecDeque<Step>,
    current: Option<Step>,
    auth: Option<MutualAuth>,
    keys: HashMap<Slot, (Vec<u8>, PublicKey)>,
    challenges: HashMap<Slot, Vec<u8>>,
    certificates: HashMap<Slot, Vec<u8>>,
    outcome: Outcome,
}

/// Where a slot of a renewal starts.
#[derive(Debug, Clone)]
pub enum SlotStart {
    /// Generate a new key.
    Fresh,
    /// The host's journal says the card generated this key (SPKI DER): prove and certify it.
    Journalled(Vec<u8>),
    /// The service already certified the journalled key: write that certificate again.
    Certified(Vec<u8>),
}

/// The plan of an operation.
#[derive(Debug)]
pub struct Plan {
    pub kind: Kind,
    pub owner: String,
    pub card_id: Option<String>,
    pub holder: Holder,
    pub key_algorithm: &'static str,
    pub management_key: ManagementKey,
    /// For issue and repair: the PUK the PIN is set with.
    pub puk: Option<Zeroizing<String>>,
    pub slots: Vec<(Slot, SlotStart)>,
}

impl Op {
    pub fn new(plan: Plan) -> Result<Op, OpError> {
        let mut steps = VecDeque::from([Step::AuthBegin]);
        if plan.kind == Kind::Issue {
            steps.extend([Step::PutChuid, Step::PutCcc]);
        }
        if plan.kind != Kind::Renew {
            steps.push_back(Step::SetPin);
        }
        let mut keys = HashMap::new();
        let mut certificates = HashMap::new();
        let mut proofs = Vec::new();
        let mut writes = Vec::new();
        for (slot, start) in plan.slots {
            match start {
                SlotStart::Fresh => proofs.push((slot, true)),
                SlotStart::Journalled(spki) => {
                    let key = PublicKey::from_spki_der(&spki)
                        .map_err(|e| OpError::new("BAD_PUBLIC_KEY", e.to_string()))?;
                    keys.insert(slot, (spki, key));
                    proofs.push((slot, false));
                }
                SlotStart::Certified(certificate) => {
                    certificates.insert(slot, certificate);
                }
            }
            writes.push(Step::Write(slot));
        }
        if !proofs.is_empty() {
            steps.push_back(Step::Prove(proofs));
        }
        steps.extend(writes);
        Ok(Op {
            kind: plan.kind,
            owner: plan.owner,
            card_id: plan.card_id,
            holder: plan.holder,
            key_algorithm: plan.key_algorithm,
            management_key: plan.management_key,
            puk: plan.puk,
            steps,
            current: None,
            auth: None,
            keys,
            challenges: HashMap::new(),
            certificates,
            outcome: Outcome::default(),
        })
    }

    /// Takes the card's answer to the current action (`None` for the first call) and returns the
    /// next action, or `Ok(None)` when the operation is complete (then [`Op::outcome`]).
    pub fn next(
        &mut self,
        answer: Option<&Value>,
        ca: &Ca,
        now: SystemTime,
    ) -> Result<Option<Value>, OpError> {
        if let Some(step) = self.current.take() {
            let answer = answer.ok_or_else(|| {
                OpError::new(
                    "OUT_OF_ORDER",
                    "the card's answer to the last step is missing",
                )
            })?;
            if let Some(next) = self.take_answer(&step, answer, ca, now)? {
                return Ok(Some(next));
            }
        }
        let Some(step) = self.steps.pop_front() else {
            return Ok(None);
        };
        let action = self.action(&step);
        self.current = Some(step);
        Ok(Some(action))
    }

    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The key the card generated for `slot`, once known (SPKI DER).
    pub fn public_key(&self, slot: Slot) -> Option<&[u8]> {
        self.keys.get(&slot).map(|(spki, _)| spki.as_slice())
    }

    /// The certificate issued for `slot` in this operation.
    pub fn certificate(&self, slot: Slot) -> Option<&[u8]> {
        self.certificates.get(&slot).map(Vec::as_slice)
    }

    fn action(&mut self, step: &Step) -> Value {
        let b64 = |bytes: &[u8]| STANDARD.encode(bytes);
        match step {
            Step::AuthBegin => {
                let (auth, template) = MutualAuth::begin(self.management_key.clone());
                self.auth = Some(auth);
                card_action(
                    "management-authenticate",
                    json!({"algorithm": self.management_key.algorithm, "template": b64(&template)}),
                    "auth-witness",
                )
            }
            Step::AuthAnswer => unreachable_action(),
            Step::PutChuid => {
                let chuid = chuid(&rand::random());
                self.outcome.card_id = Some(carecard_protocol::card_id(&chuid));
                card_action(
                    "put-data",
                    json!({"object": "CHUID", "data": b64(&chuid)}),
                    "put-data:CHUID",
                )
            }
            Step::PutCcc => card_action(
                "put-data",
                json!({"object": "CCC", "data": b64(&ccc(&rand::random()))}),
                "put-data:CCC",
            ),
            Step::SetPin => {
                let puk = self.puk.as_deref().map_or("", String::as_str);
                json!({"command": "unlock", "args": {"puk": puk}, "step": "set-pin"})
            }
            Step::Prove(slots) => {
                let mut proofs = Vec::new();
                for (slot, generate) in slots {
                    let challenge: Vec<u8> = (0..32).map(|_| rand::random::<u8>()).collect();
                    let mut proof = json!({"slot": slot.name(), "challenge": b64(&challenge)});
                    if *generate {
                        proof["generate"] = json!(self.key_algorithm);
                    }
                    proofs.push(proof);
                    self.challenges.insert(*slot, challenge);
                }
                let names: Vec<&str> = slots.iter().map(|(slot, _)| slot.name()).collect();
                card_action(
                    "prove-possession",
                    json!({"proofs": proofs, "purpose": self.kind.purpose()}),
                    &format!("prove-possession:{}", names.join("+")),
                )
            }
            Step::Write(slot) => {
                let certificate = self.certificates.get(slot).cloned().unwrap_or_default();
                card_action(
                    "write-certificate",
                    json!({"slot": slot.name(), "certificate": b64(&certificate)}),
                    &format!("write-certificate:{}", slot.name()),
                )
            }
        }
    }

    /// Checks the answer to `step`; may return an immediate follow-up action.
    fn take_answer(
        &mut self,
        step: &Step,
        answer: &Value,
        ca: &Ca,
        now: SystemTime,
    ) -> Result<Option<Value>, OpError> {
        let bytes = |field: &str| -> Result<Vec<u8>, OpError> {
            answer
                .get(field)
                .and_then(Value::as_str)
                .and_then(|s| STANDARD.decode(s).ok())
                .ok_or_else(|| {
                    OpError::new("BAD_ANSWER", format!("the card's answer has no {field}"))
                })
        };
        match step {
            Step::AuthBegin => {
                let card = bytes("template")?;
                let auth = self
                    .auth
                    .as_mut()
                    .ok_or_else(|| OpError::new("OUT_OF_ORDER", "no authentication under way"))?;
                let template = auth
                    .answer_witness(&card)
                    .map_err(|e| OpError::new("MANAGEMENT_KEY", e.to_string()))?;
                self.current = Some(Step::AuthAnswer);
                Ok(Some(card_action(
                    "management-authenticate",
                    json!({"algorithm": self.management_key.algorithm, "template": STANDARD.encode(template)}),
                    "auth-response",
                )))
            }
            Step::AuthAnswer => {
                let card = bytes("template")?;
                self.auth
                    .take()
                    .ok_or_else(|| OpError::new("OUT_OF_ORDER", "no authentication under way"))?
                    .check_response(&card)
                    .map_err(|e| OpError::new("MANAGEMENT_KEY", e.to_string()))?;
                Ok(None)
            }
            Step::PutChuid => {
                self.card_id.clone_from(&self.outcome.card_id);
                Ok(None)
            }
            Step::PutCcc | Step::SetPin => Ok(None),
            Step::Prove(slots) => {
                let proofs = answer
                    .get("proofs")
                    .and_then(Value::as_array)
                    .ok_or_else(|| OpError::new("BAD_ANSWER", "the card's answer has no proofs"))?;
                if proofs.len() != slots.len() {
                    return Err(OpError::new(
                        "BAD_ANSWER",
                        "the card's answer does not prove every key asked for",
                    ));
                }
                for ((slot, generated), proof) in slots.iter().zip(proofs) {
                    if proof.get("slot").and_then(Value::as_str) != Some(slot.name()) {
                        return Err(OpError::new("BAD_ANSWER", "the proofs are out of order"));
                    }
                    if *generated {
                        self.take_public_key(*slot, proof)?;
                    }
                    self.check_proof(*slot, proof, ca, now)?;
                }
                Ok(None)
            }
            Step::Write(slot) => {
                let certificate = self.certificates.get(slot).cloned().unwrap_or_default();
                self.outcome.written.push((*slot, certificate));
                Ok(None)
            }
        }
    }
}

impl Op {
    /// The new key the card reports for `slot` (SPKI), of the type asked for.
    fn take_public_key(&mut self, slot: Slot, proof: &Value) -> Result<(), OpError> {
        let spki = field_bytes(proof, "publicKey")?;
        let key = PublicKey::from_spki_der(&spki)
            .map_err(|e| OpError::new("BAD_PUBLIC_KEY", e.to_string()))?;
        if key.algorithm() != self.key_algorithm {
            return Err(OpError::new(
                "BAD_PUBLIC_KEY",
                format!(
                    "asked for a {} key, the card made a {} key",
                    self.key_algorithm,
                    key.algorithm()
                ),
            ));
        }
        self.keys.insert(slot, (spki, key));
        Ok(())
    }

    /// Checks the slot's signature of its challenge with the slot's key, then issues the
    /// certificate for that key.
    fn check_proof(
        &mut self,
        slot: Slot,
        proof: &Value,
        ca: &Ca,
        now: SystemTime,
    ) -> Result<(), OpError> {
        let signature = field_bytes(proof, "signature")?;
        let (spki, key) = self
            .keys
            .get(&slot)
            .ok_or_else(|| OpError::new("OUT_OF_ORDER", "no key to prove"))?;
        let challenge = self
            .challenges
            .remove(&slot)
            .ok_or_else(|| OpError::new("OUT_OF_ORDER", "no challenge was given"))?;
        if !key.verifies_proof(&challenge, &signature) {
            return Err(OpError::new(
                "BAD_PROOF",
                "the card's signature does not prove it holds the new key",
            ));
        }
        let certificate = ca
            .issue(&self.holder, slot, spki, now)
            .map_err(|e| OpError::new("CA_ERROR", e.to_string()))?;
        self.certificates.insert(slot, certificate);
        Ok(())
    }
}

fn field_bytes(value: &Value, field: &str) -> Result<Vec<u8>, OpError> {
    value
        .get(field)
        .and_then(Value::as_str)
        .and_then(|s| STANDARD.decode(s).ok())
        .ok_or_else(|| OpError::new("BAD_ANSWER", format!("the card's answer has no {field}")))
}

fn card_action(command: &str, args: Value, step: &str) -> Value {
    json!({"command": command, "args": args, "step": step})
}

fn unreachable_action() -> Value {
    json!({"command": "none"})
}

/// CHUID contents (SP 800-73-4 table 9) with the given GUID: FASC-N, GUID, expiry, empty
/// signature and LRC (the shape the virtual card's own CHUID has).
pub fn chuid(guid: &[u8; 16]) -> Vec<u8> {
    const FASC_N: [u8; 25] = [
        0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21,
        0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
    ];
    let mut out = tlv(0x30, &FASC_N);
    out.extend(tlv(0x34, guid));
    out.extend(tlv(0x35, b"20991231"));
    out.extend(tlv(0x3E, &[]));
    out.extend(tlv(0xFE, &[]));
    out
}

/// Card Capability Container contents (SP 800-73-4 table 8) with a random card identifier.
pub fn ccc(card_identifier: &[u8; 14]) -> Vec<u8> {
    let mut id = vec![0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02];
    id.extend_from_slice(card_identifier);
    let mut out = tlv(0xF0, &id);
    out.extend(tlv(0xF1, &[0x21]));
    out.extend(tlv(0xF2, &[0x21]));
    out.extend(tlv(0xF3, &[]));
    out.extend(tlv(0xF4, &[0x00]));
    out.extend(tlv(0xF5, &[0x10]));
    for tag in [0xF6, 0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE] {
        out.extend(tlv(tag, &[]));
    }
    out
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag, value.len() as u8];
    out.extend_from_slice(value);
    out
}
