//! Invisible characters inside words: a zero-width character or a soft hyphen
//! between two letters changes nothing a reader sees and breaks every exact
//! match.
//!
//! Each word of at least two clusters gets one character, at a seeded boundary
//! between two clusters, so no mark is parted from its letter and no conjunct
//! is split. The characters:
//!
//! - zero width: U+200B ZERO WIDTH SPACE; in Arabic-script texts U+200D ZERO
//!   WIDTH JOINER instead, and only between two letters that are written
//!   joined, because anywhere else either character would change the letters'
//!   shapes and show;
//! - soft hyphen: U+00AD SOFT HYPHEN, shown only where a line breaks.
//!
//! A text that already holds the character gets no variant.
//!
//! Invariant: deleting the inserted character gives back the original exactly;
//! no combining mark follows an inserted character.

use icu_properties::props::Script;

use super::text::{Rng, Segment, ZWJ, clusters, letters_join, main_script, segments};

/// ZERO WIDTH SPACE.
pub const ZERO_WIDTH_SPACE: char = '\u{200B}';
/// SOFT HYPHEN.
pub const SOFT_HYPHEN: char = '\u{00AD}';

/// The zero-width character for a text: a joiner in Arabic script, a space elsewhere.
pub fn zero_width_char(text: &str) -> char {
    if main_script(text) == Some(Script::Arabic) {
        ZWJ
    } else {
        ZERO_WIDTH_SPACE
    }
}

/// A zero-width character inside every word of two or more clusters.
pub(super) fn zero_width(text: &str, rng: &mut Rng) -> Option<String> {
    insert_in_words(text, zero_width_char(text), rng)
}

/// A soft hyphen inside every word of two or more clusters.
pub(super) fn soft_hyphen(text: &str, rng: &mut Rng) -> Option<String> {
    insert_in_words(text, SOFT_HYPHEN, rng)
}

fn insert_in_words(text: &str, inserted: char, rng: &mut Rng) -> Option<String> {
    if text.contains(inserted) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut changed = false;
    for part in segments(text) {
        match part {
            Segment::Word(word) => {
                let parts = clusters(word);
                let boundaries: Vec<usize> = (1..parts.len())
                    .filter(|&i| inserted != ZWJ || joined(parts[i - 1], parts[i]))
                    .collect();
                if boundaries.is_empty() {
                    out.push_str(word);
                    continue;
                }
                let at = boundaries[rng.below(boundaries.len())];
                for (i, cluster) in parts.iter().enumerate() {
                    if i == at {
                        out.push(inserted);
                        changed = true;
                    }
                    out.push_str(cluster);
                }
            }
            Segment::Between(between) => out.push_str(between),
        }
    }
    changed.then_some(out)
}

/// Whether the letter of the cluster `before` is written joined to the letter of `after`.
fn joined(before: &str, after: &str) -> bool {
    match (before.chars().next(), after.chars().next()) {
        (Some(a), Some(b)) => letters_join(a, b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_invisible_character_per_word_and_removable() {
        let mut rng = Rng::new(3, &["x"]);
        let original = "Kill the Sikhs";
        let variant = zero_width(original, &mut rng).unwrap();
        assert_eq!(variant.matches(ZERO_WIDTH_SPACE).count(), 3);
        assert_eq!(variant.replace(ZERO_WIDTH_SPACE, ""), original);
        let arabic = "هؤلاء الحشرات";
        let variant = zero_width(arabic, &mut rng).unwrap();
        assert!(variant.contains(ZWJ) && !variant.contains(ZERO_WIDTH_SPACE));
        assert_eq!(variant.replace(ZWJ, ""), arabic);
        // never after a letter that does not join the next (ا د ذ ر ز و)
        for (i, _) in variant.match_indices(ZWJ) {
            let before = variant[..i].chars().next_back().unwrap();
            assert!(!"اأإآدذرزوؤة".contains(before), "{variant}");
        }
        // دار: no two letters of it are joined, so it gets nothing
        assert_eq!(zero_width("دار", &mut rng), None);
        let hindi = "वे कुत्ते हैं";
        let variant = soft_hyphen(hindi, &mut rng).unwrap();
        assert_eq!(variant.replace(SOFT_HYPHEN, ""), hindi);
        // कुत्ते has two clusters: the hyphen goes between them, never inside त्ते
        assert!(variant.contains("कु\u{AD}त्ते"), "{variant}");
        assert_eq!(soft_hyphen("a b", &mut rng), None);
        assert_eq!(soft_hyphen("al\u{AD}ready", &mut rng), None);
    }
}
