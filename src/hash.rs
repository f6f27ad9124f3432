//! Content hashes for manifests, caches and evidence, and the canonical JSON
//! text that stable hashes of structured values are taken over. Files are
//! hashed as they are written ([`HashingWriter`]) or read piece by piece
//! ([`sha256_file`]), never held whole in memory for it.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A sha256 digest held as its 32 bytes (a hex `String` would take three
/// times that, on the heap), written in files and text as lower-case hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Digest([u8; 32]);

/// Text that is not the 64 hex digits of a sha256 digest.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a sha256 digest in hex (64 hex digits)")]
pub struct NotADigest(String);

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; 64];
        hex::encode_to_slice(self.0, &mut text).map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

impl FromStr for Sha256Digest {
    type Err = NotADigest;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| NotADigest(text.to_string()))?;
        Ok(Sha256Digest(bytes))
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Lower-case hex sha256 of a file's content, read in pieces.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Ok(hex::encode(hasher.finalize())),
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A writer that passes bytes on to `inner` and takes the sha256 of every
/// byte `inner` accepted.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The writer and the lower-case hex sha256 of what was written to it.
    pub fn finish(self) -> (W, String) {
        (self.inner, hex::encode(self.hasher.finalize()))
    }

    /// The sha256 of what was written, as its bytes.
    pub fn digest(self) -> Sha256Digest {
        Sha256Digest(self.hasher.finalize().into())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The JSON text of `value` with every object's keys in sorted order and no
/// whitespace: equal values give equal text, whatever order their maps keep.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_reads_and_writes_the_hex_of_its_bytes() {
        let hex = sha256_hex(b"abc");
        let digest: Sha256Digest = hex.parse().expect("64 hex digits");
        assert_eq!(digest.to_string(), hex);
        let mut hashed = HashingWriter::new(io::sink());
        hashed.write_all(b"abc").expect("written");
        assert_eq!(hashed.digest(), digest);
        let json = serde_json::to_string(&digest).expect("serialized");
        assert_eq!(json, format!("\"{hex}\""));
        assert_eq!(serde_json::from_str::<Sha256Digest>(&json).expect("read"), digest);
        for bad in ["", "abc", &hex[..62], &hex.replace('b', "g")] {
            assert!(bad.parse::<Sha256Digest>().is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Sha256Digest>("\"not hex\"").is_err());
    }

    #[test]
    fn known_vector() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bytes_hashed_while_written_or_read_back_match_the_one_shot_hash() {
        use std::io::Write;
        let text: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut writer = super::HashingWriter::new(Vec::new());
        for piece in text.chunks(7_777) {
            writer.write_all(piece).unwrap();
        }
        let (written, hash) = writer.finish();
        assert_eq!(written, text);
        assert_eq!(hash, super::sha256_hex(&text));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(super::sha256_file(&path).unwrap(), hash);
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let value = serde_json::json!({"b": [1, {"z": null, "a": "é\"x"}], "a": 0.5});
        assert_eq!(
            super::canonical_json(&value),
            r#"{"a":0.5,"b":[1,{"a":"é\"x","z":null}]}"#
        );
    }
}
