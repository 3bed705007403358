//! BER-TLV parsing of card data: never panics, every object found is within the input, and an
//! object encoded again parses back to the same tag and value.
#![no_main]

use carecard_card::tlv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((first, rest)) = tlv::parse_one(data) {
        assert!(rest.len() < data.len());
        assert!(first.value.len() <= data.len());
    }
    if let Ok(objects) = tlv::parse(data) {
        // The first objects suffice (`find` rescans the input: all of them would be quadratic).
        for object in objects.iter().take(16) {
            let encoded = tlv::encode(object.tag, object.value);
            let (back, rest) = tlv::parse_one(&encoded).expect("own encoding parses");
            assert!(rest.is_empty());
            assert_eq!((back.tag, back.value), (object.tag, object.value));
            let found = tlv::find(data, object.tag).expect("parsed before");
            assert!(found.is_some());
        }
    }
    let _ = tlv::find(data, 0x53);
    let _ = tlv::find(data, 0x7C);
});
