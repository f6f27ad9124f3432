//! Writing files so that a crash never leaves one half-written: every output
//! file, manifest and imported corpus goes through [`write_atomically`].

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::Error;

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
    #[test]
    fn the_new_content_replaces_the_old_and_no_temporary_file_remains() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        super::write_atomically(&path, b"old").unwrap();
        super::write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
