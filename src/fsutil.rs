//! Writing files so that a crash never leaves one half-written: every output
//! file, manifest and imported corpus goes through [`write_atomically`], or
//! [`write_atomically_streaming`] for one written piece by piece.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::hash::HashingWriter;

/// Writes a file so that readers see either the old or the new content, never a
/// mix: write a temporary file beside it, fsync, rename over.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_atomically_streaming(path, |out| out.write_all(bytes)).map(|_| ())
}

/// Writes a file as [`write_atomically`] does, its content written by `write`
/// piece by piece (never held whole in memory); returns the content's sha256,
/// taken while it was written.
pub fn write_atomically_streaming(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<String, Error> {
    let tmp = temporary_beside(path);
    let mut out = HashingWriter::new(File::create(&tmp).map_err(Error::io(&tmp))?);
    write(&mut out).map_err(Error::io(&tmp))?;
    out.flush().map_err(Error::io(&tmp))?;
    let (file, sha256) = out.finish();
    file.sync_all().map_err(Error::io(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(Error::io(path))?;
    Ok(sha256)
}

/// The temporary file a file is written to before it is renamed over `path`.
fn temporary_beside(path: &Path) -> PathBuf {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{file_name}.tmp"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_new_content_replaces_the_old_and_no_temporary_file_remains() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        super::write_atomically(&path, b"old").unwrap();
        super::write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_streamed_file_is_hashed_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.csv");
        let sha = super::write_atomically_streaming(&path, |out| (0..1000).try_for_each(|i| writeln!(out, "row {i}")))
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(b"row 0\nrow 1\n"));
        assert_eq!(sha, crate::hash::sha256_hex(&bytes));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
