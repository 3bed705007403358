//! The HTTP site. [`App`] turns one [`HttpRequest`] into one [`Reply`] (no sockets, so the
//! routes are easy to follow); [`MockCis2`] serves it with tiny_http, one request at a time.

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

use serde_json::{json, Value};

use crate::manage::ca::Ca;
use crate::manage::Manage;
use crate::nonce::NonceStore;
use crate::session::{self, LoggedIn, SessionStore};
use crate::verify::{self, Expected, TrustAnchor, UnverifiedToken, VerifyError};

/// The largest request body accepted (a token with an RSA-4096 certificate is ~4 KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// The same policy for every page: scripts only from this origin, nothing inline.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const LOGIN_HTML: &str = include_str!("../static/login.html");
const HOME_HTML: &str = include_str!("../static/home.html");
const LOGIN_JS: &str = include_str!("../static/login.js");
const HOME_JS: &str = include_str!("../static/home.js");
const STYLE_CSS: &str = include_str!("../static/style.css");

/// The card-management pages (`/manage/...`) and their scripts.
const MANAGE_PAGES: &[(&str, &str)] = &[
    ("/manage/", include_str!("../static/manage/mycard.html")),
    (
        "/manage/unlock",
        include_str!("../static/manage/unlock.html"),
    ),
    (
        "/manage/ra/issue",
        include_str!("../static/manage/ra-issue.html"),
    ),
    (
        "/manage/ra/repair",
        include_str!("../static/manage/ra-repair.html"),
    ),
    ("/manage/sign", include_str!("../static/manage/sign.html")),
];
const MANAGE_SCRIPTS: &[(&str, &str)] = &[
    (
        "/manage/common.js",
        include_str!("../static/manage/common.js"),
    ),
    (
        "/manage/mycard.js",
        include_str!("../static/manage/mycard.js"),
    ),
    (
        "/manage/unlock.js",
        include_str!("../static/manage/unlock.js"),
    ),
    ("/manage/ra.js", include_str!("../static/manage/ra.js")),
    ("/manage/sign.js", include_str!("../static/manage/sign.js")),
];

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("the CA certificate cannot be used: {0}")]
    TrustAnchor(#[from] VerifyError),
    #[error("origin {0:?} must be http(s)://host[:port] with no path")]
    Origin(String),
    #[error("card management cannot start: {0}")]
    Manage(#[from] crate::manage::ca::CaError),
    #[error("cannot listen on {address}: {reason}")]
    Bind { address: String, reason: String },
}

/// How the site is set up.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The test CA (DER) whose certificates may log in.
    pub ca_der: Vec<u8>,
    /// `extension/page/carecard.js`, served as `/carecard.js` (read per request, so edits show).
    pub carecard_js: Option<PathBuf>,
    /// The public origin tokens must be signed for; default `http://localhost:<port>`.
    pub origin: Option<String>,
    /// The test CA's private key (PKCS#8 DER, `ca.key` beside `ca.der`): with it the site also
    /// serves card management under `/manage` and issues certificates under the same CA.
    pub ca_key: Option<Vec<u8>>,
    /// Test-only API (`/manage/api/test/...`), e.g. to make the service's PUK record wrong.
    pub test_hooks: bool,
}

/// One request, reduced to what the routes look at.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    pub cookie: Option<String>,
    /// The browser's `Origin` header, when it sent one.
    pub origin: Option<String>,
    pub body: Vec<u8>,
}

/// One response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            content_type,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    fn json(status: u16, value: &Value) -> Self {
        Self::new(status, "application/json", value.to_string())
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(status, &json!({ "error": code, "message": message }))
    }

    fn api(reply: crate::manage::ApiReply) -> Self {
        Self::json(reply.status, &reply.body)
    }

    fn redirect(location: &str) -> Self {
        Self::new(303, "text/plain; charset=utf-8", "").with_header("Location", location.to_owned())
    }

    fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// The site's state and routes.
#[derive(Debug)]
pub struct App {
    origin: String,
    anchor: TrustAnchor,
    carecard_js: Option<PathBuf>,
    sessions: SessionStore,
    nonces: NonceStore,
    manage: Option<Manage>,
}

impl App {
    pub fn new(origin: String, anchor: TrustAnchor, carecard_js: Option<PathBuf>) -> Self {
        Self {
            origin,
            anchor,
            carecard_js,
            sessions: SessionStore::default(),
            nonces: NonceStore::default(),
            manage: None,
        }
    }

    /// Also serves card management (`/manage`), issuing certificates with `ca`.
    pub fn with_manage(mut self, ca: Ca, test_hooks: bool) -> Self {
        self.manage = Some(Manage::new(ca, self.anchor.clone(), test_hooks));
        self
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Routes one request; `now` is the server clock.
    pub fn handle(&mut self, request: &HttpRequest, now: SystemTime) -> Reply {
        // Requests that change state must come from our own pages (SameSite=Strict already keeps
        // the cookie off cross-site requests; this also catches a page opened under another name).
        if request.method == "POST" {
            if let Some(origin) = request.origin.as_deref().filter(|o| *o != self.origin) {
                return Reply::error(
                    403,
                    "WRONG_ORIGIN",
                    &format!(
                        "This site is {}, but the request came from {origin}. Open the site as {}.",
                        self.origin, self.origin
                    ),
                );
            }
        }
        let session = self.sessions.find(request.cookie.as_deref(), now);
        if request.path == "/manage" || request.path.starts_with("/manage/") {
            return self.manage_route(request, session, now);
        }
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/") => self.with_session(session, now, |_, _| {
                Reply::new(200, "text/html; charset=utf-8", LOGIN_HTML)
            }),
            ("GET", "/login.js") => Reply::new(200, "text/javascript; charset=utf-8", LOGIN_JS),
            ("GET", "/home.js") => Reply::new(200, "text/javascript; charset=utf-8", HOME_JS),
            ("GET", "/style.css") => Reply::new(200, "text/css; charset=utf-8", STYLE_CSS),
            ("GET", "/carecard.js") => self.carecard_js(),
            ("GET", "/healthz") => Reply::new(200, "text/plain; charset=utf-8", "ok\n"),
            // No icon; answering keeps a 404 out of every page's console.
            ("GET", "/favicon.ico") => Reply::new(204, "image/x-icon", Vec::new()),
            ("GET", "/home") => self.home(session.as_deref()),
            ("POST", "/api/challenge") => self.with_session(session, now, |app, id| {
                let nonce = app.nonces.issue(id, now);
                Reply::json(200, &json!({ "nonce": nonce }))
            }),
            ("POST", "/api/login") => self.login(session.as_deref(), &request.body, now),
            ("POST", "/api/logout") => {
                if let Some(id) = session {
                    self.sessions.log_out(&id);
                    self.nonces.forget(&id);
                }
                Reply::json(200, &json!({}))
            }
            (
                _,
                "/" | "/login.js" | "/home.js" | "/style.css" | "/carecard.js" | "/healthz"
                | "/home",
            )
            | (_, "/api/challenge" | "/api/login" | "/api/logout") => Reply::error(
                405,
                "METHOD_NOT_ALLOWED",
                "That method is not allowed here.",
            ),
            _ => Reply::error(404, "NOT_FOUND", "There is no such page."),
        }
    }

    /// Runs `route` with the request's session, creating one (and setting its cookie) if needed.
    fn with_session(
        &mut self,
        session: Option<String>,
        now: SystemTime,
        route: impl FnOnce(&mut Self, &str) -> Reply,
    ) -> Reply {
        match session {
            Some(id) => route(self, &id),
            None => {
                self.nonces.purge(now);
                let id = self.sessions.create(now);
                let reply = route(self, &id);
                reply.with_header("Set-Cookie", session::set_cookie(&id, self.secure()))
            }
        }
    }

    fn secure(&self) -> bool {
        self.origin.starts_with("https://")
    }

    fn carecard_js(&self) -> Reply {
        let Some(path) = &self.carecard_js else {
            return Reply::new(
                404,
                "text/plain; charset=utf-8",
                "mock-cis2 was started without --carecard-js\n",
            );
        };
        match std::fs::read(path) {
            Ok(bytes) => Reply::new(200, "text/javascript; charset=utf-8", bytes),
            Err(e) => {
                log::warn!("cannot read {}: {e}", path.display());
                Reply::new(
                    404,
                    "text/plain; charset=utf-8",
                    "carecard.js cannot be read\n",
                )
            }
        }
    }

    /// Card management: pages, scripts and the JSON API under `/manage`.
    fn manage_route(
        &mut self,
        request: &HttpRequest,
        session: Option<String>,
        now: SystemTime,
    ) -> Reply {
        if self.manage.is_none() {
            return Reply::error(
                404,
                "NOT_FOUND",
                "Card management is off: start mock-cis2 with --ca-key.",
            );
        }
        let path = if request.path == "/manage" {
            "/manage/"
        } else {
            request.path.as_str()
        };
        if let Some(api) = path.strip_prefix("/manage/api/") {
            if request.method != "POST" {
                return Reply::error(
                    405,
                    "METHOD_NOT_ALLOWED",
                    "That method is not allowed here.",
                );
            }
            let body: Value = if request.body.is_empty() {
                json!({})
            } else {
                match serde_json::from_slice(&request.body) {
                    Ok(body) => body,
                    Err(_) => return Reply::error(400, "BAD_REQUEST", "The body must be JSON."),
                }
            };
            let api = api.to_owned();
            return self.with_session(session, now, |app, id| {
                let user = app.sessions.user(id).cloned();
                let manage = app.manage.as_mut().expect("checked above");
                Reply::api(manage.api(&api, &body, id, user.as_ref(), now))
            });
        }
        if request.method != "GET" {
            return Reply::error(
                405,
                "METHOD_NOT_ALLOWED",
                "That method is not allowed here.",
            );
        }
        if let Some((_, script)) = MANAGE_SCRIPTS.iter().find(|(p, _)| *p == path) {
            return Reply::new(200, "text/javascript; charset=utf-8", *script);
        }
        let Some((_, page)) = MANAGE_PAGES.iter().find(|(p, _)| *p == path) else {
            return Reply::error(404, "NOT_FOUND", "There is no such page.");
        };
        let logged_in = session
            .as_deref()
            .and_then(|id| self.sessions.user(id))
            .is_some();
        // Self-unlock is for a holder who cannot log in (the PIN is blocked); the rest needs a login.
        if path != "/manage/unlock" && !logged_in {
            return Reply::redirect(&format!("/?next={path}"));
        }
        self.with_session(session, now, |_, _| {
            Reply::new(200, "text/html; charset=utf-8", *page)
        })
    }

    fn home(&self, session: Option<&str>) -> Reply {
        match session.and_then(|id| self.sessions.user(id)) {
            Some(user) if self.must_change_pin(&user.user_id) => {
                Reply::redirect("/manage/?first-login=1")
            }
            Some(user) => {
                let page = HOME_HTML
                    .replace("{{name}}", &html_escape(&user.name))
                    .replace("{{user_id}}", &html_escape(&user.user_id));
                Reply::new(200, "text/html; charset=utf-8", page)
            }
            None => Reply::redirect("/"),
        }
    }

    fn login(&mut self, session: Option<&str>, body: &[u8], now: SystemTime) -> Reply {
        let Some(session) = session else {
            return login_failure(
                crate::nonce::NonceError::Unknown.code(),
                &crate::nonce::NonceError::Unknown.to_string(),
            );
        };
        let token = match serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|mut v| v.get_mut("authToken").map(Value::take))
        {
            Some(value) => UnverifiedToken::from_json(&value),
            None => Err(VerifyError::MalformedToken(
                "the body must be {\"authToken\": {...}}".into(),
            )),
        };
        let token = match token {
            Ok(token) => token,
            Err(e) => return login_failure(e.code(), &e.to_string()),
        };
        // The nonce comes from this session, and is spent by this attempt whatever its outcome.
        let nonce = match self.nonces.take(session, now) {
            Ok(nonce) => nonce,
            Err(e) => return login_failure(e.code(), &e.to_string()),
        };
        let earlier = self.nonces.earlier(session);
        let expected = Expected {
            origin: &self.origin,
            nonce: &nonce,
            earlier_nonces: &earlier,
        };
        match verify::verify_token(&token, &expected, &self.anchor, now) {
            Ok(user) => {
                let name = display_name(&user.summary);
                log::info!("login: {name} ({})", user.user_id);
                let logged_in = LoggedIn {
                    name: name.clone(),
                    user_id: user.user_id.clone(),
                };
                self.nonces.forget(session);
                let id = self.sessions.log_in(session, logged_in, now);
                // A card an RA issued or repaired: the holder sets their own PIN before anything else.
                let must_change_pin = self.must_change_pin(&user.user_id);
                let redirect = if must_change_pin {
                    "/manage/?first-login=1"
                } else {
                    "/home"
                };
                Reply::json(
                    200,
                    &json!({ "redirect": redirect, "name": name, "userId": user.user_id, "mustChangePin": must_change_pin }),
                )
                .with_header("Set-Cookie", session::set_cookie(&id, self.secure()))
            }
            Err(e) => login_failure(e.code(), &e.to_string()),
        }
    }
}

impl App {
    fn must_change_pin(&self, user_id: &str) -> bool {
        self.manage
            .as_ref()
            .is_some_and(|m| m.must_change_pin(user_id))
    }
}

fn login_failure(code: &str, message: &str) -> Reply {
    log::info!("login refused: {code}: {message}");
    Reply::error(401, code, message)
}

/// "Given Surname" when the subject has both, else the common name.
fn display_name(summary: &carecard_protocol::CertificateSummary) -> String {
    match (&summary.given_name, &summary.surname) {
        (Some(given), Some(surname)) => format!("{given} {surname}"),
        _ => summary.common_name.clone(),
    }
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `http(s)://host[:port]`, nothing else.
fn check_origin(origin: &str) -> Result<(), ServerError> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match rest {
        Some(authority) if !authority.is_empty() && !authority.contains(['/', '?', '#', '@']) => {
            Ok(())
        }
        _ => Err(ServerError::Origin(origin.to_owned())),
    }
}

// ---------------------------------------------------------------------------------------------
// tiny_http glue.

/// A bound, not yet running site.
pub struct MockCis2 {
    server: Arc<tiny_http::Server>,
    address: SocketAddr,
    app: App,
}

impl MockCis2 {
    /// Binds `listen` (e.g. `127.0.0.1:8443`, or port 0 for any free port).
    pub fn bind(listen: &str, config: Config) -> Result<Self, ServerError> {
        let anchor = TrustAnchor::from_der(&config.ca_der)?;
        let bind_error = |reason: String| ServerError::Bind {
            address: listen.to_owned(),
            reason,
        };
        let server = tiny_http::Server::http(listen).map_err(|e| bind_error(e.to_string()))?;
        let address = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| bind_error("not an IP socket".into()))?;
        let origin = config
            .origin
            .unwrap_or_else(|| format!("http://localhost:{}", address.port()));
        check_origin(&origin)?;
        let mut app = App::new(origin, anchor, config.carecard_js);
        if let Some(key) = &config.ca_key {
            app = app.with_manage(Ca::from_parts(&config.ca_der, key)?, config.test_hooks);
        }
        Ok(Self {
            server: Arc::new(server),
            address,
            app,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    pub fn origin(&self) -> &str {
        self.app.origin()
    }

    /// Serves until the server is unblocked (see [`RunningServer::stop`]).
    pub fn run(mut self) {
        for request in self.server.incoming_requests() {
            serve_one(&mut self.app, request);
        }
    }

    /// Serves on a background thread.
    pub fn spawn(self) -> RunningServer {
        let server = Arc::clone(&self.server);
        let address = self.address;
        let origin = self.origin().to_owned();
        let thread = std::thread::spawn(move || self.run());
        RunningServer {
            server,
            address,
            origin,
            thread: Some(thread),
        }
    }
}

/// A site serving on a background thread; stopped when dropped.
pub struct RunningServer {
    server: Arc<tiny_http::Server>,
    pub address: SocketAddr,
    pub origin: String,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockCis2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockCis2")
            .field("address", &self.address)
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("address", &self.address)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("the server thread panicked");
            }
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn serve_one(app: &mut App, mut request: tiny_http::Request) {
    let reply = match read_request(&mut request) {
        Ok(parsed) => app.handle(&parsed, SystemTime::now()),
        Err(reply) => reply,
    };
    log::debug!("{} {} → {}", request.method(), request.url(), reply.status);
    if let Err(e) = request.respond(to_response(reply)) {
        log::debug!("client went away: {e}");
    }
}

/// Reads the parts of a request the routes use; the body only up to [`MAX_BODY`], checked before
/// anything is allocated for it.
fn read_request(request: &mut tiny_http::Request) -> Result<HttpRequest, Reply> {
    let too_large = || Reply::error(413, "TOO_LARGE", "The request is too large.");
    if request.body_length().is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let header = |name: &'static str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_owned())
    };
    let cookie = header("Cookie");
    let origin = header("Origin");
    let mut body = Vec::new();
    let limit = u64::try_from(MAX_BODY).unwrap_or(u64::MAX) + 1;
    request
        .as_reader()
        .take(limit)
        .read_to_end(&mut body)
        .map_err(|_| Reply::error(400, "BAD_REQUEST", "The request body could not be read."))?;
    if body.len() > MAX_BODY {
        return Err(too_large());
    }
    let path = request
        .url()
        .split(['?', '#'])
        .next()
        .unwrap_or("/")
        .to_owned();
    Ok(HttpRequest {
        method: request.method().as_str().to_owned(),
        path,
        cookie,
        origin,
        body,
    })
}

fn to_response(reply: Reply) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let common = [
        ("Content-Type", reply.content_type.to_owned()),
        ("Content-Security-Policy", CSP.to_owned()),
        ("X-Content-Type-Options", "nosniff".to_owned()),
        ("Referrer-Policy", "no-referrer".to_owned()),
        ("Cache-Control", "no-store".to_owned()),
    ];
    let mut response = tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
    for (name, value) in common
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .chain(reply.headers.iter().map(|(n, v)| (*n, v.as_str())))
    {
        match tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            Ok(header) => response.add_header(header),
            Err(()) => log::error!("invalid header {name}"),
        }
    }
    response
}

#[cfg(test)]
mod tests;
