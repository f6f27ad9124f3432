//! The response cache: what a remote system answered about a case, kept on disk
//! so that re-running or resuming an audit does not call (or bill) it again.
//!
//! Entries live under `<root>/<target fingerprint>/`, one file per case keyed by
//! the sha256 of its id, language and text. The fingerprint covers everything
//! that determines the answers (endpoint, model, attributes, thresholds) and
//! never the key. Writes are atomic; an unreadable entry is treated as a miss.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::hash::sha256_hex;
use crate::moderator::{ModerationRequest, Verdict};

/// Where the cache lives when neither the scenario nor the command line says.
pub fn default_cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("MODAUDIT_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("modaudit");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("modaudit"),
        None => PathBuf::from(".modaudit-cache"),
    }
}

#[derive(Serialize, Deserialize)]
struct Entry {
    case_id: String,
    stored_at: chrono::DateTime<chrono::Utc>,
    verdict: Verdict,
}

/// The cache of one target.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache for the target with `fingerprint` under `root`.
    pub fn open(root: &Path, fingerprint: &str) -> Self {
        Cache {
            dir: root.join(fingerprint),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, request: &ModerationRequest<'_>) -> PathBuf {
        let key = sha256_hex(format!("{}\0{}\0{}", request.id, request.lang, request.text).as_bytes());
        self.dir.join(&key[..2]).join(format!("{key}.json"))
    }

    /// The cached answer for a case, if any.
    pub fn get(&self, request: &ModerationRequest<'_>) -> Option<Verdict> {
        let bytes = std::fs::read(self.path(request)).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        (entry.case_id == request.id).then_some(entry.verdict)
    }

    /// Stores an answer. Failing to store is not fatal (the answer is journaled
    /// anyway); the error is returned for the caller to report.
    pub fn put(&self, request: &ModerationRequest<'_>, verdict: &Verdict) -> std::io::Result<()> {
        let path = self.path(request);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let entry = Entry {
            case_id: request.id.to_string(),
            stored_at: chrono::Utc::now(),
            verdict: verdict.clone(),
        };
        let bytes = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Action;

    #[test]
    fn stores_and_finds_answers_by_case() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), "fp");
        let request = ModerationRequest {
            id: "a",
            lang: "en",
            text: "hello",
        };
        assert_eq!(cache.get(&request), None);
        let verdict = Verdict {
            action: Some(Action::Remove),
            score: Some(0.9),
            ..Verdict::default()
        };
        cache.put(&request, &verdict).unwrap();
        assert_eq!(cache.get(&request), Some(verdict));
        assert_eq!(
            cache.get(&ModerationRequest {
                text: "other",
                ..request
            }),
            None
        );
        assert_eq!(Cache::open(dir.path(), "other-target").get(&request), None);
    }
}
