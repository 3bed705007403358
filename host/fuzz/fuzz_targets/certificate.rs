//! X.509 certificate summary (what the extension shows and the host picks algorithms from):
//! any bytes give a summary or a validation error, never a panic.
#![no_main]

use carecard_protocol::CertificateSummary;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|der: &[u8]| {
    if let Ok(summary) = CertificateSummary::from_der(der) {
        let _ = summary.token_algorithm();
        let json = serde_json::to_string(&summary).expect("serialises");
        assert!(json.starts_with('{'));
        if let Some(id) = &summary.user_id {
            assert!(
                id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()),
                "{id}"
            );
        }
    }
});
