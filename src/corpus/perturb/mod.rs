//! Perturbations: seeded, script-aware edits of a run's cases, the evasions
//! real posters use (leetspeak, look-alike letters, stripped accents, invisible
//! characters, spaced-out letters, transliteration, emoji), each added to the
//! run as a new case linked to its original, and one directional edit: the
//! violating post quoted inside counter-speech.
//!
//! Every transform is a pure function of the text (and language) and a random
//! source seeded by the seed, the case id and the transform, so the same
//! scenario always yields the same variants whatever the order of cases. A
//! transform that does not apply to a text (leetspeak on Arabic script, a text
//! without diacritics) gives no variant, never a copy; such cases are counted.
//!
//! A variant's id is `<original id>~<transform>`; its family (`pair_id`) is
//! named after its original, which is the family's anchor; its
//! `perturbation_of` and `transform` columns say where it came from and how
//! (see [`Case::perturbation_of`]), and its `family_kind` is `perturbation`.

mod diacritics;
mod emoji;
mod frame;
pub mod homoglyphs;
pub mod invisible;
mod leet;
#[cfg(test)]
mod properties;
mod spacing;
mod text;
mod translit;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Case, FAMILY_KIND_COLUMN, FamilyKind, Label, Metadata, TextError, language_covered_by};
use crate::hash::sha256_hex;
use crate::sym::Sym;
pub(crate) use text::Rng;

/// The column naming the original a variant was made from.
pub const PERTURBATION_OF_COLUMN: &str = "perturbation_of";
/// The column naming the transform that made a variant.
pub const TRANSFORM_COLUMN: &str = "transform";
/// The category of the quoted-to-condemn variants.
pub const QUOTED_CATEGORY: &str = "counter_speech";

/// An edit of a case's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    Leetspeak,
    Symbols,
    Homoglyphs,
    StripDiacritics,
    ZeroWidth,
    SoftHyphen,
    SpacedLetters,
    Transliterate,
    Emoji,
    /// The directional check: a violating post quoted to condemn it.
    QuoteCondemn,
}

impl Transform {
    /// Every transform, in report order.
    pub const ALL: [Transform; 10] = [
        Transform::Leetspeak,
        Transform::Symbols,
        Transform::Homoglyphs,
        Transform::StripDiacritics,
        Transform::ZeroWidth,
        Transform::SoftHyphen,
        Transform::SpacedLetters,
        Transform::Transliterate,
        Transform::Emoji,
        Transform::QuoteCondemn,
    ];

    /// The name used in scenarios, ids and results.
    pub fn as_str(self) -> &'static str {
        match self {
            Transform::Leetspeak => "leetspeak",
            Transform::Symbols => "symbols",
            Transform::Homoglyphs => "homoglyphs",
            Transform::StripDiacritics => "strip_diacritics",
            Transform::ZeroWidth => "zero_width",
            Transform::SoftHyphen => "soft_hyphen",
            Transform::SpacedLetters => "spaced_letters",
            Transform::Transliterate => "transliterate",
            Transform::Emoji => "emoji",
            Transform::QuoteCondemn => "quote_condemn",
        }
    }

    /// A human-readable name for reports.
    pub fn title(self) -> &'static str {
        match self {
            Transform::Leetspeak => "Leetspeak",
            Transform::Symbols => "Symbol substitution",
            Transform::Homoglyphs => "Homoglyphs",
            Transform::StripDiacritics => "Diacritics removed",
            Transform::ZeroWidth => "Zero-width characters",
            Transform::SoftHyphen => "Soft hyphens",
            Transform::SpacedLetters => "Spaced-out letters",
            Transform::Transliterate => "Transliteration to Latin",
            Transform::Emoji => "Words as emoji",
            Transform::QuoteCondemn => "Quoted to condemn",
        }
    }

    /// What the transform does, in a phrase for prose ("with …").
    pub fn phrase(self) -> &'static str {
        match self {
            Transform::Leetspeak => "leetspeak (letters written as digits)",
            Transform::Symbols => "symbol substitution (letters written as @, $, *)",
            Transform::Homoglyphs => "homoglyphs (letters swapped for look-alikes from another script)",
            Transform::StripDiacritics => "diacritics and vowel marks removed",
            Transform::ZeroWidth => "zero-width characters inside words",
            Transform::SoftHyphen => "soft hyphens inside words",
            Transform::SpacedLetters => "letters spaced out",
            Transform::Transliterate => "transliteration to Latin script",
            Transform::Emoji => "words written as emoji",
            Transform::QuoteCondemn => "the post quoted to condemn it",
        }
    }

    /// What the transform keeps, as its module documents and its tests check.
    pub fn invariant(self) -> &'static str {
        match self {
            Transform::Leetspeak | Transform::Symbols => {
                "length; every character is the original's or its substitute; words under three letters untouched"
            }
            Transform::Homoglyphs => "the original, exactly, through the reverse map; length",
            Transform::StripDiacritics => "every other character, in order; idempotent",
            Transform::ZeroWidth | Transform::SoftHyphen => "the original, once the inserted character is deleted",
            Transform::SpacedLetters => "the text without its spaces; idempotent",
            Transform::Transliterate => "no letter of the source script remains; idempotent",
            Transform::Emoji => "everything but the listed words; idempotent",
            Transform::QuoteCondemn => "the post, quoted whole and once",
        }
    }

    /// Parses a transform's name.
    pub fn parse(name: &str) -> Option<Transform> {
        Transform::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether the variant says something else than its original (and so is
    /// compared directionally, not for consistency).
    pub fn is_directional(self) -> bool {
        self == Transform::QuoteCondemn
    }

    /// The only label of the cases it applies to, if it has one.
    pub fn applies_to(self) -> Option<Label> {
        self.is_directional().then_some(Label::Violating)
    }

    /// The variant of a text: its text, and a new language tag if the script
    /// changed; `None` when the transform does not apply.
    fn apply(self, text: &str, lang: &str, rng: &mut Rng) -> Option<(String, Option<String>)> {
        let same_lang = |t: String| (t, None);
        match self {
            Transform::Leetspeak => leet::leetspeak(text, rng).map(same_lang),
            Transform::Symbols => leet::symbols(text, rng).map(same_lang),
            Transform::Homoglyphs => homoglyphs::homoglyphs(text, rng).map(same_lang),
            Transform::StripDiacritics => diacritics::strip_diacritics(text).map(same_lang),
            Transform::ZeroWidth => invisible::zero_width(text, rng).map(same_lang),
            Transform::SoftHyphen => invisible::soft_hyphen(text, rng).map(same_lang),
            Transform::SpacedLetters => spacing::spaced_letters(text).map(same_lang),
            Transform::Transliterate => translit::transliterate(text, lang).map(|(t, l)| (t, Some(l))),
            Transform::Emoji => emoji::emoji(text, lang).map(same_lang),
            Transform::QuoteCondemn => frame::quote_condemn(text, lang).map(same_lang),
        }
        .filter(|(variant, _)| variant != text)
    }
}

impl Case {
    /// The case this one is a variant of, from the `perturbation_of` column.
    pub fn perturbation_of(&self) -> Option<&str> {
        self.metadata
            .get(PERTURBATION_OF_COLUMN)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The transform that made this variant, from the `transform` column.
    pub fn transform(&self) -> Option<Transform> {
        self.metadata
            .get(TRANSFORM_COLUMN)
            .and_then(|v| Transform::parse(v.trim()))
    }

    /// Whether the case is a variant made by a transform of another case.
    pub fn is_variant(&self) -> bool {
        self.perturbation_of().is_some()
    }
}

/// Which cases are perturbed, how, and with which seed (the validated `[perturb]`).
#[derive(Debug, Clone, PartialEq)]
pub struct PerturbSettings {
    pub transforms: Vec<Transform>,
    pub seed: u64,
    /// Only cases with one of these labels (all when empty).
    pub labels: Vec<Label>,
    /// Only cases in one of these languages (all when empty).
    pub languages: Vec<String>,
    /// Only cases of one of these categories (all when empty).
    pub categories: Vec<String>,
    /// Share of each language's eligible cases to perturb, drawn with the seed.
    pub share: f64,
    /// At most this many cases per language.
    pub max_per_language: Option<usize>,
}

/// How many variants one transform made, in total and per language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TransformSummary {
    pub transform: Transform,
    #[serde(flatten)]
    pub counts: VariantCounts,
    /// Per primary language of the originals.
    pub by_language: Vec<LanguageCounts>,
}

/// Originals a transform was applied to, and what came of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VariantCounts {
    /// Selected cases the transform was applied to.
    pub originals: u64,
    /// Variants it made.
    pub variants: u64,
    /// Originals it does not apply to (no variant made).
    pub not_applicable: u64,
}

/// A transform's counts for the originals of one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LanguageCounts {
    pub language: String,
    #[serde(flatten)]
    pub counts: VariantCounts,
}

/// The variants of a run's cases and how many each transform made.
#[derive(Debug, Clone, PartialEq)]
pub struct Perturbed {
    /// In the order of their originals, each original's in transform order.
    pub variants: Vec<Case>,
    /// One per transform, in the settings' order.
    pub summary: Vec<TransformSummary>,
}

/// The primary language subtag of a tag, lower case: the unit variants are
/// selected and reported by.
pub fn primary_language(lang: &str) -> String {
    lang.split('-').next().unwrap_or(lang).to_ascii_lowercase()
}

/// A case's position in the seeded draw of the cases to perturb.
fn draw_key(seed: u64, case_id: &str) -> String {
    sha256_hex(format!("{seed}\0perturb\0{case_id}").as_bytes())
}

/// The cases `settings` select: those passing its filters, then per language
/// the first by the seeded draw, as many as the share and the maximum allow.
/// Returned in the order of `cases`.
fn select<'a>(cases: &'a [Case], settings: &PerturbSettings) -> Vec<&'a Case> {
    let mut by_language: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        let eligible = (settings.labels.is_empty() || settings.labels.contains(&case.label))
            && (settings.languages.is_empty() || settings.languages.iter().any(|l| language_covered_by(&case.lang, l)))
            && (settings.categories.is_empty() || settings.categories.iter().any(|c| *c == case.category))
            && !case.is_variant();
        if eligible {
            by_language
                .entry(primary_language(&case.lang))
                .or_default()
                .push((draw_key(settings.seed, &case.id), i));
        }
    }
    let mut chosen: Vec<usize> = Vec::new();
    for (_, mut drawn) in by_language {
        drawn.sort();
        let by_share = (settings.share * drawn.len() as f64).ceil() as usize;
        let take = settings.max_per_language.map_or(by_share, |max| by_share.min(max));
        chosen.extend(drawn.into_iter().take(take).map(|(_, i)| i));
    }
    chosen.sort_unstable();
    chosen.into_iter().map(|i| &cases[i]).collect()
}

/// The variant of `original` made by `transform`, if it applies. Fails when
/// the original's text cannot be read back from its corpus file.
pub fn variant(original: &Case, transform: Transform, seed: u64) -> Result<Option<Case>, TextError> {
    if transform.applies_to().is_some_and(|label| label != original.label) {
        return Ok(None);
    }
    let mut rng = Rng::new(seed, &[&original.id, transform.as_str()]);
    let Some((text, lang)) = transform.apply(&original.text()?, &original.lang, &mut rng) else {
        return Ok(None);
    };
    let mut metadata: Metadata = original
        .metadata
        .iter()
        .filter(|(k, _)| ![super::CLUSTER_COLUMN, FAMILY_KIND_COLUMN].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    metadata.insert(FAMILY_KIND_COLUMN.into(), FamilyKind::Perturbation.as_str().into());
    metadata.insert(PERTURBATION_OF_COLUMN.into(), original.id.to_string());
    metadata.insert(TRANSFORM_COLUMN.into(), transform.as_str().into());
    let (label, category) = if transform.is_directional() {
        (Label::Protected, QUOTED_CATEGORY.to_string())
    } else {
        (original.label, original.category.to_string())
    };
    Ok(Some(Case {
        id: format!("{}~{}", original.id, transform.as_str()).into(),
        lang: lang.map_or(original.lang, Sym::from),
        text: text.into(),
        label,
        category: category.into(),
        target_group: original.target_group,
        characteristics: original.characteristics,
        speaker_group: original.speaker_group,
        pair_id: Some(original.id),
        notes: format!("{} of {}", transform.title(), original.id).into(),
        metadata,
    }))
}

/// The variants of the cases `settings` select, with the counts of each
/// transform. Fails when a selected case's text cannot be read back from its
/// corpus file.
pub fn perturb(cases: &[Case], settings: &PerturbSettings) -> Result<Perturbed, TextError> {
    let selected = select(cases, settings);
    let mut counts: BTreeMap<Transform, BTreeMap<String, VariantCounts>> = BTreeMap::new();
    let mut variants = Vec::new();
    for original in selected {
        for &transform in &settings.transforms {
            if transform.applies_to().is_some_and(|label| label != original.label) {
                continue;
            }
            let made = variant(original, transform, settings.seed)?;
            let entry = counts
                .entry(transform)
                .or_default()
                .entry(primary_language(&original.lang))
                .or_default();
            entry.originals += 1;
            match made {
                Some(case) => {
                    entry.variants += 1;
                    variants.push(case);
                }
                None => entry.not_applicable += 1,
            }
        }
    }
    let summary = settings
        .transforms
        .iter()
        .map(|&transform| {
            let languages = counts.remove(&transform).unwrap_or_default();
            let mut total = VariantCounts::default();
            for c in languages.values() {
                total.originals += c.originals;
                total.variants += c.variants;
                total.not_applicable += c.not_applicable;
            }
            TransformSummary {
                transform,
                counts: total,
                by_language: languages
                    .into_iter()
                    .map(|(language, counts)| LanguageCounts { language, counts })
                    .collect(),
            }
        })
        .collect();
    Ok(Perturbed { variants, summary })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str, lang: &str, text: &str, label: Label) -> Case {
        Case {
            id: id.into(),
            lang: lang.into(),
            text: text.into(),
            label,
            category: "slur".into(),
            target_group: Some("g".into()),
            characteristics: Default::default(),
            speaker_group: None,
            pair_id: Some("family".into()),
            notes: Default::default(),
            metadata: BTreeMap::from([(FAMILY_KIND_COLUMN.to_string(), "group_swap".to_string())]).into(),
        }
    }

    fn settings(transforms: &[Transform]) -> PerturbSettings {
        PerturbSettings {
            transforms: transforms.to_vec(),
            seed: 9,
            labels: Vec::new(),
            languages: Vec::new(),
            categories: Vec::new(),
            share: 1.0,
            max_per_language: None,
        }
    }

    #[test]
    fn variants_link_back_and_inapplicable_transforms_are_counted() {
        let cases = [
            case("en-1", "en", "Travellers are rats", Label::Violating),
            case("ar-1", "ar", "هؤلاء الحشرات", Label::Violating),
            case("en-2", "en", "Hating them is wrong", Label::Protected),
        ];
        let out = perturb(&cases, &settings(&[Transform::Leetspeak, Transform::QuoteCondemn])).unwrap();
        let ids: Vec<&str> = out.variants.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "en-1~leetspeak",
                "en-1~quote_condemn",
                "ar-1~quote_condemn",
                "en-2~leetspeak"
            ]
        );
        let leet = &out.variants[0];
        assert_eq!(leet.perturbation_of(), Some("en-1"));
        assert_eq!(leet.transform(), Some(Transform::Leetspeak));
        assert_eq!(leet.pair_id.as_deref(), Some("en-1"));
        assert_eq!(leet.family_kind(), Some(FamilyKind::Perturbation));
        assert_eq!((leet.label, leet.category.as_str()), (Label::Violating, "slur"));
        let quoted = &out.variants[1];
        assert_eq!(
            (quoted.label, quoted.category.as_str()),
            (Label::Protected, QUOTED_CATEGORY)
        );
        let leet_summary = &out.summary[0];
        assert_eq!(
            leet_summary.counts,
            VariantCounts {
                originals: 3,
                variants: 2,
                not_applicable: 1
            }
        );
        assert_eq!(leet_summary.by_language[0].language, "ar");
        assert_eq!(leet_summary.by_language[0].counts.not_applicable, 1);
        // the directional transform only counts the violating cases
        assert_eq!(out.summary[1].counts.originals, 2);
    }

    #[test]
    fn the_selection_is_a_seeded_share_per_language() {
        let cases: Vec<Case> = (0..40)
            .map(|i| {
                let lang = if i % 2 == 0 { "en" } else { "es" };
                case(&format!("c{i}"), lang, "Travellers are rats", Label::Violating)
            })
            .collect();
        let mut s = settings(&[Transform::Leetspeak]);
        s.share = 0.25;
        let chosen: Vec<&str> = select(&cases, &s).iter().map(|c| c.id.as_str()).collect();
        assert_eq!(chosen.len(), 10);
        assert_eq!(
            chosen
                .iter()
                .filter(|id| cases.iter().any(|c| c.id == **id && c.lang == "en"))
                .count(),
            5
        );
        s.max_per_language = Some(2);
        let fewer: Vec<&str> = select(&cases, &s).iter().map(|c| c.id.as_str()).collect();
        assert_eq!(fewer.len(), 4);
        assert!(
            fewer.iter().all(|id| chosen.contains(id)),
            "a smaller budget keeps the first drawn"
        );
        s.seed = 10;
        let other: Vec<&str> = select(&cases, &s).iter().map(|c| c.id.as_str()).collect();
        assert_ne!(other, fewer);
        s.languages = vec!["es".into()];
        assert!(select(&cases, &s).iter().all(|c| c.lang == "es"));
    }
}
