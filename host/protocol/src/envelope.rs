//! Request and response envelopes of native messaging (DESIGN.md "Envelope").

pub mod json;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ErrorCode, WireError};
use json::Wiped;

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
///
/// The frame may carry a PIN (`arguments.pin`, or anywhere a confused or hostile peer puts
/// it), so nothing parsed is dropped unwiped: the JSON is read by [`json::from_slice`], which
/// leaves no scratch copies and refuses duplicate keys, and whatever this function does not
/// hand back (the whole value on a refusal, unknown fields on success) is zeroised here. The
/// caller still owns `frame` and the returned `arguments`, and must wipe both.
pub fn parse_request(frame: &[u8]) -> Result<Request, RejectedRequest> {
    let mut envelope = Wiped(json::from_slice(frame).map_err(|e| reject(None, &e.to_string()))?);
    let Value::Object(object) = &mut envelope.0 else {
        return Err(reject(None, "the message is not a JSON object"));
    };
    let id = match object.get("id") {
        None => return Err(reject(None, "the message has no id")),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| reject(None, "the id is not a non-negative integer"))?,
    };
    // Check both shapes before taking anything out, so a refusal wipes everything.
    match object.get("command") {
        Some(Value::String(_)) => {}
        Some(_) => return Err(reject(Some(id), "the command is not a string")),
        None => return Err(reject(Some(id), "the message has no command")),
    }
    match object.get("arguments") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(_) => return Err(reject(Some(id), "the arguments are not a JSON object")),
    }
    let command = match object.get_mut("command") {
        Some(Value::String(s)) => std::mem::take(s),
        _ => String::new(),
    };
    let arguments = match object.get_mut("arguments") {
        Some(v @ Value::Object(_)) => std::mem::take(v),
        _ => empty_object(),
    };
    // `envelope` (any other fields) is wiped as it goes out of scope.
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
