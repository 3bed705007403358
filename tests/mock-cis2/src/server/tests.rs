//! The site over real HTTP/1.1 (std TcpStream), and the routes with an injected clock.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use carecard_protocol::TokenAlgorithm;

use super::*;
use crate::test_pki::{self, Ca, Key, Profile, ALICE};

struct Site {
    running: RunningServer,
    ca: Ca,
    key: Key,
    certificate: Vec<u8>,
}

impl Site {
    fn start() -> Self {
        let ca = Ca::new(test_pki::p256_key());
        let key = test_pki::p256_key();
        let certificate = ca.issue(ALICE, &key, &Profile::login());
        let config = Config {
            ca_der: ca.der.clone(),
            carecard_js: None,
            origin: None,
            ..Config::default()
        };
        let running = MockCis2::bind("127.0.0.1:0", config).expect("bind").spawn();
        Self {
            running,
            ca,
            key,
            certificate,
        }
    }

    fn token(&self, origin: &str, nonce: &str) -> Value {
        test_pki::token(
            &self.certificate,
            &self.key,
            TokenAlgorithm::Es256,
            origin,
            nonce,
        )
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        extra: &str,
        body: &str,
    ) -> Http {
        let mut stream = TcpStream::connect(self.running.address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let cookie = cookie
            .map(|c| format!("Cookie: {c}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{cookie}{extra}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.running.address,
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read");
        Http::parse(&String::from_utf8_lossy(&raw))
    }

    fn get(&self, path: &str, cookie: Option<&str>) -> Http {
        self.send("GET", path, cookie, "", "")
    }

    fn post(&self, path: &str, cookie: Option<&str>, body: &str) -> Http {
        self.send("POST", path, cookie, "", body)
    }

    /// A new browser session: its cookie, from the login page.
    fn session(&self) -> String {
        self.get("/", None).cookie().expect("session cookie")
    }

    fn challenge(&self, cookie: &str) -> String {
        let reply = self.post("/api/challenge", Some(cookie), "");
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["nonce"].as_str().expect("nonce").to_owned()
    }

    fn login(&self, cookie: &str, token: &Value) -> Http {
        self.post(
            "/api/login",
            Some(cookie),
            &json!({ "authToken": token }).to_string(),
        )
    }
}

#[derive(Debug)]
struct Http {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Http {
    fn parse(raw: &str) -> Self {
        let (head, body) = raw.split_once("\r\n\r\n").expect("HTTP head");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Self {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name=value` of the Set-Cookie header, ready for a Cookie header.
    fn cookie(&self) -> Option<String> {
        self.header("set-cookie")
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }

    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

#[test]
fn challenge_login_home_logout() {
    let site = Site::start();
    let page = site.get("/", None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"id="login""#) && page.body.contains(r#"src="/login.js""#));
    assert!(!page.body.contains("<script>"), "no inline scripts");
    assert!(page
        .header("content-security-policy")
        .is_some_and(|c| c.contains("script-src 'self'")));
    let set_cookie = page.header("set-cookie").expect("cookie").to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = page.cookie().expect("cookie");

    assert_eq!(
        site.get("/home", Some(&cookie)).status,
        303,
        "not logged in yet"
    );
    let nonce = site.challenge(&cookie);
    let reply = site.login(&cookie, &site.token(&site.running.origin, &nonce));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["userId"], "555012345678");
    let logged_in = reply.cookie().expect("a new session cookie at login");
    assert_ne!(logged_in, cookie);

    let home = site.get("/home", Some(&logged_in));
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains(r#"<dd id="name">Alice Example</dd>"#),
        "{}",
        home.body
    );
    assert!(
        home.body.contains(r#"<dd id="user-id">555012345678</dd>"#),
        "{}",
        home.body
    );
    // The pre-login session ID does not see the logged-in page.
    assert_eq!(site.get("/home", Some(&cookie)).status, 303);

    assert_eq!(site.post("/api/logout", Some(&logged_in), "").status, 200);
    let after = site.get("/home", Some(&logged_in));
    assert_eq!(after.status, 303);
    assert_eq!(after.header("location"), Some("/"));
}

#[test]
fn login_failures_are_401_with_their_code() {
    let site = Site::start();
    let cookie = site.session();
    let origin = site.running.origin.clone();

    // No challenge yet.
    let reply = site.login(&cookie, &site.token(&origin, "x".repeat(44).as_str()));
    assert_eq!((reply.status, reply.error()), (401, "NONCE_UNKNOWN".into()));

    // A token for 127.0.0.1 while the site is localhost.
    let nonce = site.challenge(&cookie);
    let port = site.running.address.port();
    let reply = site.login(
        &cookie,
        &site.token(&format!("http://127.0.0.1:{port}"), &nonce),
    );
    assert_eq!(
        (reply.status, reply.error()),
        (401, "ORIGIN_MISMATCH".into())
    );
    assert!(reply.json()["message"]
        .as_str()
        .is_some_and(|m| m.contains("127.0.0.1")));

    // The challenge was spent by the failed attempt.
    let reply = site.login(&cookie, &site.token(&origin, &nonce));
    assert_eq!((reply.status, reply.error()), (401, "NONCE_REUSED".into()));

    // A token over another session's nonce does not verify here.
    let other = site.session();
    let foreign = site.challenge(&other);
    site.challenge(&cookie);
    let reply = site.login(&cookie, &site.token(&origin, &foreign));
    assert_eq!((reply.status, reply.error()), (401, "BAD_SIGNATURE".into()));

    // A certificate from another CA.
    let stranger = Ca::named("cn=Stranger CA", test_pki::p256_key());
    let certificate = stranger.issue(ALICE, &site.key, &Profile::login());
    let nonce = site.challenge(&cookie);
    let token = test_pki::token(
        &certificate,
        &site.key,
        TokenAlgorithm::Es256,
        &origin,
        &nonce,
    );
    let reply = site.login(&cookie, &token);
    assert_eq!(
        (reply.status, reply.error()),
        (401, "UNTRUSTED_CERTIFICATE".into())
    );
    let _ = &site.ca;
}

#[test]
fn cross_origin_posts_and_huge_bodies_are_refused() {
    let site = Site::start();
    let cookie = site.session();
    let reply = site.send(
        "POST",
        "/api/challenge",
        Some(&cookie),
        "Origin: https://evil.example\r\n",
        "",
    );
    assert_eq!((reply.status, reply.error()), (403, "WRONG_ORIGIN".into()));
    let huge = "x".repeat(MAX_BODY + 1);
    let reply = site.post("/api/login", Some(&cookie), &huge);
    assert_eq!(reply.status, 413);
    assert_eq!(site.get("/healthz", None).status, 200);
    assert_eq!(site.get("/carecard.js", None).status, 404, "not configured");
    assert_eq!(site.get("/nothing", None).status, 404);
}

#[test]
fn expired_challenge_is_refused_with_its_own_code() {
    let ca = Ca::new(test_pki::p256_key());
    let key = test_pki::p256_key();
    let certificate = ca.issue(ALICE, &key, &Profile::login());
    let origin = "https://cis2.example".to_owned();
    let anchor = TrustAnchor::from_der(&ca.der).expect("anchor");
    let mut app = App::new(origin.clone(), anchor, None);
    let start = test_pki::now();
    let request = |method: &str, path: &str, cookie: Option<&String>, body: String| HttpRequest {
        method: method.into(),
        path: path.into(),
        cookie: cookie.cloned(),
        origin: Some(origin.clone()),
        body: body.into_bytes(),
    };
    let page = app.handle(&request("GET", "/", None, String::new()), start);
    let cookie = page
        .headers
        .iter()
        .find(|(n, _)| *n == "Set-Cookie")
        .map(|(_, v)| v.clone())
        .expect("cookie");
    assert!(
        cookie.contains("; Secure"),
        "https site sets Secure cookies: {cookie}"
    );
    let cookie = cookie.split(';').next().map(str::to_owned);
    let challenge = app.handle(
        &request("POST", "/api/challenge", cookie.as_ref(), String::new()),
        start,
    );
    let nonce: Value = serde_json::from_slice(&challenge.body).expect("json");
    let token = test_pki::token(
        &certificate,
        &key,
        TokenAlgorithm::Es256,
        &origin,
        nonce["nonce"].as_str().expect("nonce"),
    );
    let body = json!({ "authToken": token }).to_string();
    let late = start + crate::nonce::NONCE_LIFETIME + Duration::from_secs(1);
    let reply = app.handle(&request("POST", "/api/login", cookie.as_ref(), body), late);
    assert_eq!(reply.status, 401);
    let error: Value = serde_json::from_slice(&reply.body).expect("json");
    assert_eq!(error["error"], "NONCE_EXPIRED");
}

#[test]
fn names_are_escaped_on_the_home_page() {
    assert_eq!(
        html_escape(r#"<b>"O'Neil" & co</b>"#),
        "&lt;b&gt;&quot;O&#39;Neil&quot; &amp; co&lt;/b&gt;"
    );
}
