//! The web origin an authentication or signature is bound to.
//!
//! The extension derives it from the sender tab; these rules make sure what is signed is a bare
//! origin in the one spelling the server will recompute (`URL.origin` form).

use serde::Serialize;

use crate::validation::ValidationError;

/// DESIGN.md: an origin is at most 255 characters.
pub const MAX_ORIGIN_LEN: usize = 255;

/// Hosts that may use plain http, and only in developer mode.
const DEVELOPMENT_HOSTS: [&str; 2] = ["localhost", "127.0.0.1"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    /// Allows `http://localhost` and `http://127.0.0.1` (any port) for development.
    pub developer_mode: bool,
}

/// A validated, normalised origin: `https://host[:port]`, lower-case, default port dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Origin(String);

impl Origin {
    pub fn parse(input: &str, policy: &OriginPolicy) -> Result<Origin, ValidationError> {
        if input.len() > MAX_ORIGIN_LEN {
            return Err(ValidationError::Origin("is longer than 255 characters"));
        }
        if !input.is_ascii() {
            return Err(ValidationError::Origin(
                "contains non-ASCII characters (use the punycode form)",
            ));
        }
        let lower = input.to_ascii_lowercase();
        let (scheme, authority) = lower
            .split_once("://")
            .ok_or(ValidationError::Origin("has no scheme"))?;
        if authority.contains(['/', '?', '#']) {
            return Err(ValidationError::Origin(
                "must not have a path, query, fragment or trailing slash",
            ));
        }
        if authority.contains('@') {
            return Err(ValidationError::Origin(
                "must not contain a user name or password",
            ));
        }
        let (host, port) = split_port(authority)?;
        validate_host(host)?;
        let default_port = match scheme {
            "https" => 443,
            "http" if policy.developer_mode && DEVELOPMENT_HOSTS.contains(&host) => 80,
            "http" => {
                return Err(ValidationError::Origin(
                    "must use https (http is allowed only for localhost in developer mode)",
                ))
            }
            _ => return Err(ValidationError::Origin("must use https")),
        };
        Ok(Origin(match port {
            Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
            _ => format!("{scheme}://{host}"),
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Origin {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits `host[:port]`, minding the colons of a bracketed IPv6 literal.
fn split_port(authority: &str) -> Result<(&str, Option<u16>), ValidationError> {
    let host_end = if authority.starts_with('[') {
        authority
            .find(']')
            .map(|i| i + 1)
            .ok_or(ValidationError::Origin("has an unterminated IPv6 address"))?
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    let (host, rest) = authority.split_at(host_end);
    if rest.is_empty() {
        return Ok((host, None));
    }
    let digits = rest
        .strip_prefix(':')
        .ok_or(ValidationError::Origin("has an invalid port"))?;
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::Origin("has an invalid port"));
    }
    match digits.parse::<u16>() {
        Ok(p) if p > 0 => Ok((host, Some(p))),
        _ => Err(ValidationError::Origin("has an invalid port")),
    }
}

fn validate_host(host: &str) -> Result<(), ValidationError> {
    if host.is_empty() {
        return Err(ValidationError::Origin("has no host"));
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let ok = inner.contains(':')
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return if ok {
            Ok(())
        } else {
            Err(ValidationError::Origin("has an invalid IPv6 address"))
        };
    }
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if labels_ok {
        Ok(())
    } else {
        Err(ValidationError::Origin("has an invalid host name"))
    }
}
