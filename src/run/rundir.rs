//! The run directory: one run's journal, manifest and reports, held by one
//! process at a time through an advisory lock on `.lock`.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::rate_limit::RateLimiting;
use crate::error::Error;
use crate::scenario::CorpusRecord;
use crate::target::TargetInfo;

/// The manifest's file name inside a run directory.
pub const MANIFEST_FILE: &str = "manifest.json";
const LOCK_FILE: &str = ".lock";

/// Everything a third party needs to reproduce a run, written when the run starts
/// and completed when it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub tool: String,
    pub tool_version: String,
    pub run_id: String,
    pub scenario: ScenarioRecord,
    pub corpora: Vec<CorpusRecord>,
    pub target: TargetInfo,
    pub seed: u64,
    /// Cases in the plan.
    pub cases: u64,
    pub started_at: DateTime<Utc>,
    /// When the run was continued after an interruption.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed_at: Vec<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What the target's rate limiting cost, over every part of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limiting: Option<RateLimiting>,
    /// sha256 of every output file, once the run has finished.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
}

/// The scenario a run executed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioRecord {
    pub name: String,
    /// Absolute path when the run started.
    pub path: PathBuf,
    pub sha256: String,
}

/// A run directory this process holds.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    /// Held for as long as the process uses the directory; the OS drops the lock
    /// when the process exits, however it exits.
    _lock: File,
}

impl RunDir {
    /// Creates (or takes an empty) directory for a new run.
    pub fn create(path: &Path) -> Result<RunDir, Error> {
        std::fs::create_dir_all(path).map_err(Error::io(path))?;
        let dir = RunDir::lock(path)?;
        if path.join(MANIFEST_FILE).exists() || path.join(crate::journal::JOURNAL_FILE).exists() {
            return Err(Error::RunDir {
                path: path.to_path_buf(),
                message: "already holds a run; continue it with `modaudit run --resume` or choose another --out".into(),
            });
        }
        Ok(dir)
    }

    /// Opens the directory of an existing run, to continue or re-report it.
    pub fn open(path: &Path) -> Result<RunDir, Error> {
        if !path.join(MANIFEST_FILE).is_file() {
            return Err(Error::RunDir {
                path: path.to_path_buf(),
                message: format!("holds no run (no {MANIFEST_FILE})"),
            });
        }
        RunDir::lock(path)
    }

    fn lock(path: &Path) -> Result<RunDir, Error> {
        let lock_path = path.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(Error::io(&lock_path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&lock_path)
                    .ok()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty());
                return Err(Error::RunDirBusy {
                    path: path.to_path_buf(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path)(e)),
        }
        file.set_len(0).map_err(Error::io(&lock_path))?;
        let _ = writeln!(file, "pid {}", std::process::id());
        Ok(RunDir {
            path: path.to_path_buf(),
            _lock: file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn read_manifest(&self) -> Result<RunManifest, Error> {
        read_manifest(&self.path)
    }

    pub fn write_manifest(&self, manifest: &RunManifest) -> Result<(), Error> {
        let mut bytes =
            serde_json::to_vec_pretty(manifest).map_err(|e| Error::io(self.path.join(MANIFEST_FILE))(e.into()))?;
        bytes.push(b'\n');
        write_atomically(&self.path.join(MANIFEST_FILE), &bytes)
    }
}

/// Reads a run's manifest (no lock needed to read).
pub fn read_manifest(dir: &Path) -> Result<RunManifest, Error> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(Error::io(&path))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::Invalid(crate::diagnostic::Diagnostics(vec![crate::diagnostic::Diagnostic {
            line: Some(e.line() as u64),
            ..crate::diagnostic::Diagnostic::file(&path, format!("not a valid run manifest: {e}"))
        }]))
    })
}

/// Writes a file so that readers see either the old or the new content, never a
/// mix: write a temporary file beside it, fsync, rename over.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let mut file = File::create(&tmp).map_err(Error::io(&tmp))?;
    file.write_all(bytes).map_err(Error::io(&tmp))?;
    file.sync_all().map_err(Error::io(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(Error::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunDir::create(dir.path()).unwrap();
        let err = RunDir::create(dir.path()).unwrap_err();
        assert!(matches!(err, Error::RunDirBusy { .. }), "{err}");
        assert!(err.to_string().contains(&format!("pid {}", std::process::id())));
        drop(first);
        RunDir::create(dir.path()).unwrap();
    }
}
