//! Counting nouns in messages and reports: "1 error", "2 errors".

/// `n` with the noun in the number it takes: "1 error", "2 errors".
pub fn count_of(n: u64, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(super::count_of(0, "corpus", "corpora"), "0 corpora");
        assert_eq!(super::count_of(1, "corpus", "corpora"), "1 corpus");
        assert_eq!(super::count_of(2, "corpus", "corpora"), "2 corpora");
    }
}
