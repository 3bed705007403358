//! The fixed PIV data the card hands out: ATR, application property template, discovery
//! object, and the CHUID / CCC / certificate object contents written at personalisation.

use crate::state::CardProfile;
use crate::tlv::encode;

/// A generic T=1 ATR: TS 3B, T0 88 (TD1, 8 historical bytes), TD1 80 (TD2), TD2 01 (T=1),
/// historical bytes "carecard" (category 0x63: proprietary), TCK. No vendor's ATR: OpenSC
/// would then use vendor instructions (e.g. YubiKey's GET VERSION) that a PIV card lacks.
pub const ATR: [u8; 13] = [
    0x3B, 0x88, 0x80, 0x01, b'c', b'a', b'r', b'e', b'c', b'a', b'r', b'd', 0x08,
];

/// PIX of the PIV application with its version, as SELECT's template reports it.
const PIV_PIX: [u8; 6] = [0x00, 0x00, 0x10, 0x00, 0x01, 0x00];
/// NIST's RID: the coexistent tag allocation authority.
const NIST_RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x08];

/// SELECT's answer: `61 { 4F PIX, 79 { 4F RID }, 50 label, AC { 80 alg…, 06 00 } }`.
pub fn application_property_template(profile: CardProfile) -> Vec<u8> {
    let mut algorithms = Vec::new();
    // 3DES card management key, then the profile's key algorithm.
    for alg in [0x03, profile.algorithm_id()] {
        algorithms.extend(encode(0x80, &[alg]));
    }
    algorithms.extend(encode(0x06, &[0x00]));
    let mut body = encode(0x4F, &PIV_PIX);
    body.extend(encode(0x79, &encode(0x4F, &NIST_RID)));
    body.extend(encode(0x50, b"carecard virtual PIV"));
    body.extend(encode(0xAC, &algorithms));
    encode(0x61, &body)
}

/// Discovery object: the full AID and a PIN usage policy of "PIV PIN only" (40 00).
pub fn discovery() -> Vec<u8> {
    let mut aid = NIST_RID.to_vec();
    aid.extend_from_slice(&PIV_PIX);
    let mut body = encode(0x4F, &aid);
    body.extend(encode(0x5F2F, &[0x40, 0x00]));
    encode(0x7E, &body)
}

/// CHUID contents: FASC-N (the SP 800-73-4 "no agency" value), a random GUID, expiry,
/// empty issuer signature, LRC.
pub fn chuid(guid: &[u8; 16]) -> Vec<u8> {
    const FASC_N: [u8; 25] = [
        0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21,
        0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
    ];
    let mut out = encode(0x30, &FASC_N);
    out.extend(encode(0x34, guid));
    out.extend(encode(0x35, b"20991231"));
    out.extend(encode(0x3E, &[]));
    out.extend(encode(0xFE, &[]));
    out
}

/// Card Capability Container contents (SP 800-73-4 table 8) with a random card identifier.
pub fn ccc(card_id: &[u8; 14]) -> Vec<u8> {
    let mut id = vec![0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02];
    id.extend_from_slice(card_id);
    let mut out = encode(0xF0, &id);
    out.extend(encode(0xF1, &[0x21]));
    out.extend(encode(0xF2, &[0x21]));
    out.extend(encode(0xF3, &[]));
    out.extend(encode(0xF4, &[0x00]));
    out.extend(encode(0xF5, &[0x10]));
    for tag in [0xF6, 0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE] {
        out.extend(encode(tag, &[]));
    }
    out
}

/// A certificate object's contents: `70 cert, 71 00 (not compressed), FE (LRC)`.
pub fn certificate(der: &[u8]) -> Vec<u8> {
    let mut out = encode(0x70, der);
    out.extend(encode(0x71, &[0x00]));
    out.extend(encode(0xFE, &[]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atr_check_byte_is_the_xor_of_t0_to_the_last_historical_byte() {
        let tck = ATR[1..ATR.len() - 1].iter().fold(0u8, |a, b| a ^ b);
        assert_eq!(tck, ATR[ATR.len() - 1]);
    }
}
