//! Origin rules of DESIGN.md ("Rules: origin is https ...").

use carecard_protocol::{ErrorCode, Origin, OriginPolicy, ValidationError};

const PROD: OriginPolicy = OriginPolicy {
    developer_mode: false,
};
const DEV: OriginPolicy = OriginPolicy {
    developer_mode: true,
};

fn ok(input: &str, policy: &OriginPolicy) -> String {
    match Origin::parse(input, policy) {
        Ok(o) => o.as_str().to_owned(),
        Err(e) => panic!("{input:?} was refused: {e}"),
    }
}

fn refused(input: &str, policy: &OriginPolicy) -> ValidationError {
    match Origin::parse(input, policy) {
        Ok(o) => panic!("{input:?} was accepted as {o}"),
        Err(e) => e,
    }
}

#[test]
fn https_origins_are_accepted_unchanged() {
    for o in [
        "https://am.nhsidentity.spineservices.nhs.uk",
        "https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk",
        "https://localhost",
        "https://127.0.0.1",
        "https://[::1]",
    ] {
        assert_eq!(ok(o, &PROD), o);
    }
}

#[test]
fn an_explicit_port_is_kept() {
    assert_eq!(
        ok("https://example.nhs.uk:8443", &PROD),
        "https://example.nhs.uk:8443"
    );
    assert_eq!(ok("https://[::1]:8443", &PROD), "https://[::1]:8443");
}

#[test]
fn the_default_port_is_dropped_like_url_origin() {
    assert_eq!(
        ok("https://example.nhs.uk:443", &PROD),
        "https://example.nhs.uk"
    );
    assert_eq!(ok("http://localhost:80", &DEV), "http://localhost");
}

#[test]
fn upper_case_is_normalised() {
    assert_eq!(
        ok("HTTPS://Am.NHSIdentity.SpineServices.NHS.uk:8443", &PROD),
        "https://am.nhsidentity.spineservices.nhs.uk:8443"
    );
    assert_eq!(ok("HTTP://LocalHost:3000", &DEV), "http://localhost:3000");
}

#[test]
fn http_is_refused_without_developer_mode() {
    for o in [
        "http://example.nhs.uk",
        "http://localhost",
        "http://127.0.0.1:8080",
    ] {
        refused(o, &PROD);
    }
}

#[test]
fn http_is_allowed_for_localhost_only_in_developer_mode() {
    assert_eq!(ok("http://localhost", &DEV), "http://localhost");
    assert_eq!(ok("http://localhost:8080", &DEV), "http://localhost:8080");
    assert_eq!(ok("http://127.0.0.1:8080", &DEV), "http://127.0.0.1:8080");
    for o in [
        "http://example.nhs.uk",
        "http://localhost.example.com",
        "http://127.0.0.2",
        "http://[::1]",
    ] {
        refused(o, &DEV);
    }
}

#[test]
fn path_query_fragment_and_trailing_slash_are_refused() {
    for o in [
        "https://example.nhs.uk/",
        "https://example.nhs.uk/login",
        "https://example.nhs.uk:8443/",
        "https://example.nhs.uk?x=1",
        "https://example.nhs.uk#top",
        "https://example.nhs.uk:443?",
    ] {
        refused(o, &PROD);
    }
}

#[test]
fn userinfo_is_refused() {
    for o in [
        "https://user@example.nhs.uk",
        "https://user:pass@example.nhs.uk",
        "https://example.nhs.uk:443@evil.example",
    ] {
        assert_eq!(
            refused(o, &PROD),
            ValidationError::Origin("must not contain a user name or password"),
            "{o}"
        );
    }
    refused("http://evil.com@localhost", &DEV);
}

#[test]
fn length_limit_is_255() {
    let host = format!(
        "{}.{}.{}.{}",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(55)
    );
    let at_limit = format!("https://{host}");
    assert_eq!(at_limit.len(), 255);
    assert_eq!(ok(&at_limit, &PROD), at_limit);
    let over = format!("https://{host}e");
    assert_eq!(over.len(), 256);
    assert_eq!(
        refused(&over, &PROD),
        ValidationError::Origin("is longer than 255 characters")
    );
}

#[test]
fn malformed_origins_are_refused() {
    for o in [
        "",
        "example.nhs.uk",
        "https://",
        "https://:443",
        "https://example.nhs.uk:",
        "https://example.nhs.uk:0",
        "https://example.nhs.uk:65536",
        "https://example.nhs.uk:12a",
        "https://example..nhs.uk",
        "https://example.nhs.uk.",
        "https://-example.nhs.uk",
        "https://exa mple.nhs.uk",
        "https://exämple.nhs.uk",
        "https://[::1",
        "https://[zz::1]",
        "ftp://example.nhs.uk",
        "chrome-extension://pggklkelfcagmclfcaejdknbclgpeaco",
        "https:example.nhs.uk",
    ] {
        refused(o, &DEV);
    }
}

#[test]
fn a_malformed_origin_is_an_invalid_request() {
    let e = refused("https://example.nhs.uk/", &PROD);
    assert_eq!(e.code(), ErrorCode::InvalidRequest);
    assert_eq!(e.to_wire().code, ErrorCode::InvalidRequest);
}
