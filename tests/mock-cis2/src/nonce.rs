//! Challenge nonces: 32 random bytes, base64, one per browser session, single use, 5 minute lifetime.
//!
//! The store is keyed by session ID, so a nonce is only ever looked up through the session that
//! asked for it: the server never reads the nonce from the token or the request. Time is passed in
//! (`now`) rather than read here, so expiry is testable and follows the server's clock.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::RngCore as _;

/// How long a challenge may be answered.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Random bytes in a nonce (DESIGN.md: at least 32).
pub const NONCE_BYTES: usize = 32;
/// Earlier nonces kept per session, only to explain a stale-challenge failure.
const HISTORY: usize = 4;

/// Why the session has no usable challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    #[error("this browser session was not given a challenge (or it was replaced); start the login again")]
    Unknown,
    #[error("the challenge has expired (challenges last 5 minutes); start the login again")]
    Expired,
    #[error("the challenge was already used; each login needs a new challenge")]
    Reused,
}

impl NonceError {
    /// A stable machine-readable code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unknown => "NONCE_UNKNOWN",
            Self::Expired => "NONCE_EXPIRED",
            Self::Reused => "NONCE_REUSED",
        }
    }
}

#[derive(Debug)]
struct Challenge {
    nonce: String,
    issued_at: SystemTime,
    used: bool,
}

#[derive(Debug, Default)]
struct SessionChallenges {
    current: Option<Challenge>,
    earlier: VecDeque<String>,
}

/// All sessions' challenges.
#[derive(Debug)]
pub struct NonceStore {
    lifetime: Duration,
    sessions: HashMap<String, SessionChallenges>,
}

impl Default for NonceStore {
    fn default() -> Self {
        Self::new(NONCE_LIFETIME)
    }
}

impl NonceStore {
    pub fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            sessions: HashMap::new(),
        }
    }

    /// Issues a fresh nonce for `session`, replacing any earlier one (which then can no longer be
    /// used).
    pub fn issue(&mut self, session: &str, now: SystemTime) -> String {
        let mut bytes = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let nonce = STANDARD.encode(bytes);
        let entry = self.sessions.entry(session.to_owned()).or_default();
        if let Some(old) = entry.current.take() {
            entry.earlier.push_front(old.nonce);
            entry.earlier.truncate(HISTORY);
        }
        entry.current = Some(Challenge {
            nonce: nonce.clone(),
            issued_at: now,
            used: false,
        });
        nonce
    }

    /// Takes `session`'s nonce for one login attempt. The nonce is spent whatever the outcome of
    /// the attempt, so a failed token cannot be retried against it.
    pub fn take(&mut self, session: &str, now: SystemTime) -> Result<String, NonceError> {
        let challenge = self
            .sessions
            .get_mut(session)
            .and_then(|s| s.current.as_mut())
            .ok_or(NonceError::Unknown)?;
        if challenge.used {
            return Err(NonceError::Reused);
        }
        challenge.used = true;
        // A clock that went backwards counts as "just issued" rather than failing the user.
        let age = now
            .duration_since(challenge.issued_at)
            .unwrap_or(Duration::ZERO);
        if age > self.lifetime {
            return Err(NonceError::Expired);
        }
        Ok(challenge.nonce.clone())
    }

    /// The session's nonces that can no longer be used (for error messages only).
    pub fn earlier(&self, session: &str) -> Vec<String> {
        self.sessions
            .get(session)
            .map(|s| s.earlier.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Drops everything about a session (logout, session ID rotation).
    pub fn forget(&mut self, session: &str) {
        self.sessions.remove(session);
    }

    /// Drops sessions whose newest challenge is long dead, so memory stays bounded.
    pub fn purge(&mut self, now: SystemTime) {
        let keep_for = self.lifetime * 2;
        self.sessions.retain(|_, s| {
            s.current.as_ref().is_some_and(|c| {
                now.duration_since(c.issued_at)
                    .map(|age| age <= keep_for)
                    .unwrap_or(true)
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
    }

    #[test]
    fn nonce_is_base64_of_32_random_bytes_and_fresh_each_time() {
        let mut store = NonceStore::default();
        let a = store.issue("s1", at(0));
        let b = store.issue("s1", at(0));
        assert_eq!(STANDARD.decode(&a).map(|v| v.len()).ok(), Some(NONCE_BYTES));
        assert_eq!(a.len(), 44);
        assert_ne!(a, b);
    }

    #[test]
    fn nonce_is_single_use() {
        let mut store = NonceStore::default();
        let nonce = store.issue("s1", at(0));
        assert_eq!(store.take("s1", at(1)), Ok(nonce));
        assert_eq!(store.take("s1", at(2)), Err(NonceError::Reused));
    }

    #[test]
    fn nonce_expires_after_five_minutes() {
        let mut store = NonceStore::default();
        let nonce = store.issue("s1", at(0));
        assert_eq!(store.take("s1", at(300)), Ok(nonce));
        store.issue("s1", at(1000));
        assert_eq!(store.take("s1", at(1301)), Err(NonceError::Expired));
        // An expired nonce is spent too.
        assert_eq!(store.take("s1", at(1302)), Err(NonceError::Reused));
    }

    #[test]
    fn nonce_is_bound_to_its_session() {
        let mut store = NonceStore::default();
        store.issue("alice", at(0));
        assert_eq!(store.take("mallory", at(1)), Err(NonceError::Unknown));
        assert!(store.take("alice", at(1)).is_ok());
    }

    #[test]
    fn a_new_challenge_replaces_the_old_one() {
        let mut store = NonceStore::default();
        let first = store.issue("s1", at(0));
        let second = store.issue("s1", at(1));
        assert_eq!(store.earlier("s1"), vec![first]);
        assert_eq!(store.take("s1", at(2)), Ok(second));
    }

    #[test]
    fn forget_and_purge_drop_sessions() {
        let mut store = NonceStore::default();
        store.issue("old", at(0));
        store.issue("new", at(1000));
        store.issue("gone", at(1000));
        store.forget("gone");
        store.purge(at(1001));
        assert_eq!(store.take("old", at(1001)), Err(NonceError::Unknown));
        assert_eq!(store.take("gone", at(1001)), Err(NonceError::Unknown));
        assert!(store.take("new", at(1001)).is_ok());
    }
}
