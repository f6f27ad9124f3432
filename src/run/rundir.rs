//! The run directory: one run's journal, manifest and reports, held by one
//! process at a time through an advisory lock on `.lock`.
//!
//! A directory is a run when it holds `manifest.json`. A new run is written only
//! into a new or empty directory, or, with `--force`, into a non-empty one that
//! holds no run; a directory that holds a run is only ever continued.
//!
//! A run of several targets keeps each target's manifest, journal and reports
//! in `targets/<label>/` ([`RunDir::target_dir`]), so that each is a run of
//! that target alone; the manifest of the whole and the reports that compare
//! the targets are at the top.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::fsutil::write_atomically;
use crate::manifest::RunManifest;
use crate::report::threshold_text;

/// The manifest's file name inside a run directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The directory of a run of several targets that holds one directory per
/// target (`targets/<label>/`), with its journal and its own reports.
pub const TARGETS_DIR: &str = "targets";
const LOCK_FILE: &str = ".lock";

/// A run directory this process holds.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    /// Held for as long as the process uses the directory; the OS drops the lock
    /// when the process exits, however it exits.
    _lock: File,
}

impl RunDir {
    /// Creates (or takes an empty) directory for a new run. With `force`, a
    /// non-empty directory that holds no run is taken too: the run's files are
    /// created or replaced there, and no other file is touched.
    pub fn create(path: &Path, force: bool) -> Result<RunDir, Error> {
        check_new_run_dir(path, force)?;
        std::fs::create_dir_all(path).map_err(Error::io(path))?;
        let dir = RunDir::lock(path)?;
        // Another process may have started a run here since the check.
        check_new_run_dir(path, true)?;
        Ok(dir)
    }

    /// Opens the directory of an existing run, to continue or re-report it;
    /// the directory of a re-analysis at another threshold is no run.
    pub fn open(path: &Path) -> Result<RunDir, Error> {
        if let Some(o) = read_manifest(path)?.threshold_override {
            return Err(Error::RunDir {
                path: path.to_path_buf(),
                message: format!(
                    "holds a re-analysis at threshold {threshold} of the run in {}, not a run; re-render it from the run: `modaudit report {} --threshold {threshold}`",
                    o.run_dir.display(),
                    o.run_dir.display(),
                    threshold = threshold_text(o.threshold)
                ),
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

    /// The directory of target `label` in a run of several targets.
    pub fn target_dir(&self, label: &str) -> PathBuf {
        self.path.join(TARGETS_DIR).join(label)
    }

    pub fn read_manifest(&self) -> Result<RunManifest, Error> {
        read_manifest(&self.path)
    }

    pub fn write_manifest(&self, manifest: &RunManifest) -> Result<(), Error> {
        write_manifest_in(&self.path, manifest)
    }
}

/// Writes `manifest` as the `manifest.json` of `dir` (a run, or one target's
/// directory in a run of several, which the run's lock covers).
pub fn write_manifest_in(dir: &Path, manifest: &RunManifest) -> Result<(), Error> {
    let mut bytes = serde_json::to_vec_pretty(manifest).map_err(|e| Error::io(dir.join(MANIFEST_FILE))(e.into()))?;
    bytes.push(b'\n');
    write_atomically(&dir.join(MANIFEST_FILE), &bytes)
}

/// Whether the run in `dir` is a run of several targets (it has a
/// `targets/` directory).
pub fn is_several(dir: &Path) -> bool {
    dir.join(TARGETS_DIR).is_dir()
}

/// A fresh per-run secret for [`RunManifest::idempotency_secret`]: 32 bytes
/// from the operating system's random number generator, hex-encoded.
pub fn new_idempotency_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::io("the operating system's random number generator")(e.into()))?;
    Ok(hex::encode(bytes))
}

/// Refuses a directory a new run may not be written into: an existing file, a
/// directory that holds a run (or what is left of one), or — unless `force` — a
/// non-empty directory.
fn check_new_run_dir(path: &Path, force: bool) -> Result<(), Error> {
    let refuse = |message: String| {
        Err(Error::RunDir {
            path: path.to_path_buf(),
            message,
        })
    };
    if !path.exists() {
        return Ok(());
    }
    if !path.is_dir() {
        return refuse("is not a directory; --out names the directory the run is written into".into());
    }
    if path.join(MANIFEST_FILE).exists() {
        return refuse(format!(
            "already holds a run; continue it with `modaudit run --resume {}`, or choose another --out",
            path.display()
        ));
    }
    for (left, what) in [
        (crate::journal::JOURNAL_FILE, crate::journal::JOURNAL_FILE),
        (TARGETS_DIR, "`targets` directory"),
    ] {
        if path.join(left).exists() {
            return refuse(format!(
                "holds a {what} but no {MANIFEST_FILE}, what is left of a run; choose another --out"
            ));
        }
    }
    let mut entries = std::fs::read_dir(path).map_err(Error::io(path))?;
    let is_lock = |entry: &std::io::Result<std::fs::DirEntry>| entry.as_ref().is_ok_and(|e| e.file_name() == LOCK_FILE);
    if !force && entries.any(|entry| !is_lock(&entry)) {
        return refuse(
            "is not empty and holds no modaudit run; choose a new or empty directory, or pass --force to write \
             the run's files into it (files with their names are replaced, no other file is touched)"
                .into(),
        );
    }
    Ok(())
}

/// Refuses a path that holds no run: the one message for every command that
/// expects a run directory.
fn check_is_run(dir: &Path) -> Result<(), Error> {
    if dir.join(MANIFEST_FILE).is_file() {
        Ok(())
    } else {
        Err(Error::RunDir {
            path: dir.to_path_buf(),
            message: format!("is not a modaudit run directory (it holds no {MANIFEST_FILE})"),
        })
    }
}

/// Reads a run's manifest (no lock needed to read).
pub fn read_manifest(dir: &Path) -> Result<RunManifest, Error> {
    check_is_run(dir)?;
    let path = dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(Error::io(&path))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::Invalid(crate::diagnostic::Diagnostics(vec![crate::diagnostic::Diagnostic {
            line: Some(e.line() as u64),
            ..crate::diagnostic::Diagnostic::file(&path, format!("not a valid run manifest: {e}"))
        }]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunDir::create(dir.path(), false).unwrap();
        let err = RunDir::create(dir.path(), false).unwrap_err();
        assert!(matches!(err, Error::RunDirBusy { .. }), "{err}");
        assert!(err.to_string().contains(&format!("pid {}", std::process::id())));
        drop(first);
        RunDir::create(dir.path(), false).unwrap();
    }

    #[test]
    fn secrets_are_32_random_bytes_in_hex() {
        let (a, b) = (new_idempotency_secret().unwrap(), new_idempotency_secret().unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn a_new_run_takes_a_new_or_empty_directory_and_force_takes_one_without_a_run() {
        let tmp = tempfile::tempdir().unwrap();
        drop(RunDir::create(&tmp.path().join("new"), false).unwrap());
        let users = tmp.path().join("users");
        std::fs::create_dir(&users).unwrap();
        std::fs::write(users.join("notes.txt"), "mine").unwrap();
        let err = RunDir::create(&users, false).unwrap_err();
        assert!(
            err.to_string().contains("is not empty and holds no modaudit run"),
            "{err}"
        );
        assert!(!users.join(LOCK_FILE).exists(), "a refused directory is not written to");
        drop(RunDir::create(&users, true).unwrap());
        std::fs::write(users.join(MANIFEST_FILE), "{}").unwrap();
        let err = RunDir::create(&users, true).unwrap_err();
        assert!(err.to_string().contains("already holds a run"), "{err}");
        std::fs::remove_file(users.join(MANIFEST_FILE)).unwrap();
        std::fs::write(users.join(crate::journal::JOURNAL_FILE), "").unwrap();
        let err = RunDir::create(&users, true).unwrap_err();
        assert!(err.to_string().contains("but no manifest.json"), "{err}");
        let err = RunDir::create(&users.join("notes.txt"), true).unwrap_err();
        assert!(err.to_string().contains("is not a directory"), "{err}");
    }
}
