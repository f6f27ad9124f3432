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
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{LazyLock, Mutex, OnceLock, PoisonError};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An interned string.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sym(NonZeroU32);

/// Bytes of one block that interned text is copied into.
const BLOCK: usize = 64 * 1024;

/// The longest text copied into a block; a longer one is a piece of its own.
const LONGEST_IN_BLOCK: usize = BLOCK / 16;

/// The length an entry gives a text that is a whole piece of its own.
const WHOLE_PIECE: u64 = 0xffff;

/// Entries per segment of [`ENTRIES`]: 2^16 segments of 2^16 hold every `u32`.
const SEGMENT_BITS: u32 = 16;
const SEGMENT: usize = 1 << SEGMENT_BITS;

/// Every interned string, by `Sym` number less one: where its text sits, as
/// one number (see [`Entry`]). Eight bytes a string, in segments allocated
/// as they fill and never moved, so reading takes no lock.
static ENTRIES: [OnceLock<Box<[AtomicU64; SEGMENT]>>; SEGMENT] = [const { OnceLock::new() }; SEGMENT];

/// The finished pieces of text: a block's text up to where it was sealed
/// (sealing leaves the rest of the block to the next piece), or one long
/// text. A block is sealed when it is full or when its text is first read
/// without the lock; the texts interned since are read under the lock.
static PIECES: boxcar::Vec<&'static str> = boxcar::Vec::new();

/// How many strings are interned.
static COUNT: AtomicU32 = AtomicU32::new(0);

/// Where one interned text sits: its piece, its offset in the piece, its
/// length ([`WHOLE_PIECE`]: all of the piece).
#[derive(Clone, Copy)]
struct Entry {
    piece: usize,
    offset: usize,
    len: u64,
}

impl Entry {
    /// Piece number plus one in the high half (so no entry is zero), offset
    /// and length in the low one.
    fn pack(self) -> u64 {
        ((self.piece as u64 + 1) << 32) | ((self.offset as u64) << 16) | self.len
    }

    fn unpack(packed: u64) -> Entry {
        assert!(packed != 0, "a symbol read before it was interned");
        Entry {
            piece: ((packed >> 32) - 1) as usize,
            offset: ((packed >> 16) & 0xffff) as usize,
            len: packed & 0xffff,
        }
    }

    /// The text in `piece`, the piece this entry names.
    fn in_piece(self, piece: &str) -> &str {
        if self.len == WHOLE_PIECE {
            piece
        } else {
            &piece[self.offset..self.offset + self.len as usize]
        }
    }
}

/// The entry of string number `at`.
fn entry(at: u32) -> Entry {
    let segment = ENTRIES[(at >> SEGMENT_BITS) as usize]
        .get()
        .expect("a symbol read before it was interned");
    Entry::unpack(segment[at as usize & (SEGMENT - 1)].load(AtomicOrdering::Acquire))
}

/// The text of string number `at`, without the lock unless its block is
/// still being filled.
fn text_at(at: u32) -> &'static str {
    let entry = entry(at);
    if let Some(piece) = PIECES.get(entry.piece) {
        return entry.in_piece(piece);
    }
    let mut table = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
    if PIECES.get(entry.piece).is_none() {
        table.seal();
    }
    entry.in_piece(PIECES[entry.piece])
}

/// Finds the number of a string already interned, and interns new ones.
static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(|| {
    Mutex::new(Table {
        index: hashbrown::HashTable::new(),
        // Keyed per process: corpus text is adversarial, and a fixed hash
        // would let a crafted corpus make every id collide.
        hasher: RandomState::new(),
        block: &mut [],
        used: 0,
        pieces: 0,
    })
});

struct Table {
    /// The number of every interned string, by its hash.
    index: hashbrown::HashTable<u32>,
    hasher: RandomState,
    /// The block being filled: its first `used` bytes are the text of the
    /// next piece, the rest is free.
    block: &'static mut [u8],
    used: usize,
    /// How many pieces are finished: the number the block's piece will have.
    pieces: usize,
}

impl Table {
    /// Finishes the piece of the block being filled, if it holds any text.
    fn seal(&mut self) {
        if self.used == 0 {
            return;
        }
        let block = std::mem::take(&mut self.block);
        let (written, rest) = block.split_at_mut(self.used);
        let text = match std::str::from_utf8(written) {
            Ok(text) => text,
            Err(_) => unreachable!("a block holds only text copied from strs"),
        };
        self.finish_piece(text);
        self.block = rest;
        self.used = 0;
    }

    fn finish_piece(&mut self, text: &'static str) {
        let number = PIECES.push(text);
        debug_assert_eq!(number, self.pieces, "pieces are pushed only under the lock");
        self.pieces += 1;
    }

    /// Copies `text` where it will live as long as the process.
    fn keep(&mut self, text: &str) -> Entry {
        // The empty text too: an empty piece is never sealed, since sealing
        // skips a block that holds no text.
        if text.len() > LONGEST_IN_BLOCK || text.is_empty() {
            self.seal();
            let piece = self.pieces;
            self.finish_piece(Box::leak(text.into()));
            return Entry {
                piece,
                offset: 0,
                len: WHOLE_PIECE,
            };
        }
        if self.block.len() - self.used < text.len() {
            self.seal();
            // zeroed pages cost nothing until they are written
            self.block = Box::leak(vec![0u8; BLOCK].into_boxed_slice());
        }
        let offset = self.used;
        self.block[offset..offset + text.len()].copy_from_slice(text.as_bytes());
        self.used += text.len();
        Entry {
            piece: self.pieces,
            offset,
            len: text.len() as u64,
        }
    }

    /// The text of string number `at`, under the lock: from its piece, or
    /// from the block being filled.
    fn text(&self, at: u32) -> &str {
        let entry = entry(at);
        match PIECES.get(entry.piece) {
            Some(piece) => entry.in_piece(piece),
            None => match std::str::from_utf8(&self.block[entry.offset..entry.offset + entry.len as usize]) {
                Ok(text) => text,
                Err(_) => unreachable!("a block holds only text copied from strs"),
            },
        }
    }

    /// Appends `text` as the next string and returns its number.
    fn push(&mut self, text: &str) -> u32 {
        let at = COUNT.load(AtomicOrdering::Relaxed);
        assert!(at < u32::MAX, "fewer than 2^32 - 1 distinct strings");
        let entry = self.keep(text);
        let segment = ENTRIES[(at >> SEGMENT_BITS) as usize].get_or_init(|| {
            let entries: Box<[AtomicU64]> = (0..SEGMENT).map(|_| AtomicU64::new(0)).collect();
            match entries.try_into() {
                Ok(entries) => entries,
                Err(_) => unreachable!("a segment is made of SEGMENT entries"),
            }
        });
        segment[at as usize & (SEGMENT - 1)].store(entry.pack(), AtomicOrdering::Release);
        COUNT.store(at + 1, AtomicOrdering::Release);
        at
    }
}

impl Sym {
    /// The symbol of `text`, interning it the first time it is seen.
    pub fn new(text: &str) -> Sym {
        let mut table = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
        let hash = table.hasher.hash_one(text);
        if let Some(&at) = table.index.find(hash, |&at| table.text(at) == text) {
            return Sym::at(at);
        }
        let at = table.push(text);
        let mut index = std::mem::take(&mut table.index);
        index.insert_unique(hash, at, |&other| table.hasher.hash_one(table.text(other)));
        table.index = index;
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
            .find(hash, |&at| table.text(at) == text)
            .map(|&at| Sym::at(at))
    }

    /// The interned text.
    pub fn as_str(self) -> &'static str {
        text_at(self.0.get() - 1)
    }

    /// How many strings are interned: every symbol's number is below it.
    pub fn count() -> usize {
        COUNT.load(AtomicOrdering::Acquire) as usize
    }

    /// The symbol's number: dense from 0 in the order strings were first
    /// interned, so a table indexed by it needs no hashing.
    pub fn number(self) -> usize {
        (self.0.get() - 1) as usize
    }
}

/// A map keyed by symbols: one slot per symbol number, so a lookup is an
/// index and a million keys cost a million slots, with no hashing and no
/// spare capacity beyond the symbols interned when it grew.
#[derive(Debug, Clone)]
pub struct SymMap<V> {
    slots: Vec<Option<V>>,
    len: usize,
}

impl<V> Default for SymMap<V> {
    fn default() -> Self {
        SymMap {
            slots: Vec::new(),
            len: 0,
        }
    }
}

impl<V> SymMap<V> {
    pub fn new() -> Self {
        SymMap::default()
    }

    pub fn get(&self, key: Sym) -> Option<&V> {
        self.slots.get(key.number())?.as_ref()
    }

    /// Sets the value of `key`, returning the one it replaces.
    pub fn insert(&mut self, key: Sym, value: V) -> Option<V> {
        let number = key.number();
        if number >= self.slots.len() {
            // room for every symbol interned so far, which are usually the keys to come
            self.slots.resize_with((number + 1).max(Sym::count()), || None);
        }
        let previous = self.slots[number].replace(value);
        self.len += usize::from(previous.is_none());
        previous
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every key, in the order their symbols were first interned.
    pub fn keys(&self) -> impl Iterator<Item = Sym> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.is_some())
            .map(|(number, _)| Sym::at(number as u32))
    }
}

impl<V: PartialEq> PartialEq for SymMap<V> {
    /// Equal keys with equal values, however much room each has.
    fn eq(&self, other: &SymMap<V>) -> bool {
        self.len == other.len && self.keys().all(|key| self.get(key) == other.get(key))
    }
}

/// A set of symbols: one bit per symbol number (a million symbols cost
/// 125 kB, where a hash set of them costs about ten megabytes).
#[derive(Debug, Clone, Default)]
pub struct SymSet {
    bits: Vec<u64>,
    len: usize,
}

impl SymSet {
    pub fn new() -> Self {
        SymSet::default()
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: &Sym) -> bool {
        let number = key.number();
        self.bits
            .get(number / 64)
            .is_some_and(|word| word & (1 << (number % 64)) != 0)
    }

    /// Adds `key`; whether it was not in the set yet.
    pub fn insert(&mut self, key: Sym) -> bool {
        let number = key.number();
        if number / 64 >= self.bits.len() {
            // room for every symbol interned so far
            self.bits.resize((number / 64 + 1).max(Sym::count().div_ceil(64)), 0);
        }
        let word = &mut self.bits[number / 64];
        let added = *word & (1 << (number % 64)) == 0;
        *word |= 1 << (number % 64);
        self.len += usize::from(added);
        added
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl FromIterator<Sym> for SymSet {
    fn from_iter<I: IntoIterator<Item = Sym>>(keys: I) -> SymSet {
        let mut set = SymSet::new();
        for key in keys {
            set.insert(key);
        }
        set
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
    fn a_symbol_read_on_another_thread_while_its_block_fills_reads_back() {
        let fresh: Vec<(String, Sym)> = (0..100)
            .map(|i| {
                let text = format!("sym-fresh-{i}");
                let sym = Sym::new(&text);
                (text, sym)
            })
            .collect();
        let empty = Sym::new("");
        let read = std::thread::spawn(move || {
            assert_eq!(empty.as_str(), "");
            fresh.iter().all(|(text, sym)| sym.as_str() == text)
        });
        assert!(read.join().expect("thread"));
        // the rest of a sealed block takes the texts interned after the seal
        let after: Vec<Sym> = (0..100).map(|i| Sym::new(&format!("sym-after-{i}"))).collect();
        assert_eq!(Sym::new("sym-fresh-7").as_str(), "sym-fresh-7");
        for (i, sym) in after.iter().enumerate() {
            assert_eq!(sym.as_str(), format!("sym-after-{i}"));
        }
    }

    #[test]
    fn a_symbol_set_holds_what_was_inserted_once() {
        let keys: Vec<Sym> = (0..200).map(|i| Sym::new(&format!("set-key-{i}"))).collect();
        let mut set: SymSet = keys.iter().copied().step_by(3).collect();
        assert_eq!(set.len(), 67);
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(set.contains(key), i % 3 == 0, "key {i}");
        }
        assert!(!set.insert(keys[0]), "already there");
        assert!(set.insert(keys[1]));
        assert_eq!(set.len(), 68);
        let later = Sym::new("set-key-interned-after-the-set-grew");
        assert!(!set.contains(&later));
        assert!(set.insert(later));
        assert!(set.contains(&later));
        assert!(SymSet::new().is_empty());
    }

    #[test]
    fn a_symbol_map_finds_what_was_inserted_and_nothing_else() {
        let mut map = SymMap::new();
        let a = Sym::new("sym-map-a");
        assert!(map.is_empty());
        assert_eq!(map.insert(a, 1), None);
        let b = Sym::new("sym-map-b-interned-later");
        assert_eq!(map.insert(b, 2), None);
        assert_eq!(map.insert(a, 3), Some(1));
        assert_eq!((map.get(a), map.get(b), map.len()), (Some(&3), Some(&2), 2));
        assert_eq!(map.get(Sym::new("sym-map-absent")), None);
        assert_eq!(map.keys().collect::<Vec<_>>(), vec![a, b]);
        let mut same = SymMap::new();
        same.insert(b, 2);
        same.insert(a, 3);
        assert_eq!(map, same);
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
