//! Challenge nonce and PIN / new PIN / PUK shapes.

use carecard_protocol::{validate_challenge_nonce, ErrorCode, Pin, ValidationError};

fn nonce_of(len: usize) -> String {
    "A".repeat(len)
}

#[test]
fn nonce_length_bounds() {
    assert!(validate_challenge_nonce(&nonce_of(43)).is_err());
    assert!(validate_challenge_nonce(&nonce_of(44)).is_ok());
    assert!(validate_challenge_nonce(&nonce_of(128)).is_ok());
    assert!(validate_challenge_nonce(&nonce_of(129)).is_err());
}

#[test]
fn nonce_accepts_standard_and_url_safe_base64_with_optional_padding() {
    // base64 of 32 bytes: 43 characters and one "=".
    assert!(validate_challenge_nonce("q83vEjRWeJASNFZ4kKvN7xI0VniQEjRWeJASNFZ4kKs=").is_ok());
    assert!(validate_challenge_nonce(&format!("{}+/-_", "a".repeat(40))).is_ok());
    assert!(validate_challenge_nonce(&format!("{}==", "a".repeat(42))).is_ok());
}

#[test]
fn nonce_refuses_other_characters_and_misplaced_padding() {
    for bad in [
        format!("{}!", "a".repeat(43)),
        format!("{} ", "a".repeat(43)),
        format!("{}=a", "a".repeat(42)),
        format!("{}===", "a".repeat(41)),
        format!("{}é", "a".repeat(42)),
    ] {
        let e = validate_challenge_nonce(&bad).expect_err(&bad);
        assert_eq!(e.code(), ErrorCode::InvalidRequest);
    }
}

#[test]
fn entered_pin_is_4_to_8_characters() {
    assert!(Pin::entered("123").is_err());
    assert_eq!(
        Pin::entered("1234").map(|p| p.as_bytes().to_vec()),
        Ok(b"1234".to_vec())
    );
    assert_eq!(
        Pin::entered("abcd!23X").map(|p| p.as_bytes().to_vec()),
        Ok(b"abcd!23X".to_vec())
    );
    assert!(Pin::entered("123456789").is_err());
}

#[test]
fn entered_pin_must_be_printable_ascii() {
    for bad in ["12\n34", "1234\u{0}", "12345é", "\u{7f}2345"] {
        assert!(Pin::entered(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn new_pin_is_6_to_8_digits_only() {
    assert!(Pin::new_pin("12345").is_err());
    assert!(Pin::new_pin("123456").is_ok());
    assert!(Pin::new_pin("12345678").is_ok());
    assert!(Pin::new_pin("123456789").is_err());
    for bad in ["12345a", "1234 6", "abcdef", "١٢٣٤٥٦"] {
        assert!(Pin::new_pin(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn puk_is_6_to_8_characters() {
    assert!(Pin::puk("12345").is_err());
    assert!(Pin::puk("12345678").is_ok());
    assert!(Pin::puk("123456789").is_err());
}

#[test]
fn pin_errors_are_pin_format_and_never_quote_the_pin() {
    let e = Pin::entered("98765432109").expect_err("too long");
    assert_eq!(e.code(), ErrorCode::PinFormat);
    let wire = e.to_wire();
    assert_eq!(wire.code, ErrorCode::PinFormat);
    assert!(!wire.message.contains("98765432109"));
    assert!(matches!(
        Pin::new_pin("55555x"),
        Err(ValidationError::PinFormat(_))
    ));
}

#[test]
fn debug_of_a_pin_hides_it() {
    let pin = Pin::entered("4729").expect("valid");
    let shown = format!("{pin:?} {pin:#?}");
    assert!(!shown.contains("4729"), "{shown}");
    assert_eq!(format!("{pin:?}"), "Pin(***)");
}
