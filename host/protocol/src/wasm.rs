//! wasm-bindgen exports for the extension's service worker (feature `wasm`).
//!
//! Failures are thrown as a `ProtocolError` object with `code` and `message` getters (and
//! `toJSON`, so `JSON.stringify(e)` gives `{"code","message"}`).

use wasm_bindgen::prelude::wasm_bindgen;

use crate::error::WireError;
use crate::extension;

#[wasm_bindgen]
#[derive(Debug)]
pub struct ProtocolError {
    code: String,
    message: String,
}

#[wasm_bindgen]
impl ProtocolError {
    #[wasm_bindgen(getter)]
    pub fn code(&self) -> String {
        self.code.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn message(&self) -> String {
        self.message.clone()
    }

    /// `{"code","message"}` as JSON text.
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> String {
        serde_json::json!({"code": self.code, "message": self.message}).to_string()
    }
}

impl From<WireError> for ProtocolError {
    fn from(e: WireError) -> Self {
        ProtocolError {
            code: e.code.as_str().to_owned(),
            message: e.message,
        }
    }
}

/// Normalised arguments JSON for the host, or throws `ProtocolError`.
#[wasm_bindgen(js_name = validateRequest)]
pub fn validate_request(
    command: &str,
    arguments_json: &str,
    origin: &str,
    developer_mode: bool,
) -> Result<String, ProtocolError> {
    extension::validate_request_json(command, arguments_json, origin, developer_mode)
        .map_err(ProtocolError::from)
}

/// The normalised origin, or throws `ProtocolError`.
#[wasm_bindgen(js_name = validateOrigin)]
pub fn validate_origin(origin: &str, developer_mode: bool) -> Result<String, ProtocolError> {
    extension::validate_origin(origin, developer_mode).map_err(ProtocolError::from)
}

/// `CertificateSummary` JSON of a base64 DER certificate, or throws `ProtocolError`.
#[wasm_bindgen(js_name = certificateSummary)]
pub fn certificate_summary(base64_der: &str) -> Result<String, ProtocolError> {
    extension::certificate_summary_json(base64_der).map_err(ProtocolError::from)
}

/// The wire protocol number (`status.protocol`).
#[wasm_bindgen(js_name = protocolVersion)]
pub fn protocol_version() -> u32 {
    extension::protocol_version()
}
