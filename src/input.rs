//! The one door through which user input files are read: corpus files,
//! scenarios, recorded decisions, keyword lists, suites to import and
//! statements of reasons.
//!
//! Input arrives from elsewhere — corpora come as pull requests that CI
//! validates — so every read is bounded ([`DATA_LIMIT`], [`TOML_LIMIT`]), only
//! regular files are read (a FIFO would block and `/dev/zero` never ends), and
//! files a corpus names must resolve inside the corpus directory
//! ([`read_inside`]), so a symbolic link cannot make `validate` quote a file
//! from elsewhere. UTF-16 files are refused with one clear message; a UTF-8
//! byte-order mark is accepted and left out of the content.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;

/// The most bytes read from one input file of some kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub bytes: u64,
    /// How the limit reads in a message, e.g. "1 GiB".
    pub label: &'static str,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label)
    }
}

/// Data files: case files, templates, groups, suites to import, recorded
/// decisions, keyword lists, statements of reasons.
pub const DATA_LIMIT: Limit = Limit {
    bytes: 1 << 30,
    label: "1 GiB",
};

/// TOML files: corpus manifests and scenarios.
pub const TOML_LIMIT: Limit = Limit {
    bytes: 1 << 20,
    label: "1 MiB",
};

/// Why an input file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("does not exist")]
    NotFound,
    /// A directory, FIFO, socket or device.
    #[error("not a regular file ({0})")]
    NotRegularFile(&'static str),
    #[error("larger than the {0} limit for this kind of file")]
    TooLarge(Limit),
    #[error("UTF-16 is not supported; save as UTF-8")]
    Utf16,
    #[error("resolves to a path outside the corpus directory; symbolic links in a corpus must point inside it")]
    OutsideDirectory,
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
}

impl ReadError {
    /// The error as a problem of the file at `path`.
    pub fn at(&self, path: &Path) -> Diagnostic {
        Diagnostic::file(path, self.to_string())
    }

    fn from_io(error: std::io::Error) -> ReadError {
        if error.kind() == std::io::ErrorKind::NotFound {
            ReadError::NotFound
        } else {
            ReadError::Io(error)
        }
    }
}

/// The bytes of an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputBytes {
    raw: Vec<u8>,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

impl InputBytes {
    /// Every byte of the file, as hashed for a manifest.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The content to parse: the file without a leading UTF-8 byte-order mark.
    pub fn content(&self) -> &[u8] {
        self.raw.strip_prefix(UTF8_BOM).unwrap_or(&self.raw)
    }

    /// [`InputBytes::content`], taken without a copy.
    pub fn into_content(mut self) -> Vec<u8> {
        if self.raw.starts_with(UTF8_BOM) {
            self.raw.drain(..UTF8_BOM.len());
        }
        self.raw
    }
}

/// Reads a regular file of at most `limit` bytes that is not UTF-16.
pub fn read_input(path: &Path, limit: Limit) -> Result<InputBytes, ReadError> {
    let metadata = std::fs::metadata(path).map_err(ReadError::from_io)?;
    check_regular(&metadata)?;
    if metadata.len() > limit.bytes {
        return Err(ReadError::TooLarge(limit));
    }
    let file = File::open(path).map_err(ReadError::from_io)?;
    check_regular(&file.metadata().map_err(ReadError::Io)?)?;
    let mut raw = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(limit.bytes + 1)
        .read_to_end(&mut raw)
        .map_err(ReadError::Io)?;
    if raw.len() as u64 > limit.bytes {
        return Err(ReadError::TooLarge(limit));
    }
    if looks_like_utf16(&raw) {
        return Err(ReadError::Utf16);
    }
    Ok(InputBytes { raw })
}

/// Reads `relative` (a path inside `dir`, as a corpus manifest names it) with
/// [`read_input`], after checking that its real path — symbolic links and `..`
/// resolved — is inside the real path of `dir`. A link to another file of the
/// same directory is followed.
pub fn read_inside(dir: &Path, relative: &Path, limit: Limit) -> Result<InputBytes, ReadError> {
    read_input(&resolve_inside(dir, relative)?, limit)
}

/// [`open_input`] for `relative`, a path inside `dir`, checked as
/// [`read_inside`] checks it.
pub fn open_inside(dir: &Path, relative: &Path, limit: Limit) -> Result<InputStream, ReadError> {
    open_input(&resolve_inside(dir, relative)?, limit)
}

/// Opens a regular file of at most `limit` bytes that is not UTF-16, to be
/// read piece by piece ([`InputStream`]) rather than held whole.
pub fn open_input(path: &Path, limit: Limit) -> Result<InputStream, ReadError> {
    let metadata = std::fs::metadata(path).map_err(ReadError::from_io)?;
    check_regular(&metadata)?;
    if metadata.len() > limit.bytes {
        return Err(ReadError::TooLarge(limit));
    }
    let mut file = File::open(path).map_err(ReadError::from_io)?;
    check_regular(&file.metadata().map_err(ReadError::Io)?)?;
    let line_breaks = count_line_breaks(&mut file, limit)?;
    file.seek(SeekFrom::Start(0)).map_err(ReadError::Io)?;
    let mut stream = InputStream {
        file: file.take(limit.bytes + 1),
        limit,
        prefix: Vec::with_capacity(SNIFF_BYTES),
        served: 0,
        hasher: Sha256::new(),
        read: 0,
        skipped: 0,
        line_breaks,
    };
    while stream.prefix.len() < SNIFF_BYTES {
        let mut piece = [0u8; SNIFF_BYTES];
        let wanted = SNIFF_BYTES - stream.prefix.len();
        match stream.file.read(&mut piece[..wanted]) {
            Ok(0) => break,
            Ok(n) => stream.prefix.extend_from_slice(&piece[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    if looks_like_utf16(&stream.prefix) {
        return Err(ReadError::Utf16);
    }
    stream.hasher.update(&stream.prefix);
    stream.read = stream.prefix.len() as u64;
    if stream.prefix.starts_with(UTF8_BOM) {
        stream.served = UTF8_BOM.len();
        stream.skipped = UTF8_BOM.len() as u64;
    }
    Ok(stream)
}

/// The line breaks of `file` (`\n`, `\r\n` and a lone `\r` one each),
/// read to its end, within `limit`.
fn count_line_breaks(file: &mut File, limit: Limit) -> Result<LineBreaks, ReadError> {
    let mut breaks = LineBreaks::default();
    let mut buffer = vec![0u8; 1 << 16];
    let mut total = 0u64;
    let mut after_cr = false;
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => return Ok(breaks),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        total += n as u64;
        if total > limit.bytes {
            return Err(ReadError::TooLarge(limit));
        }
        for &byte in &buffer[..n] {
            match byte {
                b'\r' => breaks.count += 1,
                b'\n' if !after_cr => breaks.count += 1,
                _ => {}
            }
            after_cr = byte == b'\r';
        }
        breaks.ends_with_break = matches!(buffer[n - 1], b'\r' | b'\n');
        breaks.empty = false;
    }
}

/// What a first pass over a file found of its lines.
#[derive(Debug, Clone, Copy)]
pub struct LineBreaks {
    /// Line breaks (`\n`, `\r\n` and a lone `\r` one each).
    pub count: u64,
    /// Whether the last byte is a line break.
    pub ends_with_break: bool,
    /// Whether the file has no bytes.
    pub empty: bool,
}

impl Default for LineBreaks {
    fn default() -> LineBreaks {
        LineBreaks {
            count: 0,
            ends_with_break: false,
            empty: true,
        }
    }
}

impl LineBreaks {
    /// The lines holding something: every line a break ends, and a last
    /// line without one.
    pub fn lines(&self) -> u64 {
        self.count + u64::from(!self.empty && !self.ends_with_break)
    }
}

/// An input file being read: at most its limit (a file that grows past it
/// while read is an error of the read), hashed as it is read, its UTF-8
/// byte-order mark left out of the bytes it yields (but hashed).
pub struct InputStream {
    file: std::io::Take<File>,
    limit: Limit,
    /// The first bytes, read to recognise UTF-16 and the mark; yielded first.
    prefix: Vec<u8>,
    /// How much of `prefix` has been yielded (or skipped, the mark).
    served: usize,
    hasher: Sha256,
    /// Bytes read from the file.
    read: u64,
    /// The length of the byte-order mark, when there is one.
    skipped: u64,
    line_breaks: LineBreaks,
}

impl std::fmt::Debug for InputStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputStream")
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

impl InputStream {
    /// The bytes of the file before the content yielded: the byte-order mark.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The file's lines, as counted when it was opened.
    pub fn line_breaks(&self) -> LineBreaks {
        self.line_breaks
    }

    /// Reads whatever is left and gives the sha256 (lower-case hex) and the
    /// length of every byte of the file, the mark included.
    pub fn finish(mut self) -> std::io::Result<(String, u64)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok((hex::encode(self.hasher.finalize()), self.read))
    }
}

impl Read for InputStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.served < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.served);
            buf[..n].copy_from_slice(&self.prefix[self.served..self.served + n]);
            self.served += n;
            if self.served == self.prefix.len() {
                // the first bytes are not needed again
                self.prefix = Vec::new();
                self.served = 0;
            }
            return Ok(n);
        }
        let n = self.file.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit.bytes {
            return Err(std::io::Error::other(ReadError::TooLarge(self.limit)));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn resolve_inside(dir: &Path, relative: &Path) -> Result<PathBuf, ReadError> {
    let root = std::fs::canonicalize(dir).map_err(ReadError::from_io)?;
    let real = std::fs::canonicalize(dir.join(relative)).map_err(ReadError::from_io)?;
    if real.starts_with(&root) {
        Ok(real)
    } else {
        Err(ReadError::OutsideDirectory)
    }
}

fn check_regular(metadata: &std::fs::Metadata) -> Result<(), ReadError> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return Ok(());
    }
    if kind.is_dir() {
        return Err(ReadError::NotRegularFile("a directory"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Err(ReadError::NotRegularFile("a FIFO"));
        }
        if kind.is_socket() {
            return Err(ReadError::NotRegularFile("a socket"));
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Err(ReadError::NotRegularFile("a device"));
        }
    }
    Err(ReadError::NotRegularFile("a special file"))
}

/// How many leading bytes are looked at for NUL bytes.
const SNIFF_BYTES: usize = 4096;

/// A UTF-16 byte-order mark, or NUL bytes in at least a quarter of the first
/// bytes (UTF-16 text in Latin script is half NUL bytes; UTF-8 text has none).
fn looks_like_utf16(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    let sample = &bytes[..bytes.len().min(SNIFF_BYTES)];
    let nul = sample.iter().filter(|&&b| b == 0).count();
    sample.len() >= 2 && nul * 4 >= sample.len()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn utf16_is_recognised_with_or_without_a_mark() {
        let le: Vec<u8> = "id,lang\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = "id,lang\n".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert!(looks_like_utf16(&le));
        assert!(looks_like_utf16(&be));
        assert!(looks_like_utf16(&[0xFF, 0xFE, b'x', b'y', b'z']));
        assert!(!looks_like_utf16("id,lang\nكلمة\n".as_bytes()));
        assert!(!looks_like_utf16(b""));
        assert!(!looks_like_utf16(b"\xEF\xBB\xBFid"));
    }

    #[test]
    fn the_utf8_mark_is_not_content_but_is_hashed() {
        let input = InputBytes {
            raw: b"\xEF\xBB\xBFid,lang\n".to_vec(),
        };
        assert_eq!(input.content(), b"id,lang\n");
        assert_eq!(input.raw().len(), 11);
    }

    #[test]
    fn limits_are_enforced_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.toml");
        std::fs::write(&path, vec![b'#'; 2048]).unwrap();
        let small = Limit {
            bytes: 1024,
            label: "1 KiB",
        };
        let error = read_input(&path, small).unwrap_err();
        assert_eq!(error.to_string(), "larger than the 1 KiB limit for this kind of file");
        assert!(read_input(&path, TOML_LIMIT).is_ok());
        assert!(matches!(
            read_input(dir.path(), TOML_LIMIT),
            Err(ReadError::NotRegularFile("a directory"))
        ));
        assert!(matches!(
            read_input(&dir.path().join("none"), TOML_LIMIT),
            Err(ReadError::NotFound)
        ));
    }

    #[test]
    fn a_stream_yields_the_content_and_hashes_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cases.csv");
        let mut raw = b"\xEF\xBB\xBFid,text\r\na,\"two\rlines\"\n\nb,x".to_vec();
        // longer than the first bytes looked at, so the file is read in pieces
        raw.extend(std::iter::repeat_n(b'y', 3 * SNIFF_BYTES));
        std::fs::write(&path, &raw).unwrap();
        let mut stream = open_input(&path, DATA_LIMIT).unwrap();
        assert_eq!(stream.skipped(), 3);
        let breaks = stream.line_breaks();
        assert_eq!((breaks.count, breaks.lines()), (4, 5));
        let mut content = Vec::new();
        let mut piece = [0u8; 7];
        loop {
            let n = stream.read(&mut piece).unwrap();
            if n == 0 {
                break;
            }
            content.extend_from_slice(&piece[..n]);
        }
        assert_eq!(content, raw[3..]);
        let (sha256, bytes) = stream.finish().unwrap();
        assert_eq!(sha256, crate::hash::sha256_hex(&raw));
        assert_eq!(bytes, raw.len() as u64);
        // unread bytes are read by `finish` for the hash
        let (unread_sha256, _) = open_input(&path, DATA_LIMIT).unwrap().finish().unwrap();
        assert_eq!(unread_sha256, sha256);
    }

    #[test]
    fn a_stream_refuses_utf16_and_a_file_grown_past_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cases.csv");
        let utf16: Vec<u8> = "id,lang\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        std::fs::write(&path, utf16).unwrap();
        assert!(matches!(open_input(&path, DATA_LIMIT), Err(ReadError::Utf16)));
        assert!(matches!(
            open_input(dir.path(), DATA_LIMIT),
            Err(ReadError::NotRegularFile("a directory"))
        ));
        let small = Limit {
            bytes: 8 * 1024,
            label: "8 KiB",
        };
        std::fs::write(&path, vec![b'a'; 6 * 1024]).unwrap();
        let mut stream = open_input(&path, small).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&[b'b'; 4 * 1024])
            .unwrap();
        let error = std::io::copy(&mut stream, &mut std::io::sink()).unwrap_err();
        assert_eq!(error.to_string(), "larger than the 8 KiB limit for this kind of file");
        std::fs::write(&path, vec![b'a'; 9 * 1024]).unwrap();
        assert!(matches!(open_input(&path, small), Err(ReadError::TooLarge(_))));
    }

    #[cfg(unix)]
    #[test]
    fn links_must_stay_inside_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let corpus = tmp.path().join("corpus");
        std::fs::create_dir_all(corpus.join("sub")).unwrap();
        std::fs::write(corpus.join("sub/real.csv"), "a\n").unwrap();
        std::fs::write(tmp.path().join("secret"), "s\n").unwrap();
        std::os::unix::fs::symlink("sub/real.csv", corpus.join("inside.csv")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret"), corpus.join("outside.csv")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), corpus.join("up")).unwrap();
        let read = |p: &str| read_inside(&corpus, Path::new(p), DATA_LIMIT);
        assert_eq!(read("inside.csv").unwrap().content(), b"a\n");
        assert!(matches!(read("outside.csv"), Err(ReadError::OutsideDirectory)));
        assert!(matches!(read("up/secret"), Err(ReadError::OutsideDirectory)));
        assert!(read("sub/../sub/real.csv").is_ok());
        assert!(matches!(read("missing.csv"), Err(ReadError::NotFound)));
    }
}
