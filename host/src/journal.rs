//! The renewal journal (INTERFACES.md): per card, which key slots have a key generated (or being
//! generated) whose certificate is not yet written. No secrets: slots, steps, public keys.
//! Written atomically (temp file + rename), 0600, beside the log.

use carecard_protocol::{CertificateSlot, PendingRenewal, RenewalStep};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Journals larger than this are not ours (two slots' entries are a few hundred bytes).
const MAX_JOURNAL: u64 = 64 * 1024;

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    pending: Vec<PendingRenewal>,
}

#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
}

impl Journal {
    /// The journal folder beside the log (`<log dir>/journal`).
    pub fn beside_log() -> Option<Journal> {
        crate::logging::log_dir().map(|dir| Journal {
            dir: dir.join("journal"),
        })
    }

    #[cfg(test)]
    pub fn at(dir: PathBuf) -> Journal {
        Journal { dir }
    }

    fn path(&self, card_id: &str) -> PathBuf {
        // card_id is hex made by the host, never the peer's text.
        self.dir.join(format!("{card_id}.json"))
    }

    /// The unfinished steps for a card; an unreadable journal is logged and read as empty (the
    /// card itself is the authority: a mismatched certificate still fails at login).
    pub fn pending(&self, card_id: &str) -> Vec<PendingRenewal> {
        match read(&self.path(card_id)) {
            Ok(file) => file.pending,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                log::warn!("renewal journal of card {card_id} unreadable: {e}");
                Vec::new()
            }
        }
    }

    /// Records the step for `slot`, replacing an earlier one.
    pub fn record(
        &self,
        card_id: &str,
        slot: CertificateSlot,
        step: RenewalStep,
        public_key: Option<String>,
    ) -> io::Result<()> {
        let mut pending = self.pending(card_id);
        pending.retain(|p| p.slot != slot);
        pending.push(PendingRenewal {
            slot,
            step,
            public_key,
            at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        });
        self.write(card_id, pending)
    }

    /// Forgets `slot` (its certificate was written); removes the file when nothing is left.
    pub fn finish(&self, card_id: &str, slot: CertificateSlot) -> io::Result<()> {
        let mut pending = self.pending(card_id);
        pending.retain(|p| p.slot != slot);
        if pending.is_empty() {
            match std::fs::remove_file(self.path(card_id)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        } else {
            self.write(card_id, pending)
        }
    }

    fn write(&self, card_id: &str, pending: Vec<PendingRenewal>) -> io::Result<()> {
        create_private_dir(&self.dir)?;
        let bytes = serde_json::to_vec_pretty(&File { pending }).map_err(io::Error::other)?;
        let path = self.path(card_id);
        let temp = path.with_extension("json.tmp");
        write_private(&temp, &bytes)?;
        std::fs::rename(&temp, &path)
    }
}

fn read(path: &Path) -> io::Result<File> {
    let metadata = std::fs::metadata(path)?;
    if metadata.len() > MAX_JOURNAL {
        return Err(io::Error::other("too large"));
    }
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(io::Error::other)
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    // The journal must survive a crash right after this step: flush it to the disk.
    file.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn records_and_finishes_steps_per_slot() {
        let dir = std::env::temp_dir().join(format!("carecard-journal-{}", std::process::id()));
        let journal = Journal::at(dir.clone());
        let card = "ab12";
        assert!(journal.pending(card).is_empty());
        journal
            .record(
                card,
                CertificateSlot::Authentication,
                RenewalStep::Generating,
                None,
            )
            .unwrap();
        journal
            .record(
                card,
                CertificateSlot::Authentication,
                RenewalStep::KeyGenerated,
                Some("MFkw".into()),
            )
            .unwrap();
        journal
            .record(
                card,
                CertificateSlot::Signature,
                RenewalStep::Generating,
                None,
            )
            .unwrap();
        let pending = journal.pending(card);
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[0].step, RenewalStep::KeyGenerated);
        assert_eq!(pending[0].public_key.as_deref(), Some("MFkw"));
        journal
            .finish(card, CertificateSlot::Authentication)
            .unwrap();
        journal.finish(card, CertificateSlot::Signature).unwrap();
        assert!(journal.pending(card).is_empty());
        assert!(!journal.path(card).exists(), "an empty journal is removed");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
