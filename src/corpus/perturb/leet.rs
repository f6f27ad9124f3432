//! Leetspeak and symbol substitution: Latin letters written as the digits or
//! symbols that look like them, the oldest way past a blocklist (`k1ll`,
//! `f@g`, `n*gger`).
//!
//! Both apply only to texts written mainly in Latin script, and only in words
//! of at least three letters, where each letter with a substitute (and no mark
//! on it) is replaced with probability one half (at least one per word).
//!
//! Invariant: the variant has as many characters as the original; every
//! character is either the original's or that character's substitute in the
//! table; nothing but letters of words of three or more letters changes.

use icu_properties::props::Script;

use super::text::{Rng, main_script, substitute};

/// Letters and the digit that stands for them.
pub(super) const LEET: [(char, char); 9] = [
    ('a', '4'),
    ('b', '8'),
    ('e', '3'),
    ('g', '9'),
    ('i', '1'),
    ('o', '0'),
    ('s', '5'),
    ('t', '7'),
    ('z', '2'),
];

/// Letters and the symbol that stands for them (`*` masks a vowel).
pub(super) const SYMBOLS: [(char, char); 7] = [
    ('a', '@'),
    ('c', '('),
    ('e', '*'),
    ('i', '!'),
    ('o', '*'),
    ('s', '$'),
    ('u', '*'),
];

fn lookup(table: &[(char, char)], c: char) -> Option<char> {
    let lower = if c.is_ascii_uppercase() {
        c.to_ascii_lowercase()
    } else {
        c
    };
    table
        .iter()
        .find(|(letter, _)| *letter == lower)
        .map(|(_, image)| *image)
}

/// Letters replaced by digits ([`LEET`]), upper and lower case alike.
pub(super) fn leetspeak(text: &str, rng: &mut Rng) -> Option<String> {
    if main_script(text) != Some(Script::Latin) {
        return None;
    }
    substitute(text, rng, |c| lookup(&LEET, c))
}

/// Letters replaced by symbols ([`SYMBOLS`]), upper and lower case alike.
pub(super) fn symbols(text: &str, rng: &mut Rng) -> Option<String> {
    if main_script(text) != Some(Script::Latin) {
        return None;
    }
    substitute(text, rng, |c| lookup(&SYMBOLS, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_words_get_digits_and_other_scripts_nothing() {
        let mut rng = Rng::new(1, &["x"]);
        let out = leetspeak("Kill the vermin, ok?", &mut rng).unwrap();
        assert_eq!(out.chars().count(), "Kill the vermin, ok?".chars().count());
        assert!(out.ends_with(", ok?"), "short words are left alone: {out}");
        assert_ne!(out, "Kill the vermin, ok?");
        assert_eq!(leetspeak("هؤلاء الحشرات", &mut rng), None);
        assert_eq!(leetspeak("वे कुत्ते हैं", &mut rng), None);
        // a word without any letter of the table is left alone
        assert_eq!(leetspeak("hmm hmm", &mut rng), None);
    }

    #[test]
    fn symbols_mask_letters() {
        let mut rng = Rng::new(2, &["x"]);
        let out = symbols("faggot", &mut rng).unwrap();
        assert!(out.chars().any(|c| "@(*!$".contains(c)), "{out}");
        assert!(out.starts_with('f'));
    }
}
