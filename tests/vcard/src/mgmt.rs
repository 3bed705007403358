//! The card management key (9B): one-block encryption for the witness/challenge exchanges of
//! SP 800-73-4 GENERAL AUTHENTICATE (external and mutual authentication).

use aes::cipher::{BlockEncrypt, KeyInit};
use zeroize::Zeroizing;

/// The block size of a management key algorithm, or `None` if the algorithm is unknown.
pub fn block_size(algorithm: u8) -> Option<usize> {
    match algorithm {
        0x03 => Some(8),
        0x08 | 0x0A | 0x0C => Some(16),
        _ => None,
    }
}

/// Encrypts one block with the management key (ECB, one block: what PIV's cryptograms are).
/// `None` if the key or the block does not fit the algorithm.
pub fn encrypt_block(algorithm: u8, key: &[u8], block: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if Some(block.len()) != block_size(algorithm) {
        return None;
    }
    let mut out = Zeroizing::new(block.to_vec());
    match algorithm {
        0x03 => encrypt_with::<des::TdesEde3>(key, &mut out)?,
        0x08 => encrypt_with::<aes::Aes128>(key, &mut out)?,
        0x0A => encrypt_with::<aes::Aes192>(key, &mut out)?,
        0x0C => encrypt_with::<aes::Aes256>(key, &mut out)?,
        _ => return None,
    }
    Some(out)
}

// cipher 0.4 takes generic-array 0.14 blocks, whose latest patch marks its own API deprecated
// in favour of 1.x, which cipher 0.4 cannot take.
#[allow(deprecated)]
fn encrypt_with<C: KeyInit + BlockEncrypt>(key: &[u8], block: &mut [u8]) -> Option<()> {
    let cipher = C::new_from_slice(key).ok()?;
    cipher.encrypt_block(aes::cipher::generic_array::GenericArray::from_mut_slice(
        block,
    ));
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // FIPS 197 appendix C.1 (AES-128).
        let key: Vec<u8> = (0u8..16).collect();
        let plain = [
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD,
            0xEE, 0xFF,
        ];
        let expected = [
            0x69, 0xC4, 0xE0, 0xD8, 0x6A, 0x7B, 0x04, 0x30, 0xD8, 0xCD, 0xB7, 0x80, 0x70, 0xB4,
            0xC5, 0x5A,
        ];
        assert_eq!(
            encrypt_block(0x08, &key, &plain)
                .as_deref()
                .map(Vec::as_slice),
            Some(&expected[..])
        );
        // 3DES with K1 = K2 = K3 is single DES: FIPS 81 / classic test vector.
        let key = [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF].repeat(3);
        let plain = *b"Now is t";
        let expected = [0x3F, 0xA4, 0x0E, 0x8A, 0x98, 0x4D, 0x48, 0x15];
        assert_eq!(
            encrypt_block(0x03, &key, &plain)
                .as_deref()
                .map(Vec::as_slice),
            Some(&expected[..])
        );
        assert!(encrypt_block(0x03, &key, &[0; 16]).is_none());
        assert!(
            encrypt_block(0x08, &key, &[0; 16]).is_none(),
            "24-byte key for AES-128"
        );
    }
}
