//! Request and response envelopes of native messaging (DESIGN.md "Envelope").

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ErrorCode, WireError};

/// A request as read off the wire; `arguments` is validated later by `Command::parse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    pub command: String,
    #[serde(default = "empty_object")]
    pub arguments: Value,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// A frame that could not be turned into a `Request`; answer it with `Response::failure(id, error)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRequest {
    /// The request id, when it could be read (so the caller can still match the reply).
    pub id: Option<u64>,
    pub error: WireError,
}

fn reject(id: Option<u64>, why: &str) -> RejectedRequest {
    let code = ErrorCode::InvalidRequest;
    RejectedRequest {
        id,
        error: WireError::new(code, format!("{} ({why})", code.default_message())),
    }
}

/// Parses one frame's payload. Never panics on peer data.
pub fn parse_request(frame: &[u8]) -> Result<Request, RejectedRequest> {
    let text = std::str::from_utf8(frame).map_err(|_| reject(None, "the message is not UTF-8"))?;
    let value: Value =
        serde_json::from_str(text).map_err(|_| reject(None, "the message is not valid JSON"))?;
    let Value::Object(mut object) = value else {
        return Err(reject(None, "the message is not a JSON object"));
    };
    let id = match object.get("id") {
        None => return Err(reject(None, "the message has no id")),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| reject(None, "the id is not a non-negative integer"))?,
    };
    let command = match object.remove("command") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(reject(Some(id), "the command is not a string")),
        None => return Err(reject(Some(id), "the message has no command")),
    };
    let arguments = match object.remove("arguments") {
        None | Some(Value::Null) => empty_object(),
        Some(v @ Value::Object(_)) => v,
        Some(_) => return Err(reject(Some(id), "the arguments are not a JSON object")),
    };
    Ok(Request {
        id,
        command,
        arguments,
    })
}

/// A reply frame: `{"id", "result"}` or `{"id", "error"}` (`"id": null` when it was unreadable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Success { id: u64, result: Value },
    Failure { id: Option<u64>, error: WireError },
}

impl Response {
    pub fn success(id: u64, result: Value) -> Self {
        Response::Success { id, result }
    }

    pub fn failure(id: Option<u64>, error: WireError) -> Self {
        Response::Failure { id, error }
    }

    /// The answer to a frame `parse_request` refused.
    pub fn rejected(rejected: RejectedRequest) -> Self {
        Response::failure(rejected.id, rejected.error)
    }

    /// The JSON bytes of the frame.
    pub fn to_vec(&self) -> Vec<u8> {
        // Serialising these types cannot fail: every map key is a string.
        serde_json::to_vec(self).unwrap_or_else(|_| {
            br#"{"id":null,"error":{"code":"ERR_INTERNAL","message":"serialisation failed"}}"#
                .to_vec()
        })
    }
}
