//! Diacritics and vowel marks removed, as people type without the right
//! keyboard and as filters that match exact spellings fail to expect. Only marks
//! whose loss leaves the words readable are removed; exactly these:
//!
//! - Latin: the combining diacritical marks U+0300–U+036F, after canonical
//!   decomposition of each Latin letter (é → e, ñ → n, ç → c, ş → s, İ → I); and
//!   the letters with a stroke or no dot that do not decompose: ı → i,
//!   ł → l, Ł → L, ø → o, Ø → O, đ → d, Đ → D, ħ → h;
//! - Cyrillic: ё → е and Ё → Е (Russian is routinely written without the dots);
//!   й keeps its breve, which makes a different letter;
//! - Arabic script: the harakat U+064B–U+0652 (fathatan, dammatan, kasratan,
//!   fatha, damma, kasra, shadda, sukun) and the superscript alef U+0670; hamza
//!   forms are letters and stay;
//! - Devanagari: the nukta U+093C, also inside the precomposed letters
//!   U+0958–U+095F (क़ → क, ज़ → ज, फ़ → फ …), and candrabindu U+0901 written as
//!   anusvara U+0902. The vowel signs (matras) stay: without them Hindi is not
//!   readable, so the meaning would not survive.
//!
//! A text with none of these gets no variant.
//!
//! Invariant: idempotent (the variant holds none of the marks removed, so a
//! second pass gives no variant); every other character is kept in order.

use icu_normalizer::DecomposingNormalizerBorrowed;
use icu_properties::props::Script;

use super::text::{is_mark, script};

/// Latin letters that keep their shape's base without decomposing.
const LATIN_STROKES: [(char, char); 8] = [
    ('ı', 'i'),
    ('ł', 'l'),
    ('Ł', 'L'),
    ('ø', 'o'),
    ('Ø', 'O'),
    ('đ', 'd'),
    ('Đ', 'D'),
    ('ħ', 'h'),
];

/// Devanagari letters with a nukta and their base letters.
const DEVANAGARI_NUKTA_LETTERS: [(char, char); 8] = [
    ('\u{0958}', '\u{0915}'),
    ('\u{0959}', '\u{0916}'),
    ('\u{095A}', '\u{0917}'),
    ('\u{095B}', '\u{091C}'),
    ('\u{095C}', '\u{0921}'),
    ('\u{095D}', '\u{0922}'),
    ('\u{095E}', '\u{092B}'),
    ('\u{095F}', '\u{092F}'),
];

fn is_latin_diacritic(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

fn is_arabic_vowel_mark(c: char) -> bool {
    ('\u{064B}'..='\u{0652}').contains(&c) || c == '\u{0670}'
}

/// The text without its diacritics and vowel marks; `None` when it has none.
pub(super) fn strip_diacritics(text: &str) -> Option<String> {
    let nfd = DecomposingNormalizerBorrowed::new_nfd();
    let mut out = String::with_capacity(text.len());
    let mut after_latin = false;
    let mut after_cyrillic_ie = false;
    for c in text.chars() {
        if is_latin_diacritic(c) && (after_latin || (after_cyrillic_ie && c == '\u{0308}')) {
            continue;
        }
        if is_arabic_vowel_mark(c) || c == '\u{093C}' {
            continue;
        }
        let base_of = |table: &[(char, char)]| table.iter().find(|(from, _)| *from == c).map(|(_, to)| *to);
        if let Some(base) = base_of(&DEVANAGARI_NUKTA_LETTERS) {
            out.push(base);
        } else if c == '\u{0901}' {
            out.push('\u{0902}');
        } else if c == 'ё' || c == 'Ё' {
            out.push(if c == 'ё' { 'е' } else { 'Е' });
        } else if let Some(base) = base_of(&LATIN_STROKES) {
            out.push(base);
        } else if script(c) == Script::Latin && c.is_alphabetic() {
            let mut buffer = [0; 4];
            nfd.normalize(c.encode_utf8(&mut buffer))
                .chars()
                .filter(|d| !is_latin_diacritic(*d))
                .for_each(|d| out.push(d));
        } else {
            out.push(c);
        }
        if !is_latin_diacritic(c) && !is_mark(c) {
            after_latin = script(c) == Script::Latin;
            after_cyrillic_ie = c == 'е' || c == 'Е';
        }
    }
    (out != text).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_exactly_the_documented_marks() {
        assert_eq!(
            strip_diacritics("maricón, pédé, sapatão").as_deref(),
            Some("maricon, pede, sapatao")
        );
        assert_eq!(
            strip_diacritics("Çingeneler ışık İstanbul").as_deref(),
            Some("Cingeneler isik Istanbul")
        );
        // decomposed input too
        assert_eq!(strip_diacritics("cafe\u{301}").as_deref(), Some("cafe"));
        assert_eq!(strip_diacritics("Ещё всё").as_deref(), Some("Еще все"));
        assert_eq!(strip_diacritics("йод"), None);
        assert_eq!(strip_diacritics("الحَشَرَاتُ").as_deref(), Some("الحشرات"));
        assert_eq!(strip_diacritics("नफ़रत").as_deref(), Some("नफरत"));
        assert_eq!(strip_diacritics("\u{095B}िंदगी").as_deref(), Some("जिंदगी"));
        assert_eq!(strip_diacritics("माँ").as_deref(), Some("मां"));
        assert_eq!(strip_diacritics("地域黑"), None);
        assert_eq!(strip_diacritics("plain text"), None);
    }
}
