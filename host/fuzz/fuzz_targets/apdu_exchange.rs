//! Response APDUs and status words, and `transport::exchange` (chaining, 61xx GET RESPONSE,
//! 6Cxx resend) over a scripted transport whose answers are the fuzz input: never panics,
//! never loops, never returns more than the limit, only sends well-formed short APDUs.
#![no_main]

use carecard_card::apdu::{Command, Response, StatusWord};
use carecard_card::transport::{exchange, exchange_with_limit, Transport, MAX_RESPONSE};
use carecard_card::CardError;
use libfuzzer_sys::fuzz_target;

/// Answers each APDU with the next scripted response; then the card is gone.
struct Scripted<'a> {
    answers: Vec<&'a [u8]>,
    sent: usize,
}

impl Transport for Scripted<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        // A short APDU: header, optional Lc + ≤ 255 data bytes, optional Le.
        assert!(
            apdu.len() >= 4 && apdu.len() <= 4 + 1 + 255 + 1,
            "{} bytes",
            apdu.len()
        );
        let answer = self.answers.get(self.sent).copied();
        self.sent += 1;
        answer.map(<[u8]>::to_vec).ok_or(CardError::CardRemoved)
    }
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 7 {
        return;
    }
    // Header, data length (two bytes: up to 64 KiB of data), Le (0: none), limit selector,
    // then the answers, each led by its length byte.
    let (head, rest) = input.split_at(7);
    let data_len = usize::from(u16::from_be_bytes([head[4], head[5]])) % 1024;
    let data = vec![0x5A; data_len];
    let le = u16::from(head[6]);
    let mut command = Command::new(head[0] & 0xEF, head[1], head[2], head[3]).with_data(data);
    if le != 0 {
        command = command.with_le(le);
    }
    let mut answers = Vec::new();
    let mut rest = rest;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        answers.push(&tail[..n]);
        rest = &tail[n..];
    }
    for answer in &answers {
        match Response::parse(answer) {
            Ok(r) => {
                assert_eq!(r.data.len() + 2, answer.len());
                let sw = r.sw;
                assert_eq!(sw, StatusWord::from_bytes(sw.sw1(), sw.sw2()));
                let _ = (
                    sw.retries_left(),
                    sw.bytes_remaining(),
                    sw.correct_le(),
                    sw.to_string(),
                );
                let _ = r.into_data();
            }
            Err(_) => assert!(answer.len() < 2),
        }
    }
    let limit = if head[6] & 1 == 0 { MAX_RESPONSE } else { 600 };
    let mut transport = Scripted {
        answers: answers.clone(),
        sent: 0,
    };
    let result = if limit == MAX_RESPONSE {
        exchange(&mut transport, &command)
    } else {
        exchange_with_limit(&mut transport, &command, limit)
    };
    // Each transmit consumes one answer; one more is the "card removed" that ends it.
    assert!(transport.sent <= answers.len() + 1);
    if let Ok(response) = result {
        assert!(response.data.len() <= limit);
    }
});
