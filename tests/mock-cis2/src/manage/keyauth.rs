//! The server's half of SP 800-73-4 mutual authentication with the card management key (9B),
//! relayed through the page and the host. The key stays here: the page only carries the `7C`
//! templates this module builds and the card's answers.
//!
//! 1. [`MutualAuth::begin`] → template `80 00` ("give me a witness").
//! 2. the card answers `80 <E(witness)>`; [`MutualAuth::answer_witness`] decrypts it and builds
//!    `80 <witness> 81 <our challenge> 82 00`.
//! 3. the card answers `82 <E(challenge)>`; [`MutualAuth::check_response`] checks it: the card
//!    knows the key (and the card checked that we do, or it would have refused step 2).

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use zeroize::Zeroizing;

/// The default (factory / test) 3DES management key of the virtual card and of many PIV cards.
pub const DEFAULT_3DES_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

/// A management key held by the service.
#[derive(Clone, PartialEq, Eq)]
pub struct ManagementKey {
    /// `"3DES"`, `"AES128"`, `"AES192"` or `"AES256"` (the relay's names).
    pub algorithm: &'static str,
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for ManagementKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ManagementKey({}, ***)", self.algorithm)
    }
}

impl ManagementKey {
    pub fn default_3des() -> ManagementKey {
        ManagementKey {
            algorithm: "3DES",
            key: Zeroizing::new(DEFAULT_3DES_KEY.to_vec()),
        }
    }

    pub fn new(algorithm: &str, key: &[u8]) -> Option<ManagementKey> {
        let (name, len) = match algorithm {
            "3DES" => ("3DES", 24),
            "AES128" => ("AES128", 16),
            "AES192" => ("AES192", 24),
            "AES256" => ("AES256", 32),
            _ => return None,
        };
        (key.len() == len).then(|| ManagementKey {
            algorithm: name,
            key: Zeroizing::new(key.to_vec()),
        })
    }

    fn block_size(&self) -> usize {
        if self.algorithm == "3DES" {
            8
        } else {
            16
        }
    }

    fn crypt(&self, block: &[u8], encrypt: bool) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(block.to_vec());
        match self.algorithm {
            "3DES" => run::<des::TdesEde3>(&self.key, &mut out, encrypt),
            "AES128" => run::<aes::Aes128>(&self.key, &mut out, encrypt),
            "AES192" => run::<aes::Aes192>(&self.key, &mut out, encrypt),
            _ => run::<aes::Aes256>(&self.key, &mut out, encrypt),
        }
        out
    }
}

// cipher 0.4 takes generic-array 0.14 blocks, whose latest patch deprecates its own API.
#[allow(deprecated)]
fn run<C: KeyInit + BlockEncrypt + BlockDecrypt>(key: &[u8], block: &mut [u8], encrypt: bool) {
    let Ok(cipher) = C::new_from_slice(key) else {
        return;
    };
    let b = aes::cipher::generic_array::GenericArray::from_mut_slice(block);
    if encrypt {
        cipher.encrypt_block(b);
    } else {
        cipher.decrypt_block(b);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyAuthError {
    #[error("the card's answer is not the expected {0}")]
    Malformed(&'static str),
    #[error("the card did not prove it holds the management key this service has for it")]
    WrongKey,
    #[error("the management key authentication was not run in order")]
    OutOfOrder,
}

/// One run of mutual authentication.
#[derive(Debug)]
pub struct MutualAuth {
    key: ManagementKey,
    challenge: Option<Zeroizing<Vec<u8>>>,
}

impl MutualAuth {
    /// Starts a run; returns it with the first template (`80 00`).
    pub fn begin(key: ManagementKey) -> (MutualAuth, Vec<u8>) {
        (
            MutualAuth {
                key,
                challenge: None,
            },
            vec![0x80, 0x00],
        )
    }

    /// The card's `80 <E(witness)>` → our `80 <witness> 81 <challenge> 82 00`.
    pub fn answer_witness(&mut self, card: &[u8]) -> Result<Vec<u8>, KeyAuthError> {
        if self.challenge.is_some() {
            return Err(KeyAuthError::OutOfOrder);
        }
        let block = self.key.block_size();
        let encrypted = find(card, 0x80)
            .filter(|w| w.len() == block)
            .ok_or(KeyAuthError::Malformed("witness (80)"))?;
        let witness = self.key.crypt(encrypted, false);
        let challenge: Vec<u8> = (0..block).map(|_| rand::random::<u8>()).collect();
        let mut template = Vec::with_capacity(4 + 2 * block + 2);
        template.extend([0x80, block as u8]);
        template.extend_from_slice(&witness);
        template.extend([0x81, block as u8]);
        template.extend_from_slice(&challenge);
        template.extend([0x82, 0x00]);
        self.challenge = Some(Zeroizing::new(challenge));
        Ok(template)
    }

    /// The card's `82 <E(challenge)>`: `Ok` when it proves the key.
    pub fn check_response(self, card: &[u8]) -> Result<(), KeyAuthError> {
        let challenge = self.challenge.as_ref().ok_or(KeyAuthError::OutOfOrder)?;
        let response = find(card, 0x82).ok_or(KeyAuthError::Malformed("response (82)"))?;
        let expected = self.key.crypt(challenge, true);
        if response.len() == expected.len()
            && response
                .iter()
                .zip(expected.iter())
                .fold(0u8, |d, (a, b)| d | (a ^ b))
                == 0
        {
            Ok(())
        } else {
            Err(KeyAuthError::WrongKey)
        }
    }
}

/// The value of the first one-byte-tag, short-length TLV `tag` in `data`.
fn find(data: &[u8], tag: u8) -> Option<&[u8]> {
    let mut rest = data;
    while rest.len() >= 2 {
        let (t, len) = (rest[0], usize::from(rest[1]));
        if len > 0x7F || rest.len() < 2 + len {
            return None;
        }
        if t == tag {
            return Some(&rest[2..2 + len]);
        }
        rest = &rest[2 + len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The card's half (as the virtual card does it), for the tests.
    struct Card {
        key: ManagementKey,
        witness: Vec<u8>,
    }

    impl Card {
        fn witness(&mut self) -> Vec<u8> {
            self.witness = vec![0x42; self.key.block_size()];
            let mut out = vec![0x80, self.witness.len() as u8];
            out.extend_from_slice(&self.key.crypt(&self.witness, true));
            out
        }

        fn respond(&self, template: &[u8]) -> Option<Vec<u8>> {
            if find(template, 0x80)? != self.witness.as_slice() {
                return None;
            }
            let challenge = find(template, 0x81)?;
            let mut out = vec![0x82, challenge.len() as u8];
            out.extend_from_slice(&self.key.crypt(challenge, true));
            Some(out)
        }
    }

    fn run_with(server: ManagementKey, card: ManagementKey) -> Result<(), KeyAuthError> {
        let mut card = Card {
            key: card,
            witness: Vec::new(),
        };
        let (mut auth, first) = MutualAuth::begin(server);
        assert_eq!(first, [0x80, 0x00]);
        let second = auth.answer_witness(&card.witness())?;
        assert!(
            second.ends_with(&[0x82, 0x00]),
            "asks the card for its response"
        );
        // A card with another key finds the witness wrong and refuses (6982): no response.
        match card.respond(&second) {
            Some(answer) => auth.check_response(&answer),
            None => Err(KeyAuthError::WrongKey),
        }
    }

    #[test]
    fn mutual_authentication_with_the_default_3des_key_and_with_aes() {
        run_with(ManagementKey::default_3des(), ManagementKey::default_3des()).expect("3DES");
        let aes = ManagementKey::new("AES128", &[9; 16]).expect("key");
        run_with(aes.clone(), aes).expect("AES-128");
        let aes256 = ManagementKey::new("AES256", &[7; 32]).expect("key");
        run_with(aes256.clone(), aes256).expect("AES-256");
    }

    #[test]
    fn a_card_with_another_key_or_a_forged_answer_fails() {
        let other = ManagementKey::new("3DES", &[0x11; 24]).expect("key");
        assert_eq!(
            run_with(ManagementKey::default_3des(), other),
            Err(KeyAuthError::WrongKey)
        );
        // A relay that answers the challenge itself (without the key) is caught.
        let (mut auth, _) = MutualAuth::begin(ManagementKey::default_3des());
        let second = auth
            .answer_witness(&[0x80, 8, 1, 2, 3, 4, 5, 6, 7, 8])
            .expect("template");
        let echoed = [vec![0x82, 8], find(&second, 0x81).expect("81").to_vec()].concat();
        assert_eq!(auth.check_response(&echoed), Err(KeyAuthError::WrongKey));
        // Shapes.
        let (mut auth, _) = MutualAuth::begin(ManagementKey::default_3des());
        assert_eq!(
            auth.answer_witness(&[0x80, 4, 1, 2, 3, 4]),
            Err(KeyAuthError::Malformed("witness (80)"))
        );
        assert!(ManagementKey::new("3DES", &[1; 16]).is_none());
        assert!(ManagementKey::new("DES", &[1; 8]).is_none());
        assert_eq!(
            format!("{:?}", ManagementKey::default_3des()),
            "ManagementKey(3DES, ***)"
        );
    }
}
