//! BCP 47 language tags (RFC 5646): well-formedness and canonical letter case.
//!
//! The check is syntactic (no registry lookup): it rejects what cannot be a tag
//! (`english`, `en_US`, `e`, `en--us`) and normalises case (`EN-latn-us` → `en-Latn-US`)
//! so that slices by language do not split on spelling.

use crate::diagnostic::excerpt;

/// Returns the tag in canonical case, or a message saying why it is malformed
/// (quoting at most the start of the tag).
pub fn canonical_language_tag(tag: &str) -> Result<String, String> {
    if tag.is_empty() {
        return Err("language tag is empty".into());
    }
    let shown = excerpt(tag);
    if tag.trim() != tag {
        return Err(format!("language tag `{shown}` has surrounding spaces"));
    }
    let subtags: Vec<&str> = tag.split('-').collect();
    for s in &subtags {
        if s.is_empty() {
            return Err(format!("language tag `{shown}` has an empty subtag"));
        }
        if s.len() > 8 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "language tag `{shown}`: subtag `{}` must be 1–8 ASCII letters or digits (use `-`, not `_`)",
                excerpt(s)
            ));
        }
    }
    let mut out: Vec<String> = Vec::with_capacity(subtags.len());
    let mut i = 0;
    let first = subtags[0];
    if first.eq_ignore_ascii_case("x") {
        return private_use(&shown, &subtags, 0, out);
    }
    if !(2..=3).contains(&first.len()) || !is_alpha(first) {
        return Err(format!(
            "language tag `{shown}`: primary language `{}` must be 2–3 letters (e.g. `en`, `ar`, `yue`)",
            excerpt(first)
        ));
    }
    out.push(first.to_ascii_lowercase());
    i += 1;
    // extlang: up to three 3-letter subtags
    let mut extlangs = 0;
    while i < subtags.len() && subtags[i].len() == 3 && is_alpha(subtags[i]) && extlangs < 3 {
        out.push(subtags[i].to_ascii_lowercase());
        i += 1;
        extlangs += 1;
    }
    // script
    if i < subtags.len() && subtags[i].len() == 4 && is_alpha(subtags[i]) {
        let s = subtags[i].to_ascii_lowercase();
        let mut chars = s.chars();
        let head = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or_default();
        out.push(format!("{head}{}", chars.as_str()));
        i += 1;
    }
    // region
    if i < subtags.len() {
        let s = subtags[i];
        if (s.len() == 2 && is_alpha(s)) || (s.len() == 3 && s.chars().all(|c| c.is_ascii_digit())) {
            out.push(s.to_ascii_uppercase());
            i += 1;
        }
    }
    // variants
    while i < subtags.len() && is_variant(subtags[i]) {
        out.push(subtags[i].to_ascii_lowercase());
        i += 1;
    }
    // extensions
    while i < subtags.len() && subtags[i].len() == 1 && !subtags[i].eq_ignore_ascii_case("x") {
        out.push(subtags[i].to_ascii_lowercase());
        i += 1;
        let start = i;
        while i < subtags.len() && subtags[i].len() >= 2 {
            out.push(subtags[i].to_ascii_lowercase());
            i += 1;
        }
        if i == start {
            return Err(format!(
                "language tag `{shown}`: extension `{}` has no subtags",
                subtags[start - 1]
            ));
        }
    }
    if i < subtags.len() && subtags[i].eq_ignore_ascii_case("x") {
        return private_use(&shown, &subtags, i, out);
    }
    if i < subtags.len() {
        return Err(format!(
            "language tag `{shown}`: subtag `{}` is not a valid script, region, variant or extension here",
            subtags[i]
        ));
    }
    Ok(out.join("-"))
}

fn private_use(shown: &str, subtags: &[&str], at: usize, mut out: Vec<String>) -> Result<String, String> {
    if at + 1 >= subtags.len() {
        return Err(format!(
            "language tag `{shown}`: private use `x` needs at least one subtag"
        ));
    }
    out.extend(subtags[at..].iter().map(|s| s.to_ascii_lowercase()));
    Ok(out.join("-"))
}

fn is_alpha(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphabetic())
}

fn is_variant(s: &str) -> bool {
    (5..=8).contains(&s.len()) || (s.len() == 4 && s.starts_with(|c: char| c.is_ascii_digit()))
}

/// Whether `tag` is `declared` or more specific than it (`en-US` is covered by `en`).
pub fn language_covered_by(tag: &str, declared: &str) -> bool {
    let tag = tag.to_ascii_lowercase();
    let declared = declared.to_ascii_lowercase();
    tag == declared || tag.starts_with(&format!("{declared}-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_canonicalises_well_formed_tags() {
        for (input, expected) in [
            ("en", "en"),
            ("EN", "en"),
            ("ar", "ar"),
            ("en-us", "en-US"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("hi-Latn", "hi-Latn"),
            ("es-419", "es-419"),
            ("sl-rozaj-biske", "sl-rozaj-biske"),
            ("de-CH-1901", "de-CH-1901"),
            ("ar-u-nu-latn", "ar-u-nu-latn"),
            ("yue", "yue"),
            ("zh-yue-HK", "zh-yue-HK"),
            ("x-whatever", "x-whatever"),
            ("en-x-aae", "en-x-aae"),
        ] {
            assert_eq!(canonical_language_tag(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn rejects_malformed_tags() {
        for input in [
            "",
            "e",
            "english",
            "en_US",
            "en--US",
            "en-",
            "-en",
            "en-US-a",
            "x",
            "12",
            "en us",
            " en",
            "en-abcdefghi",
        ] {
            assert!(canonical_language_tag(input).is_err(), "{input:?} should be rejected");
        }
    }

    #[test]
    fn coverage_follows_prefixes() {
        assert!(language_covered_by("en-US", "en"));
        assert!(language_covered_by("en", "en"));
        assert!(!language_covered_by("eng", "en"));
        assert!(!language_covered_by("en", "en-US"));
    }
}
