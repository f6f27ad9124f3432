//! Property tests: the invariants each transform documents, on generated
//! texts in the scripts of the bundled languages (Latin with accents,
//! Cyrillic, Arabic with harakat, Devanagari with vowel signs, viramas and
//! nuktas, Han), mixed and punctuated.

use proptest::prelude::*;

use super::homoglyphs::{Direction, restore};
use super::invisible::{SOFT_HYPHEN, zero_width_char};
use super::text::{Rng, is_mark, is_word_char};
use super::*;

/// Base letters and the marks that may follow them, per script.
const SCRIPTS: [(&str, &str); 5] = [
    ("abcdefghijklmnopqrstuvwxyzABCDEKMOPTéèñçşğıöüãôÀ", "\u{301}\u{308}"),
    ("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАВЕКМОРСТ", ""),
    (
        "ابتثجحخدذرزسشصضطظعغفقكلمنهويةىأإآءؤئپچژکگیہھےٹڈڑں",
        "\u{64E}\u{64F}\u{650}\u{651}\u{652}\u{670}",
    ),
    (
        "कखगघचछजझटठडढणतथदधनपफबभमयरलवशषसहअआइईउऊएऐओऔ",
        "\u{93E}\u{93F}\u{940}\u{941}\u{942}\u{947}\u{948}\u{94B}\u{94C}\u{902}\u{901}\u{93C}",
    ),
    ("黑鬼地域一点都不好笑拜托别再转了老鼠猪狗杀人", ""),
];

const SEPARATORS: [&str; 8] = [" ", " ", ", ", ". ", "! ", " «", "» ", " 12 "];

fn word() -> impl Strategy<Value = String> {
    (0..SCRIPTS.len()).prop_flat_map(|s| {
        let (bases, marks) = SCRIPTS[s];
        let bases: Vec<char> = bases.chars().collect();
        let marks: Vec<char> = marks.chars().collect();
        let mark_choices = marks.len() + 2;
        prop::collection::vec((prop::sample::select(bases), 0..mark_choices), 1..9).prop_map(move |letters| {
            let mut w = String::new();
            for (base, mark) in letters {
                w.push(base);
                if let Some(m) = marks.get(mark) {
                    // a virama joins the next consonant in Devanagari
                    w.push(*m);
                }
            }
            w
        })
    })
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec((word(), prop::sample::select(SEPARATORS.to_vec())), 1..8).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(w, sep)| format!("{w}{sep}"))
            .collect::<String>()
            .trim()
            .to_string()
    })
}

fn lang() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "en", "es", "fr", "pt", "id", "sw", "tr", "ru", "ar", "fa", "ur", "hi", "zh-Hans",
    ])
}

/// Every combining mark follows a letter, a mark or a joiner.
fn marks_are_paired(text: &str) -> bool {
    let mut previous: Option<char> = None;
    for c in text.chars() {
        if is_mark(c) && !previous.is_some_and(is_word_char) {
            return false;
        }
        previous = Some(c);
    }
    true
}

fn apply(transform: Transform, text: &str, lang: &str, seed: u64) -> Option<(String, Option<String>)> {
    transform.apply(text, lang, &mut Rng::new(seed, &["case", transform.as_str()]))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_transform_makes_a_different_well_formed_text_or_none(
        original in text(), lang in lang(), seed in any::<u64>()
    ) {
        prop_assume!(marks_are_paired(&original));
        for transform in Transform::ALL {
            if let Some((variant, new_lang)) = apply(transform, &original, lang, seed) {
                prop_assert_ne!(&variant, &original, "{:?} made a copy", transform);
                prop_assert!(marks_are_paired(&variant), "{:?}: unpaired mark in {:?}", transform, variant);
                prop_assert!(!variant.contains(char::REPLACEMENT_CHARACTER), "replacement character in {:?}", variant);
                if let Some(tag) = new_lang {
                    prop_assert!(crate::corpus::canonical_language_tag(&tag).is_ok(), "{}", tag);
                }
            }
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_variant(original in text(), lang in lang(), seed in any::<u64>()) {
        for transform in Transform::ALL {
            prop_assert_eq!(apply(transform, &original, lang, seed), apply(transform, &original, lang, seed));
        }
    }

    #[test]
    fn idempotent_transforms_leave_nothing_to_do(original in text(), lang in lang()) {
        for transform in [
            Transform::StripDiacritics,
            Transform::SpacedLetters,
            Transform::Transliterate,
            Transform::Emoji,
        ] {
            if let Some((variant, new_lang)) = apply(transform, &original, lang, 1) {
                let again = apply(transform, &variant, new_lang.as_deref().unwrap_or(lang), 1);
                prop_assert_eq!(again, None, "{:?} of {:?} is {:?}", transform, original, variant);
            }
        }
    }

    #[test]
    fn homoglyphs_restore_exactly(original in text(), seed in any::<u64>()) {
        if let Some((variant, _)) = apply(Transform::Homoglyphs, &original, "en", seed) {
            let direction = Direction::of(&original).expect("a variant was made, so a direction exists");
            prop_assert_eq!(restore(&variant, direction), original.clone());
            prop_assert_eq!(variant.chars().count(), original.chars().count());
        }
    }

    #[test]
    fn invisible_characters_delete_back_to_the_original(original in text(), seed in any::<u64>()) {
        if let Some((variant, _)) = apply(Transform::ZeroWidth, &original, "en", seed) {
            prop_assert_eq!(variant.replace(zero_width_char(&original), ""), original.clone());
        }
        if let Some((variant, _)) = apply(Transform::SoftHyphen, &original, "en", seed) {
            prop_assert_eq!(variant.replace(SOFT_HYPHEN, ""), original.clone());
        }
    }

    #[test]
    fn substitutions_keep_length_and_touch_only_table_letters(original in text(), seed in any::<u64>()) {
        for (transform, table) in [
            (Transform::Leetspeak, &leet::LEET[..]),
            (Transform::Symbols, &leet::SYMBOLS[..]),
        ] {
            if let Some((variant, _)) = apply(transform, &original, "en", seed) {
                prop_assert_eq!(variant.chars().count(), original.chars().count());
                for (o, v) in original.chars().zip(variant.chars()) {
                    let lower = o.to_ascii_lowercase();
                    prop_assert!(o == v || table.contains(&(lower, v)), "{:?}: {} became {}", transform, o, v);
                }
            }
        }
    }

    #[test]
    fn spacing_out_only_adds_spaces(original in text()) {
        if let Some((variant, _)) = apply(Transform::SpacedLetters, &original, "en", 0) {
            let bare = |t: &str| t.chars().filter(|c| *c != ' ').collect::<String>();
            prop_assert_eq!(bare(&variant), bare(&original));
        }
    }

    #[test]
    fn the_variants_of_a_corpus_do_not_depend_on_its_order(
        texts in prop::collection::vec((text(), lang()), 1..12), seed in any::<u64>()
    ) {
        let cases: Vec<Case> = texts
            .iter()
            .enumerate()
            .map(|(i, (text, lang))| Case {
                id: format!("c{i}").into(),
                lang: lang.to_string().into(),
                text: text.clone().into(),
                label: if i % 2 == 0 { Label::Violating } else { Label::Protected },
                category: "c".into(),
                target_group: None,
                characteristics: Default::default(),
                speaker_group: None,
                pair_id: None,
                notes: Default::default(),
                metadata: Default::default(),
            })
            .collect();
        let settings = PerturbSettings {
            transforms: Transform::ALL.to_vec(),
            seed,
            labels: Vec::new(),
            languages: Vec::new(),
            categories: Vec::new(),
            share: 0.5,
            max_per_language: None,
        };
        let mut forward = perturb(&cases, &settings).unwrap().variants;
        let reversed: Vec<Case> = cases.iter().rev().cloned().collect();
        let mut backward = perturb(&reversed, &settings).unwrap().variants;
        forward.sort_by_key(|c| c.id);
        backward.sort_by_key(|c| c.id);
        prop_assert_eq!(forward, backward);
    }
}
