//! The compressed-certificate path alone: the fuzz input is the contents of `70` with CertInfo
//! `71 01` (gzip, or zlib as some issuers wrote). Never panics, never inflates past 16 KiB,
//! and what it returns is exactly what the stream decompresses to.
#![no_main]

use carecard_card::piv::{Piv, Slot, MAX_OBJECT};
use carecard_card::tlv;
use carecard_card::transport::Transport;
use carecard_card::CardError;
use libfuzzer_sys::fuzz_target;
use std::io::Read;

/// A card holding one object, answered in 61xx pieces.
struct Card {
    reply: Vec<u8>,
    at: usize,
}

impl Transport for Card {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        let end = (self.at + 256).min(self.reply.len());
        let mut out = self.reply[self.at..end].to_vec();
        self.at = end;
        match self.reply.len() - end {
            0 => out.extend_from_slice(&[0x90, 0x00]),
            n => out.extend_from_slice(&[0x61, n.min(255) as u8]),
        }
        Ok(out)
    }
}

fuzz_target!(|stream: &[u8]| {
    if stream.is_empty() || stream.len() > MAX_OBJECT {
        return;
    }
    let mut object = tlv::encode(0x70, stream);
    tlv::encode_into(&mut object, 0x71, &[0x01]);
    tlv::encode_into(&mut object, 0xFE, &[]);
    let mut card = Card {
        reply: tlv::encode(0x53, &object),
        at: 0,
    };
    let result = Piv::new(&mut card).read_certificate(Slot::Authentication);
    // The reference: the same decoder, uncapped but stopped just past the limit.
    let mut expected = Vec::new();
    let decoded = if stream.starts_with(&[0x1F, 0x8B]) {
        flate2::read::GzDecoder::new(stream)
            .take(MAX_OBJECT as u64 + 1)
            .read_to_end(&mut expected)
    } else {
        flate2::read::ZlibDecoder::new(stream)
            .take(MAX_OBJECT as u64 + 1)
            .read_to_end(&mut expected)
    };
    match result {
        Ok(Some(certificate)) => {
            assert!(certificate.len() <= MAX_OBJECT);
            assert!(decoded.is_ok());
            assert_eq!(certificate, expected);
        }
        // A stream that inflates to nothing is no certificate, like an empty 70.
        Ok(None) => assert!(decoded.is_ok() && expected.is_empty()),
        Err(_) => assert!(decoded.is_err() || expected.len() > MAX_OBJECT),
    }
});
