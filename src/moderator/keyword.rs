//! `builtin:keyword`: the naive per-language blocklist filter that platforms
//! really deploy, and the offline baseline of every quickstart audit.
//!
//! Text and terms are lower-cased (and, for Arabic-script languages, stripped of
//! diacritics and tatweel with common letter variants unified). In languages
//! written with spaces a term must match a whole word; in Arabic-script and
//! CJK languages any substring matches, as such filters do. Context is never
//! considered — which is exactly why such filters remove counter-speech,
//! reclaimed terms and news reporting.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::{Deserialize, Serialize};

use super::check::Checks;
use super::env::EnvUse;
use super::kind::{Setup, TargetConfig, TargetKind};
use super::{AttemptError, BoxFuture, ModerationRequest, Moderator, SetupError, TargetInfo, Verdict, fingerprint};
use crate::decision::{Action, Notice, ScoreRule};
use crate::input::{DATA_LIMIT, read_input};

/// The lists shipped with modaudit, by language.
const BUILTIN_LEXICONS: &[(&str, &str)] = &[
    ("ar", include_str!("lexicons/ar.txt")),
    ("en", include_str!("lexicons/en.txt")),
    ("es", include_str!("lexicons/es.txt")),
    ("fa", include_str!("lexicons/fa.txt")),
    ("fr", include_str!("lexicons/fr.txt")),
    ("hi", include_str!("lexicons/hi.txt")),
    ("id", include_str!("lexicons/id.txt")),
    ("pt", include_str!("lexicons/pt.txt")),
    ("ru", include_str!("lexicons/ru.txt")),
    ("sw", include_str!("lexicons/sw.txt")),
    ("tr", include_str!("lexicons/tr.txt")),
    ("ur", include_str!("lexicons/ur.txt")),
    ("zh", include_str!("lexicons/zh.txt")),
];

/// Languages with a built-in list.
pub fn builtin_lexicon_languages() -> Vec<&'static str> {
    BUILTIN_LEXICONS.iter().map(|(lang, _)| *lang).collect()
}

/// A keyword list's text and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexiconSource {
    /// "built-in" or the file it was read from.
    pub origin: String,
    pub text: String,
}

/// `[target]` with `kind = "builtin:keyword"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKeyword {
    /// Keyword lists replacing or adding to the built-in ones: language → file.
    #[serde(default)]
    lexicons: BTreeMap<String, String>,
}

/// What the scenario says about the keyword filter: the lists to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordSpec {
    /// Keyword lists by primary language subtag.
    pub lexicons: BTreeMap<String, LexiconSource>,
}

impl TargetKind for KeywordSpec {
    const NAME: &'static str = "builtin:keyword";
    type Raw = RawKeyword;

    /// Reads the lists the scenario names and checks that every list has terms.
    fn check(raw: RawKeyword, checks: &mut Checks<'_>) -> Option<Self> {
        let mut overrides = BTreeMap::new();
        for (lang, file) in &raw.lexicons {
            let path = checks.resolve(file);
            let text = read_input(&path, DATA_LIMIT)
                .map_err(|e| e.to_string())
                .and_then(|bytes| String::from_utf8(bytes.content().to_vec()).map_err(|e| e.to_string()));
            match text {
                Ok(text) => {
                    overrides.insert(
                        lang.to_ascii_lowercase(),
                        LexiconSource {
                            origin: path.display().to_string(),
                            text,
                        },
                    );
                }
                Err(e) => checks.problem(
                    &["lexicons"],
                    format!("cannot read the keyword list for `{lang}` at {}: {e}", path.display()),
                ),
            }
        }
        let spec = KeywordSpec::with_overrides(overrides);
        if let Err(error) = KeywordFilter::new(&spec) {
            checks.problem(&["lexicons"], error.to_string());
        }
        Some(spec)
    }
}

impl TargetConfig for KeywordSpec {
    fn required_env(&self) -> Vec<EnvUse> {
        Vec::new()
    }

    fn local_files(&self) -> Vec<&Path> {
        Vec::new()
    }

    fn build(&self, _: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        Ok(Arc::new(KeywordFilter::new(self)?))
    }

    /// A keyword list matches or does not: it has no score.
    fn score_rule(&self) -> Option<ScoreRule> {
        None
    }
}

/// A keyword list that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("the keyword list for `{lang}` ({origin}) has no terms")]
    NoTerms { lang: String, origin: String },
    #[error("cannot build the keyword matcher for `{lang}`: {source}")]
    Matcher {
        lang: String,
        #[source]
        source: aho_corasick::BuildError,
    },
}

impl KeywordSpec {
    /// The built-in lists, with `overrides` (language → list) replacing or adding languages.
    pub fn with_overrides(overrides: BTreeMap<String, LexiconSource>) -> Self {
        let mut lexicons: BTreeMap<String, LexiconSource> = BUILTIN_LEXICONS
            .iter()
            .map(|(lang, text)| {
                (
                    lang.to_string(),
                    LexiconSource {
                        origin: "built-in".into(),
                        text: text.to_string(),
                    },
                )
            })
            .collect();
        lexicons.extend(overrides);
        KeywordSpec { lexicons }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum MatchMode {
    WholeWord,
    Substring,
}

struct Lexicon {
    terms: Vec<String>,
    matcher: AhoCorasick,
    mode: MatchMode,
}

/// What the filter found in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match<'a> {
    /// A listed term.
    Term(&'a str),
    /// No listed term.
    Clean,
    /// The filter has no list for the text's language.
    NoList,
}

/// What the fingerprint of the keyword filter covers: each language's
/// normalised terms and how they match.
#[derive(Serialize)]
struct KeywordFingerprint<'a> {
    lexicons: BTreeMap<&'a str, LexiconFingerprint<'a>>,
}

#[derive(Serialize)]
struct LexiconFingerprint<'a> {
    mode: MatchMode,
    terms: &'a [String],
}

/// The keyword filter.
pub struct KeywordFilter {
    lexicons: BTreeMap<String, Lexicon>,
    info: TargetInfo,
}

/// Languages whose scripts are matched by substring: Arabic script (clitics attach
/// to words) and scripts written without spaces.
const SUBSTRING_LANGUAGES: &[&str] = &["ar", "fa", "ur", "ps", "ckb", "zh", "ja", "th", "lo", "km", "my"];

const ARABIC_SCRIPT_LANGUAGES: &[&str] = &["ar", "fa", "ur", "ps", "ckb"];

impl KeywordFilter {
    pub fn new(spec: &KeywordSpec) -> Result<Self, LexiconError> {
        let mut lexicons = BTreeMap::new();
        let mut total_terms = 0;
        for (lang, source) in &spec.lexicons {
            let mut terms: Vec<String> = source
                .text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|t| normalize(t, lang))
                .filter(|t| !t.is_empty())
                .collect();
            terms.sort();
            terms.dedup();
            if terms.is_empty() {
                return Err(LexiconError::NoTerms {
                    lang: lang.clone(),
                    origin: source.origin.clone(),
                });
            }
            let matcher = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&terms)
                .map_err(|source| LexiconError::Matcher {
                    lang: lang.clone(),
                    source,
                })?;
            let mode = if SUBSTRING_LANGUAGES.contains(&lang.as_str()) {
                MatchMode::Substring
            } else {
                MatchMode::WholeWord
            };
            total_terms += terms.len();
            lexicons.insert(lang.clone(), Lexicon { terms, matcher, mode });
        }
        let language_count = lexicons.len();
        let fingerprint = fingerprint(
            KeywordSpec::NAME,
            &KeywordFingerprint {
                lexicons: lexicons
                    .iter()
                    .map(|(lang, l)| {
                        (
                            lang.as_str(),
                            LexiconFingerprint {
                                mode: l.mode,
                                terms: &l.terms,
                            },
                        )
                    })
                    .collect(),
            },
        );
        Ok(KeywordFilter {
            lexicons,
            info: TargetInfo {
                kind: KeywordSpec::NAME.into(),
                description: format!(
                    "built-in keyword filter ({}, {total_terms} terms)",
                    crate::plural::count_of(language_count as u64, "language", "languages")
                ),
                fingerprint,
                gives_notice: true,
                notes: Vec::new(),
            },
        })
    }

    /// The first listed term found in `text`.
    pub fn first_match(&self, text: &str, lang: &str) -> Match<'_> {
        let primary = primary_subtag(lang);
        let Some(lexicon) = self.lexicons.get(&primary) else {
            return Match::NoList;
        };
        let haystack = normalize(text, &primary);
        for m in lexicon.matcher.find_overlapping_iter(&haystack) {
            if lexicon.mode == MatchMode::Substring || is_whole_word(&haystack, m.start(), m.end()) {
                return Match::Term(&lexicon.terms[m.pattern().as_usize()]);
            }
        }
        Match::Clean
    }

    fn verdict(&self, request: &ModerationRequest<'_>) -> Verdict {
        match self.first_match(request.text, request.lang) {
            Match::Term(term) => Verdict {
                action: Some(Action::Remove),
                notice: Notice {
                    reason: Some(format!("contains the blocked term \"{term}\"")),
                    ..Notice::default()
                },
                response: Some(serde_json::json!({ "matched_term": term })),
                ..Verdict::default()
            },
            Match::Clean => Verdict {
                action: Some(Action::Allow),
                response: Some(serde_json::json!({ "matched_term": null })),
                ..Verdict::default()
            },
            Match::NoList => Verdict {
                action: Some(Action::Unsupported),
                detail: Some(format!(
                    "the keyword filter has no list for language `{}`",
                    request.lang
                )),
                ..Verdict::default()
            },
        }
    }
}

impl Moderator for KeywordFilter {
    fn info(&self) -> TargetInfo {
        self.info.clone()
    }

    fn batch_size(&self) -> usize {
        64
    }

    fn moderate<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        Box::pin(async move { Ok(batch.iter().map(|r| self.verdict(r)).collect()) })
    }
}

fn primary_subtag(lang: &str) -> String {
    lang.split('-').next().unwrap_or(lang).to_ascii_lowercase()
}

fn is_whole_word(haystack: &str, start: usize, end: usize) -> bool {
    let before = haystack[..start].chars().next_back();
    let after = haystack[end..].chars().next();
    !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
}

/// Letters, digits, and the marks and joiners that continue a word: vowel signs
/// and viramas (Devanagari, Bengali, Thai), combining accents, zero-width
/// (non-)joiners. Without the marks, `कुत्ते` would contain the word `कुत`.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c,
            '\u{0300}'..='\u{036F}' | '\u{0483}'..='\u{0489}' | '\u{0591}'..='\u{05C7}' | '\u{0610}'..='\u{061A}'
            | '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{06D6}'..='\u{06ED}' | '\u{0900}'..='\u{0903}'
            | '\u{093A}'..='\u{094F}' | '\u{0951}'..='\u{0957}' | '\u{0962}'..='\u{0963}' | '\u{0981}'..='\u{0983}'
            | '\u{09BC}'..='\u{09D7}' | '\u{09E2}'..='\u{09E3}' | '\u{0B82}'..='\u{0BCD}' | '\u{0E31}'
            | '\u{0E34}'..='\u{0E3A}' | '\u{0E47}'..='\u{0E4E}' | '\u{200C}'..='\u{200D}')
}

/// Lower-cases, and for Arabic-script languages removes diacritics and tatweel
/// and unifies alef, yeh and teh marbuta variants.
fn normalize(text: &str, lang: &str) -> String {
    let primary = primary_subtag(lang);
    let lower = if matches!(primary.as_str(), "tr" | "az") {
        // Turkish and Azerbaijani: dotted İ → i, dotless I → ı (not the default i̇ / i)
        text.chars()
            .map(|c| match c {
                'İ' => 'i',
                'I' => 'ı',
                other => other,
            })
            .collect::<String>()
            .to_lowercase()
    } else {
        text.to_lowercase()
    };
    if !ARABIC_SCRIPT_LANGUAGES.contains(&primary.as_str()) {
        return lower;
    }
    lower
        .chars()
        .filter(|c| !matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}'))
        .map(|c| match c {
            'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
            'ى' => 'ي',
            'ة' => 'ه',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(lang: &str, terms: &str) -> KeywordFilter {
        let mut lexicons = BTreeMap::new();
        lexicons.insert(
            lang.to_string(),
            LexiconSource {
                origin: "test".into(),
                text: terms.into(),
            },
        );
        KeywordFilter::new(&KeywordSpec { lexicons }).unwrap()
    }

    #[test]
    fn whole_words_only_in_spaced_languages() {
        let f = filter("en", "# comment\nkill\nvermin\n");
        assert_eq!(f.first_match("I will KILL them", "en"), Match::Term("kill"));
        assert_eq!(f.first_match("skills and killjoys", "en"), Match::Clean);
        assert_eq!(f.first_match("they are vermin.", "en-US"), Match::Term("vermin"));
    }

    #[test]
    fn marks_and_joiners_continue_a_word() {
        let f = filter("hi", "कुत\n");
        // कुत्ते = कुत + virama + ते: the listed term is not a whole word here
        assert_eq!(f.first_match("वे कुत्ते हैं", "hi"), Match::Clean);
        assert_eq!(f.first_match("वह कुत है", "hi"), Match::Term("कुत"));
    }

    #[test]
    fn substrings_after_arabic_normalisation() {
        let f = filter("ar", "حشرات\nاقتل\n");
        // with the article and a diacritic, and alef with hamza
        assert_eq!(f.first_match("هؤلاء الحَشرات", "ar"), Match::Term("حشرات"));
        assert_eq!(f.first_match("سقط قتيل", "ar"), Match::Clean);
        // substring matching catches the verb with a prefix, as naive filters do
        assert_eq!(f.first_match("سأقتل", "ar"), Match::Term("اقتل"));
        assert_eq!(f.first_match("أقتل", "ar"), Match::Term("اقتل"));
    }

    #[test]
    fn turkish_capitals_lower_case_the_turkish_way() {
        let f = filter("tr", "ibne\nıslak\n");
        assert_eq!(f.first_match("İBNE dediler", "tr"), Match::Term("ibne"));
        assert_eq!(f.first_match("Islak", "tr"), Match::Term("ıslak"));
    }

    #[test]
    fn every_builtin_list_loads() {
        let spec = KeywordSpec::with_overrides(BTreeMap::new());
        let f = KeywordFilter::new(&spec).unwrap();
        assert_eq!(builtin_lexicon_languages().len(), 13);
        assert!(
            f.info()
                .description
                .starts_with("built-in keyword filter (13 languages, "),
            "{}",
            f.info().description
        );
    }

    #[test]
    fn language_without_list_is_unsupported() {
        let f = filter("en", "kill\n");
        let v = f.verdict(&ModerationRequest {
            id: "x",
            lang: "sw",
            text: "kill",
        });
        assert_eq!(v.action, Some(Action::Unsupported));
    }

    #[test]
    fn a_match_gives_a_reason_and_nothing_else() {
        let f = filter("en", "kill\n");
        let v = f.verdict(&ModerationRequest {
            id: "x",
            lang: "en",
            text: "kill",
        });
        assert_eq!(v.action, Some(Action::Remove));
        assert!(v.notice.reason.is_some());
        assert_eq!(v.notice.decision_id, None);
        assert_eq!(v.notice.appeal_url, None);
    }

    #[test]
    fn the_fingerprint_is_pinned() {
        let lexicons = [(
            "en".to_string(),
            LexiconSource {
                origin: "test".into(),
                text: "kill\nVermin\n# a comment\n".into(),
            },
        )]
        .into();
        assert_eq!(
            KeywordFilter::new(&KeywordSpec { lexicons })
                .unwrap()
                .info()
                .fingerprint,
            "ab7ba5a4d4240b85bf0d0d8c70b08ff2e47f6e49e38b0e654b7250915c4c3995"
        );
    }
}
