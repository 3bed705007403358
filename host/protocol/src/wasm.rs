//! wasm-bindgen exports for the extension's service worker (feature `wasm`).
//!
//! Failures are thrown as a plain object `{code, message}`: plain so it survives structured
//! cloning (extension messaging, postMessage), which drops class instances' getters.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::error::WireError;
use crate::extension;

#[wasm_bindgen]
extern "C" {
    // Builds the plain error object without pulling in js-sys.
    #[wasm_bindgen(js_namespace = JSON, js_name = parse)]
    fn json_parse(text: &str) -> JsValue;
}

/// The thrown value: `{"code": "ERR_…", "message": "…"}`.
fn to_js(error: WireError) -> JsValue {
    let object = serde_json::json!({"code": error.code.as_str(), "message": error.message});
    json_parse(&object.to_string())
}

/// Normalised arguments JSON for the host, or throws `{code, message}`.
#[wasm_bindgen(js_name = validateRequest)]
pub fn validate_request(
    command: &str,
    arguments_json: &str,
    origin: &str,
    developer_mode: bool,
) -> Result<String, JsValue> {
    extension::validate_request_json(command, arguments_json, origin, developer_mode).map_err(to_js)
}

/// The normalised origin, or throws `{code, message}`.
#[wasm_bindgen(js_name = validateOrigin)]
pub fn validate_origin(origin: &str, developer_mode: bool) -> Result<String, JsValue> {
    extension::validate_origin(origin, developer_mode).map_err(to_js)
}

/// `CertificateSummary` JSON of a base64 DER certificate, or throws `{code, message}`.
#[wasm_bindgen(js_name = certificateSummary)]
pub fn certificate_summary(base64_der: &str) -> Result<String, JsValue> {
    extension::certificate_summary_json(base64_der).map_err(to_js)
}

/// The wire protocol number (`status.protocol`).
#[wasm_bindgen(js_name = protocolVersion)]
pub fn protocol_version() -> u32 {
    extension::protocol_version()
}
