//! The request loop: frames in, one request served at a time (card operations are never
//! concurrent), one reply frame out per request.

use crate::config::Config;
use crate::errors::HostError;
use crate::framing::{self, FrameError, FrameWriter, Incoming};
use crate::handlers::{self, watch::Watch};
use crate::session::Sessions;
use carecard_protocol::envelope::json::wipe;
use carecard_protocol::{
    command_names, parse_request, Command, ErrorCode, OriginPolicy, Response, SessionId, WireError,
};
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
    /// The card session of multi-step card management; dropped (card reset) with the host.
    sessions: Sessions,
}

impl Host {
    pub fn new(config: &Config, writer: Arc<FrameWriter>) -> Host {
        Host {
            writer,
            policy: OriginPolicy {
                developer_mode: config.developer_mode,
            },
            watch: None,
            sessions: Sessions::new(),
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
                // The name is the peer's text (a confused caller could put a PIN there): log it
                // only when it is a command we know.
                match command_names().find(|n| *n == request.command) {
                    Some(name) => log::info!("request {id}: {name} refused"),
                    None => log::info!("request {id}: unknown command refused"),
                }
                Err(e)
            }
        };
        request.command.zeroize();
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
        let result = match command.session().cloned() {
            Some(id) => self.run_in_session(&id, command),
            None => self.run_shared(command),
        };
        result.map_err(HostError::into_wire)
    }

    fn run_shared(&mut self, command: Command) -> Result<Value, HostError> {
        match command {
            Command::Status => handlers::status::handle(),
            Command::Certificates => handlers::certificates::handle(),
            Command::Cards => handlers::cards::handle(),
            Command::Authenticate(args) => handlers::authenticate::handle(args, None),
            Command::Sign(args) => handlers::sign::handle(args),
            Command::PinStatus(args) => handlers::pin_status::handle(args, None),
            Command::ChangePin(args) => handlers::change_pin::handle(args, None),
            Command::Unlock(args) => handlers::unlock::handle(args, None),
            Command::Watch => self.start_watch(),
            Command::SessionOpen(args) => handlers::session::open(args, &mut self.sessions),
            // Every other command names a session, so it never arrives here.
            other => Err(HostError::wire(
                ErrorCode::InvalidRequest,
                format!("{} needs a card session", other.name()),
            )),
        }
    }

    /// A command naming the card session runs on the session's card, under its lock.
    fn run_in_session(&mut self, id: &SessionId, command: Command) -> Result<Value, HostError> {
        use handlers::management as m;
        if let Command::SessionClose(id) = &command {
            return handlers::session::close(id, &self.sessions);
        }
        self.sessions.with(id, |session| match command {
            Command::Authenticate(args) => {
                handlers::authenticate::handle(args, Some(&mut session.card))
            }
            Command::PinStatus(args) => handlers::pin_status::handle(args, Some(&mut session.card)),
            Command::ChangePin(args) => handlers::change_pin::handle(args, Some(&mut session.card)),
            Command::Unlock(args) => handlers::unlock::handle(args, Some(&mut session.card)),
            Command::VerifyPin(args) => m::verify_pin(args, session),
            Command::ManagementAuthenticate(args) => m::management_authenticate(args, session),
            Command::GenerateKey(args) => m::generate_key(args, session),
            Command::ProvePossession(args) => m::prove_possession(args, session),
            Command::WriteCertificate(args) => m::write_certificate(args, session),
            Command::PutData(args) => m::put_data(args, session),
            other => Err(HostError::wire(
                ErrorCode::InvalidRequest,
                format!("{} does not run in a card session", other.name()),
            )),
        })
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
