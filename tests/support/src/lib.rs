//! Test infrastructure for carecard: isolated PC/SC stacks and a driver for `carecard-host`.
//!
//! A [`Stack`] is a private pcscd (in its own mount namespace, socket in a temp dir) with its
//! own vpcd port pair, so tests run in parallel and never touch a system pcscd. Virtual cards
//! ([`CardDir`]) are created and served by the `carecard-vcard` binary; [`HostProcess`] runs the
//! real `carecard-host` against a stack and speaks native-messaging frames to it.
//!
//! A test process must never use PC/SC itself: pcsc-lite reads `PCSCLITE_CSOCK_NAME` once per
//! process, so every PC/SC client (host, `pkcs11-tool`, the `carecard-stack wait` probe) is a
//! child process given [`Stack::env`].
//!
//! Every child is killed when its owner is dropped (also while panicking) and, through
//! `setpriv --pdeathsig`, when the thread that created it ends — so keep a `Stack` in the
//! thread that started it.

pub mod apdu_log;
mod bins;
pub mod framing;
mod host;
pub mod pcscd;
pub mod ports;
pub mod probe;
mod process;
mod stack;

pub use bins::{bin_path, BinDirError};
pub use host::{HostProcess, DEV_EXTENSION_ORIGIN};
pub use stack::{CardDir, InsertedCard, ServeOptions, Stack, StackOptions};
