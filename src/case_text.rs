//! The text of a case: held in memory, or a location in the corpus file it
//! was loaded from, read back when a run sends it or a report prints it.
//!
//! A million cases of a few dozen words each hold their texts in a hundred
//! megabytes or so, although a run needs a case's text only for the moment it
//! asks the moderation system and when it writes decisions.csv. A case loaded
//! from a corpus CSV file therefore keeps only where its record sits in that
//! file ([`FileText`]: which file, byte offset and length, and a keyed 64-bit
//! checksum of the text); the text is re-parsed from that record with the same
//! CSV settings when needed, so quoting and escaping read back exactly.
//!
//! The files are kept in a process-wide, append-only registry (`SOURCES`),
//! each opened once and read with positioned reads (no re-open, no seek per
//! case on Unix). A file changed after it was loaded is detected by the
//! checksum and reported ([`TextError`]) — never sent as some other text.
//! Texts that are not a byte-identical part of a file (templates, perturbation
//! variants, imported suites before they are written, tests) are held.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde::{Serialize, Serializer};

use crate::csv_record::first_record;

/// The text of a case.
#[derive(Clone)]
pub enum CaseText {
    /// The text itself.
    Held(Box<str>),
    /// Where the text sits in a corpus file.
    InFile(FileText),
}

/// Where a case's text sits in a corpus file registered with [`register_source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileText {
    /// Keyed 64-bit hash of the text as loaded, as two halves: four-byte
    /// alignment lets the enum's tag sit beside this struct, keeping a
    /// [`CaseText`] as small as a `String`.
    checksum: [u32; 2],
    /// Index of the file in [`SOURCES`].
    source: u32,
    /// Byte offset of the record from the start of the parsed content (after
    /// any byte-order mark); corpus files are at most 1 GiB.
    offset: u32,
    /// Bytes of the record, line terminator included.
    len: u32,
}

/// A case's text could not be read back from its corpus file.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// The record no longer holds the text that was loaded.
    #[error("corpus file {} changed since it was loaded: case {case}", path.display())]
    Changed { path: PathBuf, case: String },
    /// The file could not be read.
    #[error("corpus file {} cannot be read back: case {case}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        case: String,
        #[source]
        source: std::io::Error,
    },
}

/// Why a located text could not be read, before the case is named.
#[derive(Debug)]
enum ReadBack {
    Changed(&'static Source),
    Unreadable(&'static Source, std::io::Error),
}

impl ReadBack {
    fn for_case(self, case: &str) -> TextError {
        match self {
            ReadBack::Changed(source) => TextError::Changed {
                path: source.path.clone(),
                case: case.to_string(),
            },
            ReadBack::Unreadable(source, error) => TextError::Unreadable {
                path: source.path.clone(),
                case: case.to_string(),
                source: error,
            },
        }
    }
}

/// One corpus file texts are read back from.
#[derive(Debug)]
pub struct Source {
    /// As the corpus names it (joined to the corpus directory).
    path: PathBuf,
    file: OpenFile,
    /// Bytes before the parsed content: a UTF-8 byte-order mark, or none.
    skipped: u64,
    /// Position of the `text` column in a record.
    text_column: usize,
    /// What the file looked like when registered, to share one entry between
    /// loads of an unchanged file.
    identity: Identity,
}

/// Every corpus file registered, by index. Appending never moves an entry, so
/// reading needs no lock; a file stays open until the process ends.
static SOURCES: boxcar::Vec<Source> = boxcar::Vec::new();

/// Serialises registration, so that an unchanged file is registered once.
static REGISTERING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Keyed per process: a checksum an author of corpus text cannot aim at.
static CHECKSUM_KEY: LazyLock<RandomState> = LazyLock::new(RandomState::new);

fn checksum(text: &str) -> [u32; 2] {
    let hash = CHECKSUM_KEY.hash_one(text);
    [(hash >> 32) as u32, hash as u32]
}

/// The file's length, modification time and (on Unix) device and inode.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    len: u64,
    modified: Option<std::time::SystemTime>,
    node: (u64, u64),
}

impl Identity {
    fn of(metadata: &std::fs::Metadata) -> Identity {
        #[cfg(unix)]
        let node = {
            use std::os::unix::fs::MetadataExt;
            (metadata.dev(), metadata.ino())
        };
        #[cfg(not(unix))]
        let node = (0, 0);
        Identity {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            node,
        }
    }
}

/// An open file read at positions: `pread` on Unix, seek and read under a
/// lock elsewhere.
#[derive(Debug)]
struct OpenFile {
    #[cfg(unix)]
    file: File,
    #[cfg(not(unix))]
    file: std::sync::Mutex<File>,
}

impl OpenFile {
    fn new(file: File) -> OpenFile {
        #[cfg(unix)]
        return OpenFile { file };
        #[cfg(not(unix))]
        return OpenFile {
            file: std::sync::Mutex::new(file),
        };
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.file.read_exact_at(buf, offset)
        }
        #[cfg(not(unix))]
        {
            use std::io::{Read, Seek, SeekFrom};
            let mut file = self.file.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            file.seek(SeekFrom::Start(offset))?;
            file.read_exact(buf)
        }
    }
}

/// A registered corpus file that case texts can point into.
#[derive(Debug, Clone, Copy)]
pub struct SourceId(u32);

/// Registers the case file at `path`, whose parsed content starts `skipped`
/// bytes into the file and whose `text` column is `text_column`. `None` when
/// it cannot be opened again (its texts are then held).
pub fn register_source(path: &Path, skipped: u64, text_column: usize) -> Option<SourceId> {
    let file = File::open(path).ok()?;
    let identity = Identity::of(&file.metadata().ok()?);
    let _registering = REGISTERING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let known = SOURCES.iter().find(|(_, s)| {
        s.path == path && s.skipped == skipped && s.text_column == text_column && s.identity == identity
    });
    let index = match known {
        Some((index, _)) => index,
        None => SOURCES.push(Source {
            path: path.to_path_buf(),
            file: OpenFile::new(file),
            skipped,
            text_column,
            identity,
        }),
    };
    u32::try_from(index).ok().map(SourceId)
}

impl CaseText {
    /// The text of a record of a registered file: the record starts at
    /// `offset` of the parsed content and is `len` bytes long. Held when the
    /// location does not fit.
    pub fn in_file(source: Option<SourceId>, offset: u64, len: u64, text: String) -> CaseText {
        let located = source.and_then(|source| {
            Some(FileText {
                checksum: checksum(&text),
                source: source.0,
                offset: u32::try_from(offset).ok()?,
                len: u32::try_from(len).ok()?,
            })
        });
        match located {
            Some(location) => CaseText::InFile(location),
            None => CaseText::Held(text.into_boxed_str()),
        }
    }

    /// The text; `case` names the case in the error when the file it is read
    /// back from has changed or cannot be read.
    pub fn read(&self, case: &str) -> Result<Cow<'_, str>, TextError> {
        match self {
            CaseText::Held(text) => Ok(Cow::Borrowed(text)),
            CaseText::InFile(location) => location.read().map(Cow::Owned).map_err(|e| e.for_case(case)),
        }
    }

    /// The text when it is held, without reading any file.
    pub fn held(&self) -> Option<&str> {
        match self {
            CaseText::Held(text) => Some(text),
            CaseText::InFile(_) => None,
        }
    }
}

impl FileText {
    fn read(&self) -> Result<String, ReadBack> {
        let Some(source) = SOURCES.get(self.source as usize) else {
            unreachable!("a FileText is made only from a registered source")
        };
        let mut record = vec![0; self.len as usize];
        source
            .file
            .read_exact_at(&mut record, source.skipped + u64::from(self.offset))
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => ReadBack::Changed(source),
                _ => ReadBack::Unreadable(source, e),
            })?;
        let text = field_of_record(&record, source.text_column).ok_or(ReadBack::Changed(source))?;
        if checksum(&text) == self.checksum {
            Ok(text)
        } else {
            Err(ReadBack::Changed(source))
        }
    }
}

/// Field `column` of the one CSV record in `bytes`, parsed with the settings
/// the case loader uses (the `csv` crate's defaults, which are `csv_core`'s).
fn field_of_record(bytes: &[u8], column: usize) -> Option<String> {
    first_record(bytes)?.get(column).map(str::to_string)
}

impl From<&str> for CaseText {
    fn from(text: &str) -> CaseText {
        CaseText::Held(text.into())
    }
}

impl From<String> for CaseText {
    fn from(text: String) -> CaseText {
        CaseText::Held(text.into_boxed_str())
    }
}

impl fmt::Debug for CaseText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseText::Held(text) => fmt::Debug::fmt(text, f),
            CaseText::InFile(location) => {
                let path = SOURCES.get(location.source as usize).map(|s| s.path.as_path());
                f.debug_struct("InFile")
                    .field("path", &path)
                    .field("offset", &location.offset)
                    .field("len", &location.len)
                    .finish()
            }
        }
    }
}

/// Equal when the texts are equal; a text that cannot be read back equals
/// only the same location.
impl PartialEq for CaseText {
    fn eq(&self, other: &CaseText) -> bool {
        if let (CaseText::InFile(a), CaseText::InFile(b)) = (self, other)
            && a == b
        {
            return true;
        }
        match (self.read(""), other.read("")) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// Equal when the text reads back as `other`.
impl PartialEq<&str> for CaseText {
    fn eq(&self, other: &&str) -> bool {
        self.read("").is_ok_and(|text| text == *other)
    }
}

/// Serialised as the text; a text that cannot be read back is an error.
impl Serialize for CaseText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.read("").map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_text_reads_as_itself() {
        let text = CaseText::from("hello");
        assert_eq!(text.read("a").unwrap(), "hello");
        assert_eq!(text, CaseText::from("hello".to_string()));
    }

    #[test]
    fn a_record_is_reparsed_with_its_quoting() {
        let record = b"a1,en,\"Hi, \"\"you\"\"\r\nthere \xc3\xa9\",protected\r\n";
        assert_eq!(field_of_record(record, 2).as_deref(), Some("Hi, \"you\"\r\nthere é"));
        assert_eq!(field_of_record(b"\na,b\n", 1).as_deref(), Some("b"));
        assert_eq!(field_of_record(b"a,b\n", 5), None);
        assert_eq!(field_of_record(b"a,\"b\"\"c\"", 1).as_deref(), Some("b\"c"));
        assert_eq!(field_of_record(b"a,b,c,d\r\n", 0).as_deref(), Some("a"));
        assert_eq!(field_of_record(b"a,,c\n", 1).as_deref(), Some(""));
    }

    #[test]
    fn a_location_is_no_larger_than_a_string() {
        assert!(std::mem::size_of::<CaseText>() <= std::mem::size_of::<String>());
    }
}
