//! Card management commands the host relays for the card-management server: the 9B
//! management-key authentication (the server holds the key and computes the cryptograms; the
//! host only moves templates), GENERATE ASYMMETRIC KEY PAIR and writing a certificate.

use crate::apdu::Command;
use crate::error::CardError;
use crate::piv::{object_id, Algorithm, Piv, Slot, MAX_OBJECT};
use crate::tlv;

/// The public half of a key generated on the card (from the `7F49` template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Rsa {
        modulus: Vec<u8>,
        exponent: Vec<u8>,
    },
    /// Uncompressed point `04 ‖ x ‖ y`.
    Ec {
        point: Vec<u8>,
    },
}

impl Piv<'_> {
    /// One step of the 9B authentication: sends the contents of a dynamic authentication
    /// template (`80`/`81`/`82` items as the server built them) and returns the contents of the
    /// card's `7C` reply (empty when the card answers with a bare 9000, as on the last step).
    /// `algorithm_id`: 03 3DES, 08/0A/0C AES-128/192/256.
    pub fn management_authenticate(
        &mut self,
        algorithm_id: u8,
        template_contents: &[u8],
    ) -> Result<Vec<u8>, CardError> {
        if !matches!(algorithm_id, 0x03 | 0x08 | 0x0A | 0x0C) {
            return Err(CardError::invalid_input("not a management key algorithm"));
        }
        // The challenge/response items of a symmetric key are at most 16 bytes each.
        if template_contents.len() > 64 {
            return Err(CardError::invalid_input("authentication template too long"));
        }
        let command = Command::new(
            0x00,
            0x87,
            algorithm_id,
            Slot::CardManagement.key_reference(),
        )
        .with_data(tlv::encode(0x7C, template_contents))
        .with_le(256);
        let data = self.transmit(&command)?.into_data()?;
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let (outer, _) = tlv::parse_one(&data)?;
        if outer.tag != 0x7C {
            return Err(CardError::malformed("authentication reply is not 7C"));
        }
        Ok(outer.value.to_vec())
    }

    /// GENERATE ASYMMETRIC KEY PAIR in `slot`; needs the 9B authentication first.
    pub fn generate_key_pair(
        &mut self,
        slot: Slot,
        algorithm: Algorithm,
    ) -> Result<PublicKey, CardError> {
        let command = Command::new(0x00, 0x47, 0x00, slot.key_reference())
            .with_data(tlv::encode(0xAC, &tlv::encode(0x80, &[algorithm.id()])))
            .with_le(256);
        let data = self.transmit(&command)?.into_data()?;
        let (template, _) = tlv::parse_one(&data)?;
        if template.tag != 0x7F49 {
            return Err(CardError::malformed("GENERATE reply is not 7F49"));
        }
        public_key(template.value, algorithm)
    }

    /// PUT DATA of the certificate object for `slot` (uncompressed); needs 9B authentication.
    pub fn write_certificate(&mut self, slot: Slot, der: &[u8]) -> Result<(), CardError> {
        let tag = slot
            .certificate_tag()
            .ok_or_else(|| CardError::invalid_input(format!("slot {slot} has no certificate")))?;
        if der.is_empty() || der.len() > MAX_OBJECT {
            return Err(CardError::invalid_input("certificate size out of range"));
        }
        let mut object = tlv::encode(0x70, der);
        tlv::encode_into(&mut object, 0x71, &[0x00]);
        tlv::encode_into(&mut object, 0xFE, &[]);
        self.put_object(tag, &object)
    }

    /// The PUK's retry counter from a VERIFY of reference 81 without data, which spends no
    /// try. `None` when the card does not report it (SP 800-73-4 does not require it).
    pub fn puk_retries(&mut self) -> Result<Option<u8>, CardError> {
        let response = self.transmit(&Command::new(0x00, 0x20, 0x00, 0x81))?;
        Ok(if let Some(n) = response.sw.retries_left() {
            Some(n)
        } else if response.sw.is_blocked() {
            Some(0)
        } else {
            None
        })
    }

    /// PUT DATA `5C <tag> 53 <contents>`.
    pub fn put_object(&mut self, tag: u32, contents: &[u8]) -> Result<(), CardError> {
        let mut data = tlv::encode(0x5C, &object_id(tag));
        tlv::encode_into(&mut data, 0x53, contents);
        let response = self.transmit(&Command::new(0x00, 0xDB, 0x3F, 0xFF).with_data(data))?;
        response.into_data().map(|_| ())
    }
}

/// Checks the `7F49` contents against the algorithm asked for.
fn public_key(template: &[u8], algorithm: Algorithm) -> Result<PublicKey, CardError> {
    match algorithm {
        Algorithm::Rsa2048 => {
            let modulus = tlv::find(template, 0x81)?
                .ok_or_else(|| CardError::malformed("RSA public key without modulus"))?;
            let exponent = tlv::find(template, 0x82)?
                .ok_or_else(|| CardError::malformed("RSA public key without exponent"))?;
            let modulus = strip_leading_zeros(modulus);
            if modulus.len() != 256 || exponent.is_empty() || exponent.len() > 8 {
                return Err(CardError::malformed("RSA public key of the wrong size"));
            }
            Ok(PublicKey::Rsa {
                modulus: modulus.to_vec(),
                exponent: strip_leading_zeros(exponent).to_vec(),
            })
        }
        Algorithm::EccP256 | Algorithm::EccP384 => {
            let point = tlv::find(template, 0x86)?
                .ok_or_else(|| CardError::malformed("EC public key without point"))?;
            if point.len() != 1 + 2 * algorithm.input_len() || point.first() != Some(&0x04) {
                return Err(CardError::malformed(
                    "EC public key is not an uncompressed point",
                ));
            }
            Ok(PublicKey::Ec {
                point: point.to_vec(),
            })
        }
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a panic is the failure report
mod tests {
    use super::*;
    use crate::transport::fake::{h, ScriptedCard};

    #[test]
    fn relays_the_mutual_authentication_templates() {
        let mut card = ScriptedCard::new()
            .expect(
                &h("00 87 03 9B 04 7C 02 80 00 00"),
                &h("7C 0A 80 08 0102030405060708 9000"),
            )
            .expect(
                &h("00 87 03 9B 16 7C 14 80 08 1111111111111111 81 08 2222222222222222 00"),
                &h("7C 0A 82 08 3333333333333333 9000"),
            );
        let mut piv = Piv::new(&mut card);
        let witness = piv.management_authenticate(0x03, &h("80 00")).unwrap();
        assert_eq!(witness, h("80 08 0102030405060708"));
        let response = piv
            .management_authenticate(0x03, &h("80 08 1111111111111111 81 08 2222222222222222"))
            .unwrap();
        assert_eq!(response, h("82 08 3333333333333333"));
        card.finish();
    }

    #[test]
    fn wrong_cryptogram_and_bad_algorithm() {
        let mut card = ScriptedCard::new().expect(&h("00 87 08 9B 04 7C 02 82 00 00"), &h("6982"));
        assert_eq!(
            Piv::new(&mut card).management_authenticate(0x08, &h("82 00")),
            Err(CardError::SecurityStatusNotSatisfied)
        );
        let mut card = ScriptedCard::new();
        assert!(Piv::new(&mut card)
            .management_authenticate(0x07, &h("80 00"))
            .is_err());
        assert!(card.sent.is_empty());
    }

    #[test]
    fn generates_an_ec_key() {
        let point = [vec![0x04], vec![0xAA; 64]].concat();
        let reply = [tlv::encode(0x7F49, &tlv::encode(0x86, &point)), h("9000")].concat();
        let mut card = ScriptedCard::new().expect(&h("00 47 00 9A 05 AC 03 80 01 11 00"), &reply);
        let key = Piv::new(&mut card)
            .generate_key_pair(Slot::Authentication, Algorithm::EccP256)
            .unwrap();
        assert_eq!(key, PublicKey::Ec { point });
        card.finish();
    }

    #[test]
    fn checks_generated_keys() {
        let rsa_ok = [
            tlv::encode(0x81, &[0xC5; 256]),
            tlv::encode(0x82, &[1, 0, 1]),
        ]
        .concat();
        assert_eq!(
            public_key(&rsa_ok, Algorithm::Rsa2048).unwrap(),
            PublicKey::Rsa {
                modulus: vec![0xC5; 256],
                exponent: vec![1, 0, 1]
            }
        );
        let short = [tlv::encode(0x81, &[0xC5; 128]), tlv::encode(0x82, &[3])].concat();
        assert!(public_key(&short, Algorithm::Rsa2048).is_err());
        let compressed = tlv::encode(0x86, &[[0x02].as_slice(), &[0xAA; 96]].concat());
        assert!(public_key(&compressed, Algorithm::EccP384).is_err());
        let wrong_curve = tlv::encode(0x86, &[[0x04].as_slice(), &[0xAA; 64]].concat());
        assert!(public_key(&wrong_curve, Algorithm::EccP384).is_err());
        assert!(public_key(&[], Algorithm::EccP256).is_err());
    }

    #[test]
    fn writes_a_certificate_with_chaining() {
        let der = vec![0x30; 300];
        let mut object = tlv::encode(0x70, &der);
        object.extend(h("71 01 00 FE 00"));
        let mut data = h("5C 03 5F C1 05");
        data.extend(tlv::encode(0x53, &object));
        let mut first = h("10 DB 3F FF FF");
        first.extend_from_slice(&data[..255]);
        let mut second = vec![0x00, 0xDB, 0x3F, 0xFF, (data.len() - 255) as u8];
        second.extend_from_slice(&data[255..]);
        let mut card = ScriptedCard::new()
            .expect(&first, &h("9000"))
            .expect(&second, &h("9000"));
        Piv::new(&mut card)
            .write_certificate(Slot::Authentication, &der)
            .unwrap();
        card.finish();

        let mut card = ScriptedCard::new().expect(&first, &h("6982"));
        assert_eq!(
            Piv::new(&mut card).write_certificate(Slot::Authentication, &der),
            Err(CardError::SecurityStatusNotSatisfied)
        );
    }
}
