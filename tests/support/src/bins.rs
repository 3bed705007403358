//! Where the workspace binaries are: `$CARECARD_BIN_DIR`, else next to the running executable
//! (`target/<profile>/` for binaries and examples is the executable's own folder; for test and
//! bench executables, which live in `target/<profile>/deps/`, it is the parent folder).

use std::env;
use std::fmt;
use std::path::{Path, PathBuf};

/// A workspace binary could not be found; says where it looked and how to build it.
#[derive(Debug)]
pub struct BinDirError {
    name: String,
    looked_in: Vec<PathBuf>,
}

impl fmt::Display for BinDirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "binary `{}` not found in {:?}; build it first with `cargo build --workspace --bins` \
             or point CARECARD_BIN_DIR at the folder holding it",
            self.name, self.looked_in
        )
    }
}

impl std::error::Error for BinDirError {}

impl From<BinDirError> for std::io::Error {
    fn from(e: BinDirError) -> Self {
        std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string())
    }
}

/// The folders searched, in order.
fn candidate_dirs() -> Vec<PathBuf> {
    if let Some(dir) = env::var_os("CARECARD_BIN_DIR") {
        return vec![PathBuf::from(dir)];
    }
    let mut dirs = Vec::new();
    if let Some(exe_dir) = env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        if let Some(parent) = exe_dir.parent() {
            dirs.push(parent.to_path_buf());
        }
        dirs.insert(0, exe_dir);
    }
    dirs
}

/// The path of workspace binary `name` (e.g. `carecard-host`).
pub fn bin_path(name: &str) -> Result<PathBuf, BinDirError> {
    let looked_in = candidate_dirs();
    looked_in
        .iter()
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| BinDirError {
            name: name.to_owned(),
            looked_in,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_names_the_folders_and_the_fix() {
        let err = bin_path("carecard-no-such-binary").expect_err("must not exist");
        let text = err.to_string();
        assert!(text.contains("carecard-no-such-binary"), "{text}");
        assert!(text.contains("cargo build --workspace --bins"), "{text}");
        assert!(!err.looked_in.is_empty());
    }

    #[test]
    fn finds_a_file_next_to_the_test_executable() {
        // The test executable itself sits in one of the searched folders (unless overridden).
        if env::var_os("CARECARD_BIN_DIR").is_some() {
            return;
        }
        let exe = env::current_exe().expect("current_exe");
        let name = exe
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        assert_eq!(bin_path(name).expect("found"), exe);
    }
}
