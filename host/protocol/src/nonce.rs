//! The server's challenge nonce (DESIGN.md: base64 of at least 32 random bytes, 44–128 chars).

use crate::validation::ValidationError;

pub const MIN_NONCE_LEN: usize = 44;
pub const MAX_NONCE_LEN: usize = 128;

/// Accepts standard or URL-safe base64 (padding optional, only at the end).
pub fn validate_challenge_nonce(nonce: &str) -> Result<(), ValidationError> {
    if nonce.len() < MIN_NONCE_LEN {
        return Err(ValidationError::Nonce("is shorter than 44 characters"));
    }
    if nonce.len() > MAX_NONCE_LEN {
        return Err(ValidationError::Nonce("is longer than 128 characters"));
    }
    let body = nonce.trim_end_matches('=');
    if nonce.len() - body.len() > 2 {
        return Err(ValidationError::Nonce("has too much padding"));
    }
    let alphabet_ok = body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'));
    if alphabet_ok {
        Ok(())
    } else {
        Err(ValidationError::Nonce("is not base64"))
    }
}
