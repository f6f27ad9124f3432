//! What the transforms need to know about text: the script of a character and
//! of a text, words, and the clusters inside a word that an edit must not split
//! (a letter with its combining marks, a conjunct joined by a virama, letters
//! held together by a zero-width joiner). Also the seeded random source.

use icu_properties::CodePointMapData;
use icu_properties::props::{CanonicalCombiningClass, GeneralCategory, JoiningType, Script};

use crate::hash::sha256_hex;

/// ZERO WIDTH NON-JOINER.
pub(super) const ZWNJ: char = '\u{200C}';
/// ZERO WIDTH JOINER.
pub(super) const ZWJ: char = '\u{200D}';

/// The Unicode script of a character.
pub(super) fn script(c: char) -> Script {
    CodePointMapData::<Script>::new().get(c)
}

/// A combining mark (general category Mn, Mc or Me).
pub(super) fn is_mark(c: char) -> bool {
    matches!(
        CodePointMapData::<GeneralCategory>::new().get(c),
        GeneralCategory::NonspacingMark | GeneralCategory::SpacingMark | GeneralCategory::EnclosingMark
    )
}

/// A virama (canonical combining class 9): it joins the next consonant into a conjunct.
pub(super) fn is_virama(c: char) -> bool {
    CodePointMapData::<CanonicalCombiningClass>::new().get(c) == CanonicalCombiningClass::Virama
}

/// Whether two letters of a cursive script (Arabic) are written joined: the
/// first joins the next one and the second the one before it. Only there does
/// a zero-width joiner change nothing that shows.
pub(super) fn letters_join(first: char, second: char) -> bool {
    let joining = CodePointMapData::<JoiningType>::new();
    matches!(
        joining.get(first),
        JoiningType::DualJoining | JoiningType::LeftJoining | JoiningType::JoinCausing
    ) && matches!(
        joining.get(second),
        JoiningType::DualJoining | JoiningType::RightJoining | JoiningType::JoinCausing
    )
}

/// The script most of the text's letters are written in (the first to reach
/// that count on a tie); `None` for a text without letters.
pub(super) fn main_script(text: &str) -> Option<Script> {
    let mut counts: Vec<(Script, usize)> = Vec::new();
    for c in text.chars().filter(|c| c.is_alphabetic() && !is_mark(*c)) {
        let s = script(c);
        match counts.iter_mut().find(|(known, _)| *known == s) {
            Some((_, n)) => *n += 1,
            None => counts.push((s, 1)),
        }
    }
    let most = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == most).map(|(s, _)| s)
}

/// A character that belongs to a word: a letter, a combining mark or a joiner.
pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || is_mark(c) || c == ZWJ || c == ZWNJ
}

/// A part of a text: a word, or what lies between words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Segment<'a> {
    Word(&'a str),
    Between(&'a str),
}

/// The text as words and what lies between them, in order; concatenated they
/// are the text.
pub(super) fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_word = None;
    for (i, c) in text.char_indices() {
        let word = is_word_char(c);
        match in_word {
            Some(previous) if previous != word => {
                out.push(segment(&text[start..i], previous));
                start = i;
            }
            _ => {}
        }
        in_word = Some(word);
    }
    if let Some(word) = in_word {
        out.push(segment(&text[start..], word));
    }
    out
}

fn segment(text: &str, word: bool) -> Segment<'_> {
    if word {
        Segment::Word(text)
    } else {
        Segment::Between(text)
    }
}

/// The clusters of a word: a new cluster starts at a character that is not a
/// combining mark or joiner and does not follow a virama or joiner. Inserting
/// anything between two clusters leaves every mark on its letter and every
/// conjunct whole.
pub(super) fn clusters(word: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut previous: Option<char> = None;
    for (i, c) in word.char_indices() {
        let continues =
            is_mark(c) || c == ZWJ || c == ZWNJ || previous.is_some_and(|p| p == ZWJ || p == ZWNJ || is_virama(p));
        if i > 0 && !continues {
            out.push(&word[start..i]);
            start = i;
        }
        previous = Some(c);
    }
    if !word.is_empty() {
        out.push(&word[start..]);
    }
    out
}

/// Words of fewer clusters than this are left alone by the letter substitutions:
/// edits of short function words change nothing a filter looks at.
pub(super) const MIN_WORD_CLUSTERS: usize = 3;

/// Replaces letters by their image under `image`: in every word of at least
/// [`MIN_WORD_CLUSTERS`] clusters, each letter that has an image and stands
/// alone in its cluster (no mark rests on it, it is no part of a conjunct) is
/// replaced with probability one half, and at least one per word that has
/// such a letter. Everything else is kept. `None` when no letter was replaced.
pub(super) fn substitute(text: &str, rng: &mut Rng, image: impl Fn(char) -> Option<char>) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 8);
    let mut replaced = false;
    for part in segments(text) {
        let parts = match part {
            Segment::Word(word) => clusters(word),
            Segment::Between(between) => {
                out.push_str(between);
                continue;
            }
        };
        let alone = |cluster: &str| {
            let mut chars = cluster.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => image(c),
                _ => None,
            }
        };
        let candidates: Vec<usize> = if parts.len() >= MIN_WORD_CLUSTERS {
            (0..parts.len()).filter(|i| alone(parts[*i]).is_some()).collect()
        } else {
            Vec::new()
        };
        let mut chosen: Vec<bool> = candidates.iter().map(|_| rng.coin()).collect();
        if !candidates.is_empty() && !chosen.contains(&true) {
            let one = rng.below(candidates.len());
            chosen[one] = true;
        }
        for (i, cluster) in parts.iter().enumerate() {
            let pick = candidates.iter().position(|k| *k == i).is_some_and(|k| chosen[k]);
            match alone(cluster).filter(|_| pick) {
                Some(replacement) => {
                    out.push(replacement);
                    replaced = true;
                }
                None => out.push_str(cluster),
            }
        }
    }
    replaced.then_some(out)
}

/// The seeded random source of the transforms: SplitMix64 started from the
/// sha256 of the seed and what is being drawn for, so each case's draw depends
/// only on the seed, the case and the transform, never on the order of cases.
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A source for `parts` (e.g. the case id and the transform) under `seed`.
    pub(crate) fn new(seed: u64, parts: &[&str]) -> Rng {
        let mut key = seed.to_string();
        for part in parts {
            key.push('\0');
            key.push_str(part);
        }
        let hash = sha256_hex(key.as_bytes());
        let state = u64::from_str_radix(&hash[..16], 16).expect("sha256 hex digits form a u64");
        Rng { state }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability one half.
    pub(super) fn coin(&mut self) -> bool {
        self.next_u64() >> 63 == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_of_the_bundled_languages() {
        assert_eq!(main_script("Hating them is wrong"), Some(Script::Latin));
        assert_eq!(main_script("هؤلاء الحشرات"), Some(Script::Arabic));
        assert_eq!(main_script("वे कुत्ते हैं"), Some(Script::Devanagari));
        assert_eq!(main_script("Это не «мнение»"), Some(Script::Cyrillic));
        assert_eq!(main_script("地域黑一点都不好笑 OK"), Some(Script::Han));
        assert_eq!(main_script("123 !?"), None);
    }

    #[test]
    fn words_keep_their_marks_and_joiners() {
        let parts = segments("Café, वे कुत्ते!");
        assert_eq!(
            parts,
            [
                Segment::Word("Café"),
                Segment::Between(", "),
                Segment::Word("वे"),
                Segment::Between(" "),
                Segment::Word("कुत्ते"),
                Segment::Between("!"),
            ]
        );
        // कुत्ते: कु + त्ते (the virama joins the conjunct)
        assert_eq!(clusters("कुत्ते"), ["कु", "त्ते"]);
        assert_eq!(clusters("cafe\u{301}"), ["c", "a", "f", "e\u{301}"]);
        assert_eq!(clusters("می\u{200C}خواهم").len(), 6);
    }

    #[test]
    fn the_random_source_depends_on_seed_and_parts_only() {
        let draw = |seed, parts: &[&str]| {
            let mut r = Rng::new(seed, parts);
            (r.next_u64(), r.next_u64())
        };
        assert_eq!(draw(1, &["a", "leetspeak"]), draw(1, &["a", "leetspeak"]));
        assert_ne!(draw(1, &["a", "leetspeak"]), draw(2, &["a", "leetspeak"]));
        assert_ne!(draw(1, &["a", "leetspeak"]), draw(1, &["b", "leetspeak"]));
    }
}
