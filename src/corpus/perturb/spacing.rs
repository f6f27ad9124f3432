//! Letters spaced out (`k i l l`, `黑 鬼`, `ش ا ذ`): every word of at least
//! three clusters is written with a space between each two of its clusters,
//! so a word filter sees only single letters.
//!
//! Invariant: deleting every space from the variant and from the original gives
//! the same text; idempotent (a spaced-out word has no three clusters left in a
//! row, so a second pass gives no variant).

use super::text::{MIN_WORD_CLUSTERS, Segment, clusters, segments};

/// Every word of three or more clusters with its clusters spaced apart.
pub(super) fn spaced_letters(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() * 2);
    let mut changed = false;
    for part in segments(text) {
        match part {
            Segment::Word(word) => {
                let parts = clusters(word);
                if parts.len() >= MIN_WORD_CLUSTERS {
                    out.push_str(&parts.join(" "));
                    changed = true;
                } else {
                    out.push_str(word);
                }
            }
            Segment::Between(between) => out.push_str(between),
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_words_are_spaced_out_by_cluster() {
        assert_eq!(
            spaced_letters("Kill the Sikhs!").as_deref(),
            Some("K i l l t h e S i k h s!")
        );
        assert_eq!(spaced_letters("黑鬼就是黑鬼").as_deref(), Some("黑 鬼 就 是 黑 鬼"));
        assert_eq!(spaced_letters("वे कुत्ते हैं"), None);
        assert_eq!(spaced_letters("वे मुसलमान").as_deref(), Some("वे मु स ल मा न"));
        assert_eq!(spaced_letters("a b"), None);
    }
}
