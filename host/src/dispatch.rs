//! The request loop: frames in, one request served at a time (card operations are never
//! concurrent), one reply frame out per request.

use crate::config::Config;
use crate::errors::HostError;
use crate::framing::{self, FrameError, FrameWriter, Incoming};
use crate::handlers::{self, watch::Watch};
use carecard_protocol::{parse_request, Command, ErrorCode, OriginPolicy, Response, WireError};
use serde_json::Value;
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;
use zeroize::Zeroize;

/// How the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// stdin closed between frames.
    Clean,
    /// stdin broke mid-frame or stdout failed: an error was reported where possible.
    Broken,
}

#[derive(Debug)]
pub struct Host {
    writer: Arc<FrameWriter>,
    policy: OriginPolicy,
    watch: Option<Watch>,
}

impl Host {
    pub fn new(config: &Config, writer: Arc<FrameWriter>) -> Host {
        Host {
            writer,
            policy: OriginPolicy {
                developer_mode: config.developer_mode,
            },
            watch: None,
        }
    }

    /// Serves requests until stdin ends.
    pub fn serve(mut self, input: &mut impl Read) -> Exit {
        let exit = loop {
            match framing::read_frame(input) {
                Ok(Incoming::Frame(mut frame)) => {
                    let reply = self.handle_frame(&frame);
                    frame.zeroize();
                    if !self.send(reply) {
                        break Exit::Broken;
                    }
                }
                Ok(Incoming::TooLarge(len)) => {
                    log::warn!("refused a frame of {len} bytes");
                    let error = WireError::new(
                        ErrorCode::MessageTooLarge,
                        format!(
                            "The message is larger than the {} byte limit.",
                            framing::MAX_INCOMING
                        ),
                    );
                    if !self.send(Response::failure(None, error)) {
                        break Exit::Broken;
                    }
                    if let Err(e) = framing::discard(input, len) {
                        // Already answered; the stream ended (or broke) inside the payload.
                        log::warn!("{e}");
                        break Exit::Broken;
                    }
                }
                Ok(Incoming::End) => break Exit::Clean,
                Err(e) => {
                    log::warn!("{e}");
                    if matches!(e, FrameError::Truncated) {
                        let error = WireError::new(
                            ErrorCode::InvalidRequest,
                            "The message ended before its declared length.",
                        );
                        self.send(Response::failure(None, error));
                    }
                    break Exit::Broken;
                }
            }
        };
        if let Some(watch) = self.watch.take() {
            watch.stop();
        }
        exit
    }

    fn handle_frame(&mut self, frame: &[u8]) -> Response {
        let mut request = match parse_request(frame) {
            Ok(r) => r,
            Err(rejected) => {
                log::info!("rejected frame: {}", rejected.error.code.as_str());
                return Response::rejected(rejected);
            }
        };
        let id = request.id;
        let started = Instant::now();
        let parsed = Command::parse(&request.command, &request.arguments, &self.policy);
        // The arguments may hold a PIN or PUK; the typed command has its own zeroizing copy.
        wipe(&mut request.arguments);
        let outcome = match parsed {
            Ok(command) => {
                log::info!("request {id}: {}", command.name());
                self.run(command)
            }
            Err(e) => {
                // The name is the peer's text: log a bounded, escaped prefix of it.
                let name: String = request.command.chars().take(32).collect();
                log::info!("request {id}: {name:?} refused");
                Err(e)
            }
        };
        let elapsed = started.elapsed().as_millis();
        match outcome {
            Ok(result) => {
                log::info!("request {id}: ok in {elapsed} ms");
                Response::success(id, result)
            }
            Err(error) => {
                log::info!(
                    "request {id}: {} in {elapsed} ms{}",
                    error.code.as_str(),
                    error
                        .status_word
                        .as_deref()
                        .map(|sw| format!(" (status {sw})"))
                        .unwrap_or_default()
                );
                Response::failure(Some(id), error)
            }
        }
    }

    fn run(&mut self, command: Command) -> Result<Value, WireError> {
        let result = match command {
            Command::Status => handlers::status::handle(),
            Command::Certificates => handlers::certificates::handle(),
            Command::Authenticate(args) => handlers::authenticate::handle(args),
            Command::Sign(args) => handlers::sign::handle(args),
            Command::PinStatus(args) => handlers::pin_status::handle(args),
            Command::ChangePin(args) => handlers::change_pin::handle(args),
            Command::Unlock(args) => handlers::unlock::handle(args),
            Command::Watch => self.start_watch(),
        };
        result.map_err(HostError::into_wire)
    }

    fn start_watch(&mut self) -> Result<Value, HostError> {
        if self.watch.is_none() {
            let watch = Watch::start(Arc::clone(&self.writer)).map_err(|e| {
                HostError::wire(ErrorCode::Internal, format!("cannot start watching: {e}"))
            })?;
            self.watch = Some(watch);
        }
        Ok(Value::Object(Default::default()))
    }

    /// Writes a reply; one that would break the browser's 1 MiB limit becomes ERR_INTERNAL.
    /// Returns false when stdout is gone.
    fn send(&self, response: Response) -> bool {
        let id = match &response {
            Response::Success { id, .. } => Some(*id),
            Response::Failure { id, .. } => *id,
        };
        match self.writer.write_frame(&response.to_vec()) {
            Ok(()) => true,
            Err(FrameError::OutgoingTooLarge(len)) => {
                log::error!("reply of {len} bytes is too large");
                let error =
                    WireError::new(ErrorCode::Internal, "The answer was too large to send.");
                self.writer
                    .write_frame(&Response::failure(id, error).to_vec())
                    .is_ok()
            }
            Err(e) => {
                log::warn!("cannot write reply: {e}");
                false
            }
        }
    }
}

/// Overwrites every string in the arguments (PIN, PUK, new PIN) before the value is dropped.
fn wipe(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => map.values_mut().for_each(wipe),
        _ => {}
    }
}
