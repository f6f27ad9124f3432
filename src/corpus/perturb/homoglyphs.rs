//! Homoglyphs: letters swapped for look-alikes from another script (Latin `a`
//! for Cyrillic `а`, Latin `v` for Greek `ν`), so that a text looks the same
//! to a reader and differs byte for byte to a filter.
//!
//! A text written mainly in Latin script gets Cyrillic and Greek look-alikes
//! ([`LATIN_LOOKALIKES`]); a text written mainly in Cyrillic gets Latin ones
//! ([`CYRILLIC_LOOKALIKES`]). In words of at least three letters each letter
//! with a look-alike (and no mark on it) is replaced with probability one half
//! (at least one per word). A text that already holds a look-alike of its direction gets no
//! variant, so that the reverse map is exact.
//!
//! Invariant: [`restore`] with the original's direction gives back the
//! original exactly; the variant has as many characters as the original.

use icu_properties::props::Script;

use super::text::{Rng, main_script, substitute};

/// Latin letters and the Cyrillic or Greek letter that looks like them.
pub(super) const LATIN_LOOKALIKES: [(char, char); 31] = [
    ('a', '\u{0430}'), // CYRILLIC SMALL LETTER A
    ('c', '\u{0441}'), // CYRILLIC SMALL LETTER ES
    ('d', '\u{0501}'), // CYRILLIC SMALL LETTER KOMI DE
    ('e', '\u{0435}'), // CYRILLIC SMALL LETTER IE
    ('h', '\u{04BB}'), // CYRILLIC SMALL LETTER SHHA
    ('i', '\u{0456}'), // CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
    ('j', '\u{0458}'), // CYRILLIC SMALL LETTER JE
    ('o', '\u{043E}'), // CYRILLIC SMALL LETTER O
    ('p', '\u{0440}'), // CYRILLIC SMALL LETTER ER
    ('s', '\u{0455}'), // CYRILLIC SMALL LETTER DZE
    ('u', '\u{03C5}'), // GREEK SMALL LETTER UPSILON
    ('v', '\u{03BD}'), // GREEK SMALL LETTER NU
    ('x', '\u{0445}'), // CYRILLIC SMALL LETTER HA
    ('y', '\u{0443}'), // CYRILLIC SMALL LETTER U
    ('A', '\u{0410}'), // CYRILLIC CAPITAL LETTER A
    ('B', '\u{0412}'), // CYRILLIC CAPITAL LETTER VE
    ('C', '\u{0421}'), // CYRILLIC CAPITAL LETTER ES
    ('E', '\u{0415}'), // CYRILLIC CAPITAL LETTER IE
    ('H', '\u{041D}'), // CYRILLIC CAPITAL LETTER EN
    ('I', '\u{0406}'), // CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I
    ('J', '\u{0408}'), // CYRILLIC CAPITAL LETTER JE
    ('K', '\u{041A}'), // CYRILLIC CAPITAL LETTER KA
    ('M', '\u{041C}'), // CYRILLIC CAPITAL LETTER EM
    ('N', '\u{039D}'), // GREEK CAPITAL LETTER NU
    ('O', '\u{041E}'), // CYRILLIC CAPITAL LETTER O
    ('P', '\u{0420}'), // CYRILLIC CAPITAL LETTER ER
    ('S', '\u{0405}'), // CYRILLIC CAPITAL LETTER DZE
    ('T', '\u{0422}'), // CYRILLIC CAPITAL LETTER TE
    ('X', '\u{0425}'), // CYRILLIC CAPITAL LETTER HA
    ('Y', '\u{03A5}'), // GREEK CAPITAL LETTER UPSILON
    ('Z', '\u{0396}'), // GREEK CAPITAL LETTER ZETA
];

/// Cyrillic letters and the Latin letter that looks like them.
pub(super) const CYRILLIC_LOOKALIKES: [(char, char); 20] = [
    ('\u{0430}', 'a'),
    ('\u{0435}', 'e'),
    ('\u{043E}', 'o'),
    ('\u{0440}', 'p'),
    ('\u{0441}', 'c'),
    ('\u{0443}', 'y'),
    ('\u{0445}', 'x'),
    ('\u{0456}', 'i'),
    ('\u{0455}', 's'),
    ('\u{0458}', 'j'),
    ('\u{0410}', 'A'),
    ('\u{0412}', 'B'),
    ('\u{0415}', 'E'),
    ('\u{041A}', 'K'),
    ('\u{041C}', 'M'),
    ('\u{041D}', 'H'),
    ('\u{041E}', 'O'),
    ('\u{0420}', 'P'),
    ('\u{0421}', 'C'),
    ('\u{0422}', 'T'),
];

/// Which way letters are swapped: decided by the original's main script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Latin letters become Cyrillic or Greek look-alikes.
    FromLatin,
    /// Cyrillic letters become Latin look-alikes.
    FromCyrillic,
}

impl Direction {
    /// The direction for a text, if its main script has look-alikes.
    pub fn of(text: &str) -> Option<Direction> {
        match main_script(text)? {
            Script::Latin => Some(Direction::FromLatin),
            Script::Cyrillic => Some(Direction::FromCyrillic),
            _ => None,
        }
    }

    fn table(self) -> &'static [(char, char)] {
        match self {
            Direction::FromLatin => &LATIN_LOOKALIKES,
            Direction::FromCyrillic => &CYRILLIC_LOOKALIKES,
        }
    }
}

/// Letters swapped for look-alikes from another script.
pub(super) fn homoglyphs(text: &str, rng: &mut Rng) -> Option<String> {
    let direction = Direction::of(text)?;
    let table = direction.table();
    if text.chars().any(|c| table.iter().any(|(_, image)| *image == c)) {
        return None;
    }
    substitute(text, rng, |c| {
        table.iter().find(|(letter, _)| *letter == c).map(|(_, image)| *image)
    })
}

/// The original of a homoglyph variant: every look-alike of `direction` mapped
/// back to its letter.
pub fn restore(variant: &str, direction: Direction) -> String {
    let table = direction.table();
    variant
        .chars()
        .map(|c| {
            table
                .iter()
                .find(|(_, image)| *image == c)
                .map_or(c, |(letter, _)| *letter)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_tables_are_one_to_one_and_cross_scripts() {
        for table in [&LATIN_LOOKALIKES[..], &CYRILLIC_LOOKALIKES[..]] {
            let letters: std::collections::BTreeSet<char> = table.iter().map(|(l, _)| *l).collect();
            let images: std::collections::BTreeSet<char> = table.iter().map(|(_, i)| *i).collect();
            assert_eq!(letters.len(), table.len());
            assert_eq!(images.len(), table.len());
            assert!(letters.is_disjoint(&images));
        }
    }

    #[test]
    fn a_variant_looks_alike_and_restores() {
        let mut rng = Rng::new(5, &["x"]);
        let original = "Muslims are a disease";
        let variant = homoglyphs(original, &mut rng).unwrap();
        assert_ne!(variant, original);
        assert_eq!(restore(&variant, Direction::FromLatin), original);
        let russian = "Это не мнение, а ненависть";
        let variant = homoglyphs(russian, &mut rng).unwrap();
        assert!(variant.chars().any(|c| c.is_ascii_alphabetic()), "{variant}");
        assert_eq!(restore(&variant, Direction::FromCyrillic), russian);
        assert_eq!(homoglyphs("هؤلاء الحشرات", &mut rng), None);
        // a Latin text that already holds a Cyrillic look-alike cannot be restored exactly
        assert_eq!(homoglyphs("Mоscow is big", &mut rng), None);
    }
}
