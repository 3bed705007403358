//! The PUK store and the self-unlock identity check.
//!
//! The service holds each card's PUK (as NHS does; the holder never learns it). A holder whose
//! PIN is blocked proves who they are (here: a one-time code, standing in for the real service's
//! check) and the service then releases the PUK of **that card only**, once, to the page, which
//! hands it to carecard's `unlock`. A new release needs a new check.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use zeroize::Zeroizing;

/// The PUK cards leave the factory with (and the virtual card's default).
pub const DEFAULT_PUK: &str = "12345678";
/// Wrong codes allowed per check.
const CODE_TRIES: u8 = 3;
/// How long a one-time code lasts.
const CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);

pub fn default_puk() -> Zeroizing<String> {
    Zeroizing::new(DEFAULT_PUK.to_owned())
}

/// Each card's PUK, by cardId.
#[derive(Default)]
pub struct PukStore {
    puks: HashMap<String, Zeroizing<String>>,
}

impl std::fmt::Debug for PukStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PukStore({} cards, ***)", self.puks.len())
    }
}

impl PukStore {
    /// The PUK of `card_id` (the factory default for a card the service has not changed).
    pub fn puk(&self, card_id: &str) -> Zeroizing<String> {
        self.puks.get(card_id).cloned().unwrap_or_else(default_puk)
    }

    /// Records a card's PUK.
    pub fn set(&mut self, card_id: &str, puk: &str) {
        self.puks
            .insert(card_id.to_owned(), Zeroizing::new(puk.to_owned()));
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("Start the identity check first.")]
    NoCheck,
    #[error("The code has expired; ask for a new one.")]
    Expired,
    #[error("That code is not right; {0} tries left.")]
    WrongCode(u8),
    #[error("Too many wrong codes; ask for a new one.")]
    TooManyTries,
    #[error("The unlock code was already given for this check; start again.")]
    AlreadyReleased,
}

impl CheckError {
    pub fn code(&self) -> &'static str {
        match self {
            CheckError::NoCheck => "NO_CHECK",
            CheckError::Expired => "CODE_EXPIRED",
            CheckError::WrongCode(_) => "WRONG_CODE",
            CheckError::TooManyTries => "TOO_MANY_TRIES",
            CheckError::AlreadyReleased => "ALREADY_RELEASED",
        }
    }

    pub fn tries_left(&self) -> Option<u8> {
        match self {
            CheckError::WrongCode(n) => Some(*n),
            _ => None,
        }
    }
}

struct Check {
    card_id: String,
    user_id: String,
    code: Zeroizing<String>,
    tries_left: u8,
    started: SystemTime,
    released: bool,
}

/// Identity checks under way, one per browser session.
#[derive(Default)]
pub struct IdentityChecks {
    checks: HashMap<String, Check>,
}

impl std::fmt::Debug for IdentityChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdentityChecks({})", self.checks.len())
    }
}

impl IdentityChecks {
    /// Starts a check for the holder `user_id` of card `card_id`; returns the one-time code
    /// (which the real service would send to the holder's phone).
    pub fn start(
        &mut self,
        session: &str,
        card_id: &str,
        user_id: &str,
        now: SystemTime,
    ) -> String {
        let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
        self.checks.insert(
            session.to_owned(),
            Check {
                card_id: card_id.to_owned(),
                user_id: user_id.to_owned(),
                code: Zeroizing::new(code.clone()),
                tries_left: CODE_TRIES,
                started: now,
                released: false,
            },
        );
        code
    }

    /// Checks the code; on success returns the one card whose PUK may be released now.
    pub fn verify(
        &mut self,
        session: &str,
        code: &str,
        now: SystemTime,
    ) -> Result<String, CheckError> {
        let check = self.checks.get_mut(session).ok_or(CheckError::NoCheck)?;
        if now
            .duration_since(check.started)
            .is_ok_and(|age| age > CODE_LIFETIME)
        {
            self.checks.remove(session);
            return Err(CheckError::Expired);
        }
        if check.released {
            return Err(CheckError::AlreadyReleased);
        }
        if code.as_bytes() != check.code.as_bytes() {
            check.tries_left = check.tries_left.saturating_sub(1);
            if check.tries_left == 0 {
                self.checks.remove(session);
                return Err(CheckError::TooManyTries);
            }
            return Err(CheckError::WrongCode(check.tries_left));
        }
        check.released = true;
        log::debug!("identity check passed for {}", check.user_id);
        Ok(check.card_id.clone())
    }

    pub fn end(&mut self, session: &str) {
        self.checks.remove(session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = "aa";
    const OTHER: &str = "bb";

    #[test]
    fn the_puk_is_per_card_with_the_factory_default() {
        let mut store = PukStore::default();
        assert_eq!(store.puk(CARD).as_str(), DEFAULT_PUK);
        store.set(OTHER, "87654321");
        assert_eq!(store.puk(OTHER).as_str(), "87654321");
        assert_eq!(store.puk(CARD).as_str(), DEFAULT_PUK);
        assert!(!format!("{store:?}").contains("8765"), "never in logs");
    }

    #[test]
    fn a_puk_is_released_once_for_the_checked_card_only_after_the_right_code() {
        let now = SystemTime::now();
        let mut checks = IdentityChecks::default();
        assert_eq!(checks.verify("s", "000000", now), Err(CheckError::NoCheck));
        let code = checks.start("s", CARD, "555000000001", now);
        assert_eq!(code.len(), 6);
        // Another browser session has no check of its own: the code is no use there.
        assert_eq!(checks.verify("t", &code, now), Err(CheckError::NoCheck));
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert_eq!(
            checks.verify("s", wrong, now),
            Err(CheckError::WrongCode(2))
        );
        assert_eq!(checks.verify("s", &code, now), Ok(CARD.to_owned()));
        assert_eq!(
            checks.verify("s", &code, now),
            Err(CheckError::AlreadyReleased)
        );
    }

    #[test]
    fn too_many_wrong_codes_or_a_late_code_end_the_check() {
        let now = SystemTime::now();
        let mut checks = IdentityChecks::default();
        let code = checks.start("s", CARD, "555000000001", now);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert_eq!(
            checks.verify("s", wrong, now),
            Err(CheckError::WrongCode(2))
        );
        assert_eq!(
            checks.verify("s", wrong, now),
            Err(CheckError::WrongCode(1))
        );
        assert_eq!(
            checks.verify("s", wrong, now),
            Err(CheckError::TooManyTries)
        );
        assert_eq!(checks.verify("s", &code, now), Err(CheckError::NoCheck));
        let code = checks.start("s", CARD, "555000000001", now);
        assert_eq!(
            checks.verify("s", &code, now + CODE_LIFETIME + Duration::from_secs(1)),
            Err(CheckError::Expired)
        );
    }
}
