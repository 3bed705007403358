//! `Piv::read_certificate` with a card whose GET DATA answer is the fuzz input (handed out in
//! 61xx pieces like a real card's): the 53/70/71 object parsing, the size limits and the
//! optional gzip/zlib decompression never panic and never return more than 16 KiB.
#![no_main]

use carecard_card::piv::{Piv, Slot, MAX_OBJECT};
use carecard_card::transport::Transport;
use carecard_card::CardError;
use libfuzzer_sys::fuzz_target;

/// Answers GET DATA with `reply` in pieces of at most 256 bytes (61xx), then `final_sw`.
struct Card<'a> {
    reply: &'a [u8],
    final_sw: [u8; 2],
    calls: usize,
}

impl Transport for Card<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        self.calls += 1;
        assert!(
            self.calls <= 1 + MAX_OBJECT / 256 + 4,
            "too many GET RESPONSEs"
        );
        let piece = self.reply.len().min(256);
        let (now, later) = self.reply.split_at(piece);
        self.reply = later;
        let mut out = now.to_vec();
        match later.len() {
            0 => out.extend_from_slice(&self.final_sw),
            n => out.extend_from_slice(&[0x61, n.min(255) as u8]),
        }
        let _ = apdu;
        Ok(out)
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, reply)) = input.split_first() else {
        return;
    };
    let final_sw = match flags & 3 {
        0 | 1 => [0x90, 0x00],
        2 => [0x6A, 0x82],
        _ => [0x69, 0x82],
    };
    let slot = if flags & 4 == 0 {
        Slot::Authentication
    } else {
        Slot::Signature
    };
    let mut card = Card {
        reply,
        final_sw,
        calls: 0,
    };
    let mut piv = Piv::new(&mut card);
    if let Ok(Some(certificate)) = piv.read_certificate(slot) {
        assert!(certificate.len() <= MAX_OBJECT);
        assert!(!certificate.is_empty());
    }
});
