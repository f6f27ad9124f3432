//! The plain-language summary at the top of every report: the texts of the
//! run's findings (see [`super::findings`]), in order, and the words they are
//! written with: names of languages, groups, kinds of speech and speaker
//! groups, p-values, intervals and durations.

use super::findings::{Finding, Interval};
use crate::analysis::{ALL_OTHERS, Dimension};

/// English names of common languages, for readers who do not know BCP 47 tags.
const LANGUAGE_NAMES: &[(&str, &str)] = &[
    ("am", "Amharic"),
    ("ar", "Arabic"),
    ("bn", "Bengali"),
    ("de", "German"),
    ("en", "English"),
    ("es", "Spanish"),
    ("fa", "Persian"),
    ("fr", "French"),
    ("ha", "Hausa"),
    ("he", "Hebrew"),
    ("hi", "Hindi"),
    ("id", "Indonesian"),
    ("it", "Italian"),
    ("ja", "Japanese"),
    ("ko", "Korean"),
    ("ms", "Malay"),
    ("my", "Burmese"),
    ("nl", "Dutch"),
    ("pa", "Punjabi"),
    ("pl", "Polish"),
    ("pt", "Portuguese"),
    ("ru", "Russian"),
    ("sw", "Swahili"),
    ("ta", "Tamil"),
    ("th", "Thai"),
    ("tl", "Tagalog"),
    ("tr", "Turkish"),
    ("uk", "Ukrainian"),
    ("ur", "Urdu"),
    ("vi", "Vietnamese"),
    ("yo", "Yoruba"),
    ("zh", "Mandarin Chinese"),
];

/// "Arabic (ar)" for a known tag, the tag itself otherwise.
pub fn language_name(tag: &str) -> String {
    match plain_language_name(tag) {
        Some(name) => format!("{name} ({tag})"),
        None => tag.to_string(),
    }
}

/// The English name of a language, for prose: "Arabic", or "Arabic (ar-EG)" for
/// a regional tag; the tag itself when unknown.
pub fn prose_language_name(tag: &str) -> String {
    match plain_language_name(tag) {
        Some(name) if !tag.contains('-') => name.to_string(),
        _ => language_name(tag),
    }
}

fn plain_language_name(tag: &str) -> Option<&'static str> {
    let primary = tag.split('-').next().unwrap_or(tag);
    LANGUAGE_NAMES
        .iter()
        .find(|(t, _)| *t == primary)
        .map(|(_, name)| *name)
}

/// The summary: the text of every finding, in order.
pub fn sentences(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(|f| f.text.clone()).collect()
}

/// A category or group value for prose: `reclaimed_term` → "reclaimed term".
pub fn humanise(value: &str) -> String {
    value.replace('_', " ")
}

/// A group's name for prose, whatever its dimension.
pub fn group_name(dimension: Dimension, value: &str) -> String {
    match dimension {
        Dimension::Language => prose_language_name(value),
        _ => humanise(value),
    }
}

/// What the groups of a dimension are, singular and plural: ("language",
/// "languages"), ("kind of speech", "kinds of speech") …
pub fn nouns(dimension: Dimension) -> (&'static str, &'static str) {
    match dimension {
        Dimension::Language => ("language", "languages"),
        Dimension::Category => ("kind of speech", "kinds of speech"),
        Dimension::TargetGroup => ("group of people", "groups of people"),
        Dimension::SpeakerGroup => ("speaker group", "speaker groups"),
        Dimension::LanguageXTargetGroup => ("group of people in one language", "groups of people in one language"),
        Dimension::Characteristic => ("protected characteristic", "protected characteristics"),
        Dimension::LanguageXCharacteristic => (
            "protected characteristic in one language",
            "protected characteristics in one language",
        ),
        Dimension::Overall => ("group", "groups"),
    }
}

/// "1 language", "13 languages", "2 groups of people", "4 kinds of speech".
pub fn groups_of(dimension: Dimension, n: usize) -> String {
    let (one, many) = nouns(dimension);
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The protected posts of one group, for prose: "protected posts in
/// Indonesian", "“reclaimed term” posts", "posts about lesbians", "posts by the
/// speaker group “gulf arabic”".
pub fn posts_of(dimension: Dimension, value: &str) -> String {
    let name = group_name(dimension, value);
    match dimension {
        Dimension::Language => format!("protected posts in {name}"),
        Dimension::Category => format!("“{name}” posts"),
        Dimension::TargetGroup => format!("posts about {name}"),
        Dimension::SpeakerGroup => format!("posts by the speaker group “{name}”"),
        Dimension::Characteristic => format!("posts about groups defined by {name}"),
        Dimension::LanguageXTargetGroup | Dimension::LanguageXCharacteristic | Dimension::Overall => {
            format!("posts of “{name}”")
        }
    }
}

/// What a group was compared with, for prose: "other languages", "posts about
/// other groups", or the reference group's posts.
pub fn reference_of(dimension: Dimension, reference: &str) -> String {
    if reference != ALL_OTHERS {
        return posts_of(dimension, reference);
    }
    match dimension {
        Dimension::Language => "protected posts in other languages".into(),
        Dimension::Category => "other kinds of protected speech".into(),
        Dimension::TargetGroup => "posts about other groups".into(),
        Dimension::SpeakerGroup => "posts by other speaker groups".into(),
        Dimension::Characteristic => "posts about groups defined by other characteristics".into(),
        Dimension::LanguageXTargetGroup | Dimension::LanguageXCharacteristic | Dimension::Overall => {
            "all other posts".into()
        }
    }
}

/// A p-value for prose: "p = 0.0026", "p < 0.0001".
pub fn p_text(label: &str, p: f64) -> String {
    if p < 0.0001 {
        format!("{label} < 0.0001")
    } else {
        format!("{label} = {p:.4}")
    }
}

/// A ratio interval for prose: "1.90–3.94", or "1.90 and above" when unbounded.
pub fn ratio_interval_text(interval: &Interval) -> String {
    match interval.upper {
        Some(upper) => format!("{:.2}–{upper:.2}", interval.lower),
        None => format!("{:.2} and above", interval.lower),
    }
}

/// A rate interval for prose: "11.4–14.7 %".
pub fn rate_interval_text(interval: &Interval) -> String {
    super::percent_interval(Some([interval.lower, interval.upper.unwrap_or(1.0)]))
}

/// A duration for prose: "45.0 seconds", "3.2 hours", "2.5 days".
pub fn human_seconds(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.1} seconds")
    } else if s < 7200.0 {
        format!("{:.1} minutes", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} hours", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86_400.0)
    }
}

/// "a", "a and b", "a, b and c".
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "a", "a or b", "a, b, or c".
pub fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{}, or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dimension_is_named_as_what_it_is() {
        assert_eq!(groups_of(Dimension::Category, 4), "4 kinds of speech");
        assert_eq!(groups_of(Dimension::TargetGroup, 1), "1 group of people");
        assert_eq!(posts_of(Dimension::Language, "id"), "protected posts in Indonesian");
        assert_eq!(
            posts_of(Dimension::Category, "reclaimed_term"),
            "“reclaimed term” posts"
        );
        assert_eq!(
            reference_of(Dimension::TargetGroup, ALL_OTHERS),
            "posts about other groups"
        );
        assert_eq!(reference_of(Dimension::Language, "fr"), "protected posts in French");
        assert_eq!(
            posts_of(Dimension::Characteristic, "religion_or_belief"),
            "posts about groups defined by religion or belief"
        );
    }

    #[test]
    fn no_phrase_doubles_a_word() {
        for dimension in Dimension::ALL {
            for text in [
                groups_of(dimension, 2),
                posts_of(dimension, "group"),
                reference_of(dimension, ALL_OTHERS),
            ] {
                let words: Vec<&str> = text.split_whitespace().collect();
                assert!(words.windows(2).all(|w| w[0] != w[1]), "{text}");
            }
        }
    }
}
