//! Errors of the virtual card's setup and I/O (APDU problems are status words, not errors).

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum VcardError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("card state: {0}")]
    State(String),
    #[error("key: {0}")]
    Key(String),
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("{0}")]
    Usage(String),
}

impl VcardError {
    pub fn io(path: &Path, source: std::io::Error) -> VcardError {
        VcardError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
