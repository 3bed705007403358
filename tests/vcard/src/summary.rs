//! `carecard-vcard show`: a person-readable summary of a card's state (no secrets).

use std::fmt::Write;

use der::Decode;
use x509_cert::Certificate;

use crate::init::{TAG_CERT_9A, TAG_CERT_9C};
use crate::state::CardState;
use crate::tlv;

pub fn summary(state: &CardState) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "profile: {}", state.profile.name());
    let _ = writeln!(
        out,
        "PIN retries left: {}/{}{}",
        state.pin.retries_left,
        state.pin.max_retries,
        if state.pin.retries_left == 0 {
            " (blocked)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "PUK retries left: {}/{}{}",
        state.puk.retries_left,
        state.puk.max_retries,
        if state.puk.retries_left == 0 {
            " (blocked)"
        } else {
            ""
        }
    );
    for (slot, tag) in [("9A", TAG_CERT_9A), ("9C", TAG_CERT_9C)] {
        let key = state
            .keys
            .get(slot)
            .map(|k| format!("{:#04x}", k.algorithm));
        let _ = writeln!(
            out,
            "slot {slot}: key {}, certificate {}",
            key.as_deref().unwrap_or("none"),
            state
                .object(tag)
                .map(describe_certificate)
                .unwrap_or_else(|| "none".into())
        );
    }
    let tags: Vec<&str> = state.objects.keys().map(String::as_str).collect();
    let _ = writeln!(out, "objects: {}", tags.join(" "));
    out
}

fn describe_certificate(object: &[u8]) -> String {
    let Some(der) = tlv::find(object, 0x70) else {
        return "(object without a 70 certificate)".into();
    };
    match Certificate::from_der(der) {
        Ok(cert) => {
            let tbs = &cert.tbs_certificate;
            format!(
                "\"{}\" issued by \"{}\", valid {} to {}",
                tbs.subject, tbs.issuer, tbs.validity.not_before, tbs.validity.not_after
            )
        }
        Err(e) => format!("(unparsable: {e})"),
    }
}
