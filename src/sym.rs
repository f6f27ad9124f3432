//! Interned strings: a case's id, language, category, groups and family are
//! each a [`Sym`], four bytes that name one string held once for the whole
//! process.
//!
//! A million cases share a few dozen languages, categories and groups; as
//! `String`s each case would carry its own copies (24 bytes of handle and a
//! heap block per field). A `Sym` compares and hashes as a number, so tallies
//! keyed by symbols never touch the text; it orders by its text, so anything
//! sorted by symbols reads in the same order as when sorted by strings.
//!
//! Interned text lives until the process ends: it is copied into large
//! append-only blocks that are never freed (a program that interns the values
//! of its corpora holds them for its whole life anyway). Interning takes a
//! lock; reading a symbol's text takes none.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroU32;
use std::ops::Deref;
use std::sync::{LazyLock, Mutex, PoisonError};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An interned string.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sym(NonZeroU32);

/// Bytes of one block that interned text is copied into.
const BLOCK: usize = 64 * 1024;

/// Every interned string, by `Sym` number less one. Appending never moves
/// what is already there, so reading needs no lock.
static STRINGS: boxcar::Vec<&'static str> = boxcar::Vec::new();

/// Finds the number of a string already interned.
static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(|| {
    Mutex::new(Table {
        index: hashbrown::HashTable::new(),
        // Keyed per process: corpus text is adversarial, and a fixed hash
        // would let a crafted corpus make every id collide.
        hasher: RandomState::new(),
        free: &mut [],
    })
});

struct Table {
    /// The position in [`STRINGS`] of every interned string, by its hash.
    index: hashbrown::HashTable<u32>,
    hasher: RandomState,
    /// The unused tail of the current block.
    free: &'static mut [u8],
}

impl Table {
    /// A copy of `text` that lives as long as the process.
    fn keep(&mut self, text: &str) -> &'static str {
        if text.len() > BLOCK / 16 {
            return Box::leak(text.into());
        }
        if self.free.len() < text.len() {
            // zeroed pages cost nothing until they are written
            self.free = Box::leak(vec![0u8; BLOCK].into_boxed_slice());
        }
        let free = std::mem::take(&mut self.free);
        let (kept, rest) = free.split_at_mut(text.len());
        kept.copy_from_slice(text.as_bytes());
        self.free = rest;
        match std::str::from_utf8(kept) {
            Ok(kept) => kept,
            // copied from a `str`, so always valid
            Err(_) => unreachable!("interned bytes are copied from a str"),
        }
    }
}

impl Sym {
    /// The symbol of `text`, interning it the first time it is seen.
    pub fn new(text: &str) -> Sym {
        let mut table = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
        let hash = table.hasher.hash_one(text);
        if let Some(&at) = table.index.find(hash, |&at| STRINGS[at as usize] == text) {
            return Sym::at(at);
        }
        let kept = table.keep(text);
        let at = u32::try_from(STRINGS.push(kept)).expect("fewer than 2^32 - 1 distinct strings");
        let Table { index, hasher, .. } = &mut *table;
        index.insert_unique(hash, at, |&other| hasher.hash_one(STRINGS[other as usize]));
        Sym::at(at)
    }

    fn at(at: u32) -> Sym {
        Sym(NonZeroU32::MIN.saturating_add(at))
    }

    /// The symbol of `text` if it was ever interned, without interning it.
    pub fn existing(text: &str) -> Option<Sym> {
        let table = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
        let hash = table.hasher.hash_one(text);
        table
            .index
            .find(hash, |&at| STRINGS[at as usize] == text)
            .map(|&at| Sym::at(at))
    }

    /// The interned text.
    pub fn as_str(self) -> &'static str {
        STRINGS[(self.0.get() - 1) as usize]
    }

    /// How many strings are interned: every symbol's number is below it.
    pub fn count() -> usize {
        STRINGS.count()
    }

    /// The symbol's number: dense from 0 in the order strings were first
    /// interned, so a table indexed by it needs no hashing.
    pub fn number(self) -> usize {
        (self.0.get() - 1) as usize
    }
}

impl Default for Sym {
    /// The empty string.
    fn default() -> Sym {
        Sym::new("")
    }
}

impl Deref for Sym {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Sym {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialOrd for Sym {
    fn partial_cmp(&self, other: &Sym) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Sym {
    /// By text, as strings sort.
    fn cmp(&self, other: &Sym) -> Ordering {
        if self == other {
            Ordering::Equal
        } else {
            self.as_str().cmp(other.as_str())
        }
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl From<&str> for Sym {
    fn from(text: &str) -> Sym {
        Sym::new(text)
    }
}

impl From<&String> for Sym {
    fn from(text: &String) -> Sym {
        Sym::new(text)
    }
}

impl From<String> for Sym {
    fn from(text: String) -> Sym {
        Sym::new(&text)
    }
}

impl From<Cow<'_, str>> for Sym {
    fn from(text: Cow<'_, str>) -> Sym {
        Sym::new(&text)
    }
}

impl From<Sym> for String {
    fn from(sym: Sym) -> String {
        sym.as_str().to_string()
    }
}

impl PartialEq<str> for Sym {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Sym {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Sym {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Sym> for str {
    fn eq(&self, other: &Sym) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Sym> for &str {
    fn eq(&self, other: &Sym) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Sym> for String {
    fn eq(&self, other: &Sym) -> bool {
        self == other.as_str()
    }
}

impl Serialize for Sym {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Sym {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Sym, D::Error> {
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Sym::new(&text))
    }
}

impl schemars::JsonSchema for Sym {
    fn schema_name() -> Cow<'static, str> {
        String::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }

    fn inline_schema() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_the_same_symbol_and_reads_back() {
        let a = Sym::new("sym-test-reclaimed_term");
        let b = Sym::from(String::from("sym-test-reclaimed_term"));
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "sym-test-reclaimed_term");
        assert_ne!(a, Sym::new("sym-test-counter_speech"));
        assert_eq!(Sym::existing("sym-test-reclaimed_term"), Some(a));
        assert_eq!(Sym::existing("sym-test-never-interned"), None);
        assert_eq!(Sym::default(), "");
    }

    #[test]
    fn symbols_order_by_their_text() {
        // interned in the opposite order to the alphabet
        let z = Sym::new("sym-order-z");
        let a = Sym::new("sym-order-a");
        let m = Sym::new("sym-order-m");
        let mut sorted = vec![z, m, a];
        sorted.sort();
        assert_eq!(sorted, vec![a, m, z]);
    }

    #[test]
    fn long_and_many_strings_survive_new_blocks() {
        let long = "x".repeat(BLOCK);
        let long_sym = Sym::new(&long);
        let many: Vec<(String, Sym)> = (0..20_000)
            .map(|i| {
                let text = format!("sym-many-{i}-{}", "y".repeat(i % 50));
                let sym = Sym::new(&text);
                (text, sym)
            })
            .collect();
        assert_eq!(long_sym.as_str(), long);
        for (text, sym) in &many {
            assert_eq!(sym.as_str(), text);
            assert_eq!(Sym::new(text), *sym);
        }
    }

    #[test]
    fn interning_from_several_threads_agrees() {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..2_000)
                        .map(|i| Sym::new(&format!("sym-thread-{i}")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let results: Vec<Vec<Sym>> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
        for other in &results[1..] {
            assert_eq!(&results[0], other);
        }
        assert_eq!(results[0][1234].as_str(), "sym-thread-1234");
    }

    #[test]
    fn a_symbol_serializes_as_its_text() {
        let sym = Sym::new("sym-serde-news_reporting");
        let json = serde_json::to_string(&sym).expect("serialize");
        assert_eq!(json, "\"sym-serde-news_reporting\"");
        let back: Sym = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, sym);
        assert_eq!(std::mem::size_of::<Option<Sym>>(), 4);
    }
}
