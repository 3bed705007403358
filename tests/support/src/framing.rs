//! Native-messaging framing as Chrome does it: a u32 length in native byte order, then the
//! UTF-8 JSON bytes.

use std::io::{self, Read};

/// Frames from the host must stay under 1 MiB (DESIGN.md); a longer header is a host bug.
pub const MAX_HOST_FRAME: usize = 1024 * 1024;

/// `payload` with its length header.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(payload);
    out
}

/// One frame from `r`: `Ok(None)` at a clean end of stream (no header byte read), an error
/// for a truncated frame or a length of `max` bytes or more (checked before allocating).
pub fn read(r: &mut impl Read, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < header.len() {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated frame header",
                ))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = usize::try_from(u32::from_ne_bytes(header)).unwrap_or(usize::MAX);
    if len >= max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the {max}-byte limit"),
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut bytes = encode(br#"{"id":1}"#);
        bytes.extend(encode(b""));
        let mut r = bytes.as_slice();
        assert_eq!(
            read(&mut r, 64).expect("frame"),
            Some(br#"{"id":1}"#.to_vec())
        );
        assert_eq!(read(&mut r, 64).expect("frame"), Some(Vec::new()));
        assert_eq!(read(&mut r, 64).expect("eof"), None);
    }

    #[test]
    fn header_is_native_endian() {
        let bytes = encode(&[0u8; 258]);
        assert_eq!(bytes[..4], 258u32.to_ne_bytes());
    }

    #[test]
    fn oversized_length_is_refused_before_allocating() {
        let bytes = u32::MAX.to_ne_bytes();
        let err = read(&mut bytes.as_slice(), MAX_HOST_FRAME).expect_err("too large");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn truncated_frames_are_errors() {
        let bytes = [1u8, 0];
        assert!(read(&mut bytes.as_slice(), 64).is_err());
        let mut bytes = encode(b"abcdef");
        bytes.truncate(7);
        assert!(read(&mut bytes.as_slice(), 64).is_err());
    }
}
