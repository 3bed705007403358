//! `watch`: a thread with its own PC/SC context that blocks in SCardGetStatusChange on every
//! reader plus the PnP pseudo-reader (through `ReaderWatcher`) and pushes events. The card is
//! never polled. When the service goes away it says `pcsc-unavailable` and tries to connect
//! again every second.

use crate::framing::FrameWriter;
use carecard_card::{CardError, Pcsc, ReaderInfo};
use carecard_protocol::{hex_upper, Event};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long one SCardGetStatusChange waits before checking whether the host is stopping.
/// (The card crate's watcher owns its context, so the host cannot SCardCancel it; a bounded
/// wait gives a clean stop at EOF within this time.)
const WAIT: Duration = Duration::from_millis(300);
const RETRY: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct Watch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watch {
    pub fn start(writer: Arc<FrameWriter>) -> std::io::Result<Watch> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("watch".into())
            .spawn(move || run(&writer, &flag))?;
        Ok(Watch {
            stop,
            thread: Some(thread),
        })
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!("watch thread panicked");
            }
        }
    }
}

/// Why following a PC/SC context ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Stopped,
    Unavailable,
    /// Some other PC/SC failure: start over with a fresh context, without an event.
    Failed,
}

fn run(writer: &FrameWriter, stop: &AtomicBool) {
    // The readers as last reported; `None` until the first snapshot (which is not an event:
    // the extension asks `status` for the current state).
    let mut known: Option<Vec<ReaderInfo>> = None;
    let mut unavailable = false;
    loop {
        let ended = match Pcsc::establish() {
            Ok(pcsc) => {
                unavailable = false;
                follow(&pcsc, writer, stop, &mut known)
            }
            Err(CardError::PcscUnavailable) => Ended::Unavailable,
            Err(e) => {
                log::info!("watch: cannot reach PC/SC: {e}");
                Ended::Failed
            }
        };
        if ended == Ended::Stopped || stop.load(Ordering::Relaxed) {
            break;
        }
        if ended == Ended::Unavailable && !unavailable {
            unavailable = true;
            emit(writer, &Event::PcscUnavailable);
            // Readers vanish with the service; when it returns they are reported as added.
            known = Some(Vec::new());
        }
        sleep_unless_stopped(RETRY, stop);
    }
    log::debug!("watch stopped");
}

/// Follows changes until the service stops or the host does.
fn follow(
    pcsc: &Pcsc,
    writer: &FrameWriter,
    stop: &AtomicBool,
    known: &mut Option<Vec<ReaderInfo>>,
) -> Ended {
    let mut watcher = pcsc.watcher();
    while !stop.load(Ordering::Relaxed) {
        match watcher.wait(WAIT) {
            Ok(Some(now)) => {
                if let Some(before) = known.as_ref() {
                    for event in diff(before, &now) {
                        emit(writer, &event);
                    }
                }
                *known = Some(now);
            }
            Ok(None) => {}
            Err(CardError::PcscUnavailable) => return Ended::Unavailable,
            Err(e) => {
                log::info!("watch: {e}");
                return Ended::Failed;
            }
        }
    }
    Ended::Stopped
}

/// The events that turn `before` into `now`.
pub fn diff(before: &[ReaderInfo], now: &[ReaderInfo]) -> Vec<Event> {
    let mut events = Vec::new();
    for old in before {
        if !now.iter().any(|n| n.name == old.name) {
            if old.atr.is_some() {
                events.push(Event::CardRemoved {
                    reader: old.name.clone(),
                });
            }
            events.push(Event::ReaderRemoved {
                reader: old.name.clone(),
            });
        }
    }
    for new in now {
        let old = before.iter().find(|o| o.name == new.name);
        if old.is_none() {
            events.push(Event::ReaderAdded {
                reader: new.name.clone(),
            });
        }
        let old_atr = old.and_then(|o| o.atr.as_ref());
        if old_atr.is_some() && old_atr != new.atr.as_ref() {
            events.push(Event::CardRemoved {
                reader: new.name.clone(),
            });
        }
        if let Some(atr) = new.atr.as_ref().filter(|a| Some(*a) != old_atr) {
            events.push(Event::CardInserted {
                reader: new.name.clone(),
                atr: hex_upper(atr),
            });
        }
    }
    events
}

fn emit(writer: &FrameWriter, event: &Event) {
    match serde_json::to_vec(event) {
        Ok(bytes) => {
            log::info!("event {}", String::from_utf8_lossy(&bytes));
            if let Err(e) = writer.write_frame(&bytes) {
                log::warn!("cannot write event: {e}");
            }
        }
        Err(e) => log::error!("cannot encode event: {e}"),
    }
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(50);
    let mut slept = Duration::ZERO;
    while slept < total && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(step);
        slept += step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, atr: Option<&[u8]>) -> ReaderInfo {
        ReaderInfo {
            name: name.into(),
            atr: atr.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn card_in_and_out() {
        let empty = [r("A", None)];
        let full = [r("A", Some(&[0x3B, 0x88]))];
        assert_eq!(
            diff(&empty, &full),
            vec![Event::CardInserted {
                reader: "A".into(),
                atr: "3B88".into()
            }]
        );
        assert_eq!(
            diff(&full, &empty),
            vec![Event::CardRemoved { reader: "A".into() }]
        );
        assert!(diff(&full, &full).is_empty());
    }

    #[test]
    fn readers_come_and_go_with_their_cards() {
        let none: [ReaderInfo; 0] = [];
        let full = [r("A", Some(&[1]))];
        assert_eq!(
            diff(&none, &full),
            vec![
                Event::ReaderAdded { reader: "A".into() },
                Event::CardInserted {
                    reader: "A".into(),
                    atr: "01".into()
                }
            ]
        );
        assert_eq!(
            diff(&full, &none),
            vec![
                Event::CardRemoved { reader: "A".into() },
                Event::ReaderRemoved { reader: "A".into() }
            ]
        );
    }

    #[test]
    fn swapped_card_is_removed_then_inserted() {
        let a = [r("A", Some(&[1]))];
        let b = [r("A", Some(&[2]))];
        assert_eq!(
            diff(&a, &b),
            vec![
                Event::CardRemoved { reader: "A".into() },
                Event::CardInserted {
                    reader: "A".into(),
                    atr: "02".into()
                }
            ]
        );
    }
}
