//! The host's stdin framing reader (host/src/framing.rs, included as it is): any byte stream,
//! delivered in arbitrary read sizes, is split into frames or refused without a panic, never
//! yields a frame over the 64 KiB limit, and stays in step (each frame is exactly the bytes
//! its prefix announced). A frame written by FrameWriter reads back unchanged.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/framing.rs"]
mod framing;

use framing::{discard, read_frame, FrameWriter, Incoming, MAX_INCOMING};
use libfuzzer_sys::fuzz_target;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

/// A reader that hands out the input in chunks of the sizes the fuzzer chose.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    turn: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self
            .sizes
            .get(self.turn % self.sizes.len().max(1))
            .map_or(usize::MAX, |s| usize::from(*s).max(1));
        self.turn += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|input: &[u8]| {
    // First byte: how many of the following bytes are read-size choices.
    let (sizes, stream) = match input.split_first() {
        Some((&n, rest)) => rest.split_at(usize::from(n % 16).min(rest.len())),
        None => (&[][..], &[][..]),
    };
    let mut reader = Chunked {
        data: stream,
        sizes,
        turn: 0,
    };
    let mut offset = 0usize;
    loop {
        match read_frame(&mut reader) {
            Ok(Incoming::Frame(frame)) => {
                assert!(frame.len() <= MAX_INCOMING);
                let len = u32::from_ne_bytes(stream[offset..offset + 4].try_into().unwrap());
                assert_eq!(len as usize, frame.len());
                assert_eq!(&stream[offset + 4..offset + 4 + frame.len()], &frame[..]);
                offset += 4 + frame.len();
            }
            Ok(Incoming::TooLarge(len)) => {
                assert!(len > MAX_INCOMING as u64);
                offset += 4;
                match discard(&mut reader, len) {
                    Ok(()) => offset += len as usize,
                    Err(_) => break,
                }
            }
            Ok(Incoming::End) => {
                assert_eq!(offset, stream.len());
                break;
            }
            Err(_) => break,
        }
    }
    // Writing: the payload reads back as one frame.
    let sink = Sink::default();
    let writer = FrameWriter::new(Box::new(sink.clone()));
    writer.write_frame(stream).expect("under 1 MiB");
    let written = sink.0.lock().unwrap().clone();
    let mut back = &written[..];
    match read_frame(&mut back) {
        Ok(Incoming::Frame(frame)) => assert_eq!(frame, stream),
        Ok(Incoming::TooLarge(len)) => assert_eq!(len as usize, stream.len()),
        other => panic!("wrote {} bytes, read back {other:?}", stream.len()),
    }
});
