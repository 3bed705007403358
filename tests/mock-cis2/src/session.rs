//! Browser sessions: a random ID in an HttpOnly, SameSite=Strict cookie, and who is logged in.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "mock_cis2_session";
/// Sessions unused for this long are dropped.
const IDLE_LIMIT: Duration = Duration::from_secs(8 * 3600);
/// A bound on stored sessions: anyone can create one, so memory must not grow without limit.
const MAX_SESSIONS: usize = 10_000;

/// The person a session is logged in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    pub name: String,
    pub user_id: String,
}

#[derive(Debug)]
struct Session {
    last_seen: SystemTime,
    user: Option<LoggedIn>,
}

#[derive(Debug, Default)]
pub struct SessionStore {
    sessions: HashMap<String, Session>,
}

impl SessionStore {
    /// The session named by the request's cookie, if it exists; refreshes its idle timer.
    pub fn find(&mut self, cookie_header: Option<&str>, now: SystemTime) -> Option<String> {
        let id = cookie_value(cookie_header?, COOKIE_NAME)?;
        let session = self.sessions.get_mut(id)?;
        session.last_seen = now;
        Some(id.to_owned())
    }

    /// Starts a new, anonymous session and returns its ID.
    pub fn create(&mut self, now: SystemTime) -> String {
        self.purge(now);
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let id = URL_SAFE_NO_PAD.encode(bytes);
        self.sessions.insert(
            id.clone(),
            Session {
                last_seen: now,
                user: None,
            },
        );
        id
    }

    /// Logs `user` in under a new session ID and drops the old session, so an ID that existed
    /// before login (and might have been planted) never becomes a logged-in one.
    pub fn log_in(&mut self, old_id: &str, user: LoggedIn, now: SystemTime) -> String {
        self.sessions.remove(old_id);
        let id = self.create(now);
        if let Some(session) = self.sessions.get_mut(&id) {
            session.user = Some(user);
        }
        id
    }

    pub fn user(&self, id: &str) -> Option<&LoggedIn> {
        self.sessions.get(id)?.user.as_ref()
    }

    pub fn log_out(&mut self, id: &str) {
        if let Some(session) = self.sessions.get_mut(id) {
            session.user = None;
        }
    }

    fn purge(&mut self, now: SystemTime) {
        let idle = |s: &Session| {
            now.duration_since(s.last_seen)
                .is_ok_and(|age| age > IDLE_LIMIT)
        };
        self.sessions.retain(|_, s| !idle(s));
        if self.sessions.len() >= MAX_SESSIONS {
            // Still full of live sessions: drop the anonymous ones first.
            self.sessions.retain(|_, s| s.user.is_some());
        }
    }
}

/// `Set-Cookie` value for a session. `secure` when the site is served over https.
pub fn set_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE_NAME}={id}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// The value of cookie `name` in a `Cookie:` header.
fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_header_parsing() {
        let header = "a=1; mock_cis2_session=abc; b=2";
        assert_eq!(cookie_value(header, COOKIE_NAME), Some("abc"));
        assert_eq!(cookie_value("mock_cis2_sessionx=abc", COOKIE_NAME), None);
    }

    #[test]
    fn login_rotates_the_session_id() {
        let now = SystemTime::now();
        let mut store = SessionStore::default();
        let anonymous = store.create(now);
        let user = LoggedIn {
            name: "Alice".into(),
            user_id: "555012345678".into(),
        };
        let logged_in = store.log_in(&anonymous, user.clone(), now);
        assert_ne!(anonymous, logged_in);
        assert_eq!(
            store.find(Some(&format!("{COOKIE_NAME}={anonymous}")), now),
            None
        );
        assert_eq!(store.user(&logged_in), Some(&user));
        store.log_out(&logged_in);
        assert_eq!(store.user(&logged_in), None);
    }

    #[test]
    fn idle_sessions_are_dropped() {
        let start = SystemTime::now();
        let mut store = SessionStore::default();
        let old = store.create(start);
        store.create(start + IDLE_LIMIT + Duration::from_secs(1));
        assert_eq!(
            store.find(Some(&format!("{COOKIE_NAME}={old}")), start),
            None
        );
    }
}
