//! Native-messaging framing: a 32-bit native-endian length, then that many bytes of JSON.
//!
//! Reading never allocates what the peer claims before checking it against the limit. Writing
//! goes through one [`FrameWriter`] shared (behind a mutex) by the request loop and the watch
//! thread, so two frames can never interleave on stdout.

use byteorder::{NativeEndian, ReadBytesExt, WriteBytesExt};
use std::io::{self, Read, Write};
use std::sync::Mutex;
use thiserror::Error;

/// Largest frame accepted from the browser (DESIGN.md).
pub const MAX_INCOMING: usize = 64 * 1024;
/// Frames to the browser must stay below this (Chrome's limit for host → extension).
pub const MAX_OUTGOING: usize = 1024 * 1024;

/// One step of reading stdin.
#[derive(Debug)]
pub enum Incoming {
    Frame(Vec<u8>),
    /// A frame over [`MAX_INCOMING`] whose payload is still unread: answer first, then
    /// [`discard`] it to get back in step.
    TooLarge(u64),
    /// stdin ended between frames: the browser closed the port.
    End,
}

#[derive(Debug, Error)]
pub enum FrameError {
    /// stdin ended inside a length prefix or payload; the stream cannot be trusted any more.
    #[error("stdin ended in the middle of a frame")]
    Truncated,
    #[error("reading stdin failed: {0}")]
    Io(#[from] io::Error),
    #[error("outgoing frame of {0} bytes is over the 1 MiB limit")]
    OutgoingTooLarge(usize),
}

/// Reads the next frame. An oversized one is reported with its payload left unread.
pub fn read_frame(input: &mut impl Read) -> Result<Incoming, FrameError> {
    let Some(len) = read_length(input)? else {
        return Ok(Incoming::End);
    };
    if len > MAX_INCOMING as u64 {
        return Ok(Incoming::TooLarge(len));
    }
    // `len` ≤ 64 KiB here, so this allocation is bounded by our limit, not the peer's claim.
    let mut payload = vec![0u8; len as usize];
    read_exact_or_truncated(input, &mut payload)?;
    Ok(Incoming::Frame(payload))
}

/// stdin without the standard library's 8 KiB buffer: frames carry PINs, and `Stdin`'s buffer
/// would keep the last frame's bytes (the caller wipes its own copy, but cannot reach that
/// one). Reads go straight from the pipe into the frame buffer. Falls back to the buffered
/// stdin only if the descriptor cannot be duplicated.
pub fn unbuffered_stdin() -> Box<dyn Read> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        match io::stdin().as_fd().try_clone_to_owned() {
            Ok(fd) => return Box::new(std::fs::File::from(fd)),
            Err(e) => log::warn!("reading stdin buffered: {e}"),
        }
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::AsHandle;
        match io::stdin().as_handle().try_clone_to_owned() {
            Ok(handle) => return Box::new(std::fs::File::from(handle)),
            Err(e) => log::warn!("reading stdin buffered: {e}"),
        }
    }
    Box::new(io::stdin().lock())
}

/// Skips an oversized frame's payload.
///
/// Skipping rather than exiting: the length prefix is all we need to stay in step (Chrome
/// always writes the bytes it announced), so the extension's port survives one bad message.
/// The bytes go through a small fixed buffer, wiped afterwards (the payload may hold a PIN), so
/// the claim costs reading time but never memory. The caller answers before skipping, so a peer
/// that announced more than it sends still gets its error at once; stdin ending inside the
/// payload is `Truncated`.
pub fn discard(input: &mut impl Read, len: u64) -> Result<(), FrameError> {
    let mut buffer = zeroize::Zeroizing::new([0u8; 4096]);
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left).map_or(buffer.len(), |l| l.min(buffer.len()));
        match input.read(&mut buffer[..want]) {
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => left -= n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The length prefix, or `None` on a clean end of stdin before its first byte.
fn read_length(input: &mut impl Read) -> Result<Option<u64>, FrameError> {
    let mut prefix = [0u8; 4];
    let mut filled = 0;
    while filled < prefix.len() {
        match input.read(&mut prefix[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = (&prefix[..]).read_u32::<NativeEndian>()?;
    Ok(Some(u64::from(len)))
}

fn read_exact_or_truncated(input: &mut impl Read, buf: &mut [u8]) -> Result<(), FrameError> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Truncated,
        _ => FrameError::Io(e),
    })
}

/// The one writer of stdout frames.
pub struct FrameWriter {
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for FrameWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrameWriter")
    }
}

impl FrameWriter {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        FrameWriter {
            out: Mutex::new(out),
        }
    }

    /// Writes one frame (prefix and payload under one lock) and flushes it.
    pub fn write_frame(&self, payload: &[u8]) -> Result<(), FrameError> {
        if payload.len() >= MAX_OUTGOING {
            return Err(FrameError::OutgoingTooLarge(payload.len()));
        }
        let len = u32::try_from(payload.len())
            .map_err(|_| FrameError::OutgoingTooLarge(payload.len()))?;
        // A writer that panicked mid-frame poisons the lock; the stream is then unusable anyway,
        // but writing on is better than a panic here.
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.write_u32::<NativeEndian>(len)?;
        out.write_all(payload)?;
        out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut v = (payload.len() as u32).to_ne_bytes().to_vec();
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn reads_frames_then_clean_end() {
        let mut bytes = frame(b"{}");
        bytes.extend(frame(b"[1]"));
        let mut r = &bytes[..];
        assert!(matches!(read_frame(&mut r), Ok(Incoming::Frame(f)) if f == b"{}"));
        assert!(matches!(read_frame(&mut r), Ok(Incoming::Frame(f)) if f == b"[1]"));
        assert!(matches!(read_frame(&mut r), Ok(Incoming::End)));
    }

    #[test]
    fn oversized_frame_is_skipped_and_next_frame_read() {
        let mut bytes = frame(&vec![b'x'; MAX_INCOMING + 1]);
        bytes.extend(frame(b"{}"));
        let mut r = &bytes[..];
        assert!(
            matches!(read_frame(&mut r), Ok(Incoming::TooLarge(n)) if n == MAX_INCOMING as u64 + 1)
        );
        discard(&mut r, MAX_INCOMING as u64 + 1).expect("payload skipped");
        assert!(matches!(read_frame(&mut r), Ok(Incoming::Frame(f)) if f == b"{}"));
    }

    #[test]
    fn huge_claim_without_payload_is_truncated_not_allocated() {
        let bytes = u32::MAX.to_ne_bytes();
        let mut r = &bytes[..];
        assert!(
            matches!(read_frame(&mut r), Ok(Incoming::TooLarge(n)) if n == u64::from(u32::MAX))
        );
        assert!(matches!(
            discard(&mut r, u64::from(u32::MAX)),
            Err(FrameError::Truncated)
        ));
    }

    #[test]
    fn truncated_prefix_and_payload() {
        let mut r = &[1u8, 0][..];
        assert!(matches!(read_frame(&mut r), Err(FrameError::Truncated)));
        let bytes = frame(b"{\"id\":1}");
        let mut r = &bytes[..bytes.len() - 1];
        assert!(matches!(read_frame(&mut r), Err(FrameError::Truncated)));
    }

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
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

    #[test]
    fn writes_prefix_and_refuses_a_mebibyte() {
        let sink = Shared::default();
        let w = FrameWriter::new(Box::new(sink.clone()));
        w.write_frame(b"{}").expect("small frame");
        assert!(matches!(
            w.write_frame(&vec![b' '; MAX_OUTGOING]),
            Err(FrameError::OutgoingTooLarge(_))
        ));
        let written = sink.0.lock().expect("lock").clone();
        assert_eq!(written, frame(b"{}"));
    }
}
