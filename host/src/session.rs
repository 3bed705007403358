//! The card session of multi-step card management (INTERFACES.md "Card sessions"): at most one,
//! holding its card exclusively, ended by `session-close`, 60 s without a request, the card's
//! removal or the host's exit. Every end drops the [`ExclusiveCard`], which resets the card.

use crate::errors::HostError;
use carecard_card::{CardError, ExclusiveCard};
use carecard_protocol::{CertificateSlot, ErrorCode, KeyType, SessionId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A session unused for this long ends.
pub const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// `CARECARD_SESSION_IDLE_MS` may shorten the idle limit (tests do), never lengthen it.
const IDLE_ENV: &str = "CARECARD_SESSION_IDLE_MS";
/// How often the reaper looks for an idle session or a removed card.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// The open session's card and what the session has learnt about it.
#[derive(Debug)]
pub struct CardSession {
    pub id: SessionId,
    pub card: ExclusiveCard,
    /// SHA-256 of the CHUID (the journal's key); `None` until the card has a CHUID.
    pub card_id: Option<String>,
    /// Key types generated in this session, for proving possession before a certificate exists.
    pub generated: HashMap<CertificateSlot, KeyType>,
    last_used: Instant,
}

/// Why the last session ended, to answer a late request that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Closed,
    Idle,
    CardRemoved,
}

#[derive(Debug)]
struct State {
    idle_limit: Duration,
    current: Option<CardSession>,
    last_ended: Option<(SessionId, Ended)>,
}

impl State {
    fn end(&mut self, why: Ended) {
        if let Some(session) = self.current.take() {
            log::info!("card session {:?} ended: {why:?}", session.id);
            self.last_ended = Some((session.id.clone(), why));
            // Dropping the card disconnects with a reset.
        }
    }
}

/// The host's one session slot and the thread that ends it when idle or when the card goes.
#[derive(Debug)]
pub struct Sessions {
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    reaper: Option<JoinHandle<()>>,
}

impl Sessions {
    pub fn new() -> Sessions {
        let idle_limit = std::env::var(IDLE_ENV)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(IDLE_LIMIT, |ms| Duration::from_millis(ms).min(IDLE_LIMIT));
        Sessions {
            state: Arc::new(Mutex::new(State {
                idle_limit,
                current: None,
                last_ended: None,
            })),
            stop: Arc::default(),
            reaper: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves no half-updated invariant worth refusing over.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a session is open (a second one is refused).
    pub fn is_open(&self) -> bool {
        self.lock().current.is_some()
    }

    /// Starts a session on `card`; the caller checked that none is open.
    pub fn open(
        &mut self,
        card: ExclusiveCard,
        card_id: Option<String>,
    ) -> Result<SessionId, HostError> {
        let id = SessionId::from_random(random_bytes()?);
        {
            let mut state = self.lock();
            if state.current.is_some() {
                return Err(busy());
            }
            log::info!("card session {id:?} opened on {}", card.reader());
            state.current = Some(CardSession {
                id: id.clone(),
                card,
                card_id,
                generated: HashMap::new(),
                last_used: Instant::now(),
            });
        }
        self.start_reaper();
        Ok(id)
    }

    /// Runs `operation` on the session `id`. A card error that means the card went ends the
    /// session; any other outcome keeps it and restarts its idle clock.
    pub fn with<T>(
        &self,
        id: &SessionId,
        operation: impl FnOnce(&mut CardSession) -> Result<T, HostError>,
    ) -> Result<T, HostError> {
        let mut state = self.lock();
        let idle_limit = state.idle_limit;
        let current = match state.current.as_mut() {
            Some(session) if session.id == *id => session,
            _ => return Err(ended(&state, id)),
        };
        if current.last_used.elapsed() > idle_limit {
            state.end(Ended::Idle);
            return Err(ended(&state, id));
        }
        let outcome = operation(current);
        current.last_used = Instant::now();
        if let Err(HostError::Card(CardError::CardRemoved | CardError::NoCard)) = &outcome {
            state.end(Ended::CardRemoved);
        }
        outcome
    }

    pub fn close(&self, id: &SessionId) -> Result<(), HostError> {
        let mut state = self.lock();
        match &state.current {
            Some(session) if session.id == *id => {
                state.end(Ended::Closed);
                Ok(())
            }
            _ => Err(ended(&state, id)),
        }
    }

    fn start_reaper(&mut self) {
        if self.reaper.is_some() {
            return;
        }
        let state = Arc::clone(&self.state);
        let stop = Arc::clone(&self.stop);
        let spawned = std::thread::Builder::new()
            .name("card-session".into())
            .spawn(move || reap(&state, &stop));
        match spawned {
            Ok(handle) => self.reaper = Some(handle),
            // Without the thread the idle limit is still enforced at the next request.
            Err(e) => log::error!("cannot start the card-session timer: {e}"),
        }
    }
}

impl Drop for Sessions {
    /// Host exit: end the session (resetting the card) and stop the reaper.
    fn drop(&mut self) {
        self.lock().end(Ended::Closed);
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.reaper.take() {
            if handle.join().is_err() {
                log::error!("card-session timer panicked");
            }
        }
    }
}

fn reap(state: &Mutex<State>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(CHECK_EVERY);
        let mut state = state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let why = match &state.current {
            Some(s) if s.last_used.elapsed() > state.idle_limit => Some(Ended::Idle),
            Some(s) if !s.card.is_present() => Some(Ended::CardRemoved),
            _ => None,
        };
        if let Some(why) = why {
            state.end(why);
        }
    }
}

pub fn busy() -> HostError {
    HostError::wire(
        ErrorCode::CardBusy,
        "A card-management session is already open. Finish or cancel it first.",
    )
}

/// The error for a request naming a session that is not (or no longer) open.
fn ended(state: &State, id: &SessionId) -> HostError {
    match &state.last_ended {
        Some((last, Ended::CardRemoved)) if last == id => HostError::wire(
            ErrorCode::CardRemoved,
            "The card was removed, which ended the card-management session. Insert it and start again.",
        ),
        Some((last, Ended::Idle)) if last == id => HostError::wire(
            ErrorCode::Timeout,
            "The card-management session ended after a minute without activity. Start again.",
        ),
        _ => HostError::wire(
            ErrorCode::Timeout,
            "The card-management session has ended. Start again.",
        ),
    }
}

fn random_bytes() -> Result<[u8; 8], HostError> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).map_err(|e| {
        HostError::wire(
            ErrorCode::Internal,
            format!("no randomness for a session id: {e}"),
        )
    })?;
    Ok(bytes)
}
