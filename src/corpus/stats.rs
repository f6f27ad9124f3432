//! Coverage and lint of a corpus: what it covers per language, category, label,
//! target group and protected characteristic, and what looks wrong — thin
//! cells, counterfactual families of one, near-duplicate texts, texts whose
//! script does not match their declared language, target groups the taxonomy
//! does not know, and group names that look like one group written two ways.

use crate::visible::for_terminal_line;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

use serde::Serialize;

use super::taxonomy::{Taxonomy, similar_names};
use super::{Case, Corpus, Label, TextError};

/// Jaccard similarity of character trigrams at or above which two texts are near-duplicates.
pub const NEAR_DUPLICATE: f64 = 0.9;

#[derive(Debug, Clone, Serialize)]
pub struct CorpusStats {
    pub name: String,
    pub version: String,
    pub cases: usize,
    /// Cells below this many cases are flagged.
    pub min_cell: usize,
    pub languages: Vec<LanguageStats>,
    pub flags: Vec<Flag>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LanguageStats {
    /// The primary language subtag (`fr` for `fr`, `fr-CA` …).
    pub lang: String,
    /// Cases per full language tag (regional and script variants).
    pub variants: BTreeMap<String, usize>,
    pub protected: usize,
    pub violating: usize,
    /// Protected categories with at least `min_cell` cases.
    pub protected_categories: usize,
    /// Cases per label and category.
    pub categories: BTreeMap<String, BTreeMap<String, usize>>,
    /// Cases per target group, as written.
    pub target_groups: BTreeMap<String, usize>,
    /// Cases per protected characteristic of their target group in the
    /// taxonomy (a case whose group has several counts under each).
    pub characteristics: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    ThinCell,
    SingleMemberFamily,
    NearDuplicate,
    ScriptMismatch,
    /// A target group the taxonomy does not know.
    UnknownGroup,
    /// Two target groups that look like one group written two ways.
    NearDuplicateGroup,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    pub kind: FlagKind,
    pub message: String,
    pub cases: Vec<String>,
}

/// Computes coverage and lint; target groups are looked up in `taxonomy`.
/// Fails when a case's text cannot be read back from its corpus file.
pub fn corpus_stats(corpus: &Corpus, min_cell: usize, taxonomy: &Taxonomy) -> Result<CorpusStats, TextError> {
    let mut by_lang: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for case in &corpus.cases {
        let primary = case.lang.split('-').next().unwrap_or(&case.lang);
        by_lang.entry(primary).or_default().push(case);
    }
    let mut flags = Vec::new();
    let mut languages = Vec::new();
    for (lang, cases) in &by_lang {
        let mut categories: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        let mut target_groups = BTreeMap::new();
        let mut characteristics = BTreeMap::new();
        let mut variants = BTreeMap::new();
        for case in cases {
            *variants.entry(case.lang.to_string()).or_default() += 1;
            *categories
                .entry(case.label.to_string())
                .or_default()
                .entry(case.category.to_string())
                .or_default() += 1;
            if let Some(g) = &case.target_group {
                *target_groups.entry(g.to_string()).or_default() += 1;
                for c in taxonomy.group(g).iter().flat_map(|group| group.characteristics.iter()) {
                    *characteristics.entry(c.as_str().to_string()).or_default() += 1;
                }
            }
        }
        for (label, cells) in &categories {
            for (category, &n) in cells {
                if n < min_cell {
                    flags.push(Flag {
                        kind: FlagKind::ThinCell,
                        message: format!("{lang} / {category} ({label}): {n} cases, fewer than {min_cell}"),
                        cases: Vec::new(),
                    });
                }
            }
        }
        let count = |label: Label| cases.iter().filter(|c| c.label == label).count();
        languages.push(LanguageStats {
            lang: lang.to_string(),
            variants,
            protected: count(Label::Protected),
            violating: count(Label::Violating),
            protected_categories: categories
                .get("protected")
                .map_or(0, |c| c.values().filter(|&&n| n >= min_cell).count()),
            categories,
            target_groups,
            characteristics,
        });
        let texts = cases.iter().map(|c| c.text()).collect::<Result<Vec<_>, _>>()?;
        flags.extend(near_duplicates(cases, &texts));
    }
    let mut families: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for case in &corpus.cases {
        if let Some(p) = &case.pair_id {
            families.entry(p).or_default().push(&case.id);
        }
    }
    for (pair, members) in families.iter().filter(|(_, m)| m.len() == 1) {
        flags.push(Flag {
            kind: FlagKind::SingleMemberFamily,
            message: format!("counterfactual family `{pair}` has a single member"),
            cases: members.iter().map(|m| m.to_string()).collect(),
        });
    }
    for case in &corpus.cases {
        if let Some((expected, found)) = script_mismatch(case, &case.text()?) {
            flags.push(Flag {
                kind: FlagKind::ScriptMismatch,
                message: format!(
                    "`{}` is declared `{}` but written in {found} script, not {expected}",
                    case.id, case.lang
                ),
                cases: vec![case.id.to_string()],
            });
        }
    }
    flags.extend(group_flags(corpus, taxonomy));
    Ok(CorpusStats {
        name: corpus.manifest.name.clone(),
        version: corpus.manifest.version.clone(),
        cases: corpus.cases.len(),
        min_cell,
        languages,
        flags,
    })
}

/// The target groups a taxonomy does not know (with the group each looks
/// like, if any), and pairs of groups that look like one group written two
/// ways. Groups the taxonomy knows are never flagged against each other: it
/// says whether two names are one group.
pub fn group_flags(corpus: &Corpus, taxonomy: &Taxonomy) -> Vec<Flag> {
    let mut written: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for case in &corpus.cases {
        if let Some(g) = &case.target_group {
            written.entry(g).or_default().push(&case.id);
        }
    }
    let cases_of = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect::<Vec<_>>();
    let count = |ids: &[&str]| crate::plural::count_of(ids.len() as u64, "case", "cases");
    let mut flags = Vec::new();
    let unknown: Vec<(&str, &Vec<&str>)> = written
        .iter()
        .filter(|(g, _)| taxonomy.group(g).is_none())
        .map(|(g, ids)| (*g, ids))
        .collect();
    for (group, ids) in &unknown {
        let hint = match taxonomy.suggestion(group) {
            Some((known, name)) if known.name == name => format!("; it looks like `{}`", known.name),
            Some((known, name)) => format!("; it looks like `{}` (written `{name}`)", known.name),
            None => "; name it in a taxonomy file (`corpus stats --taxonomy`, a scenario's `[taxonomy] file`)".into(),
        };
        flags.push(Flag {
            kind: FlagKind::UnknownGroup,
            message: format!("target group `{group}` ({}) is not in the taxonomy{hint}", count(ids)),
            cases: cases_of(ids),
        });
    }
    for (i, (a, a_ids)) in written.iter().enumerate() {
        for (b, b_ids) in written.iter().skip(i + 1) {
            let (known_a, known_b) = (taxonomy.group(a), taxonomy.group(b));
            if known_a.is_some() && known_b.is_some() || !similar_names(a, b) {
                continue;
            }
            flags.push(Flag {
                kind: FlagKind::NearDuplicateGroup,
                message: format!(
                    "target groups `{a}` ({}) and `{b}` ({}) look like one group written two ways; if they are, use one name or make one an alias of the other in the taxonomy",
                    count(a_ids),
                    count(b_ids)
                ),
                cases: vec![a_ids[0].to_string(), b_ids[0].to_string()],
            });
        }
    }
    flags
}

fn normalise(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim().to_string()
}

fn trigrams(text: &str) -> BTreeSet<u64> {
    let chars: Vec<char> = format!("  {text}  ").chars().collect();
    chars
        .windows(3)
        .map(|w| {
            // DefaultHasher::new() uses fixed keys: the same text always hashes the same
            let mut hasher = std::hash::DefaultHasher::new();
            w.hash(&mut hasher);
            hasher.finish()
        })
        .collect()
}

fn jaccard(a: &BTreeSet<u64>, b: &BTreeSet<u64>) -> f64 {
    let shared = a.intersection(b).count();
    let union = a.len() + b.len() - shared;
    if union == 0 { 1.0 } else { shared as f64 / union as f64 }
}

/// Near-duplicate texts within a language (members of one family excluded): a
/// MinHash-style sketch (the 4 smallest trigram hashes) proposes candidates,
/// exact Jaccard similarity decides.
fn near_duplicates(cases: &[&Case], texts: &[Cow<'_, str>]) -> Vec<Flag> {
    const SKETCH: usize = 4;
    const MAX_BUCKET: usize = 200;
    let grams: Vec<BTreeSet<u64>> = texts.iter().map(|t| trigrams(&normalise(t))).collect();
    let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, g) in grams.iter().enumerate() {
        for h in g.iter().take(SKETCH) {
            buckets.entry(*h).or_default().push(i);
        }
    }
    let mut pairs = BTreeSet::new();
    for members in buckets.values().filter(|m| m.len() > 1 && m.len() <= MAX_BUCKET) {
        for (k, &i) in members.iter().enumerate() {
            for &j in &members[k + 1..] {
                pairs.insert((i.min(j), i.max(j)));
            }
        }
    }
    let mut flags = Vec::new();
    for (i, j) in pairs {
        let (a, b) = (cases[i], cases[j]);
        if a.pair_id.is_some() && a.pair_id == b.pair_id {
            continue;
        }
        let similarity = jaccard(&grams[i], &grams[j]);
        if similarity >= NEAR_DUPLICATE {
            let what = if normalise(&texts[i]) == normalise(&texts[j]) {
                "the same text"
            } else {
                "near-duplicate texts"
            };
            flags.push(Flag {
                kind: FlagKind::NearDuplicate,
                message: format!("`{}` and `{}` have {what} (similarity {similarity:.2})", a.id, b.id),
                cases: vec![a.id.to_string(), b.id.to_string()],
            });
        }
    }
    flags
}

/// Unicode scripts, as far as the lint needs them.
fn script_of(c: char) -> Option<&'static str> {
    Some(match c as u32 {
        0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F | 0x1E00..=0x1EFF => "Latin",
        0x370..=0x3FF => "Greek",
        0x400..=0x52F => "Cyrillic",
        0x590..=0x5FF => "Hebrew",
        0x600..=0x6FF | 0x750..=0x77F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => "Arabic",
        0x900..=0x97F => "Devanagari",
        0x980..=0x9FF => "Bengali",
        0xB80..=0xBFF => "Tamil",
        0xE00..=0xE7F => "Thai",
        0x1200..=0x139F => "Ethiopic",
        0x3040..=0x30FF => "Kana",
        0xAC00..=0xD7AF => "Hangul",
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF => "Han",
        _ => return None,
    })
}

/// The script a language is written in by default.
fn expected_script(lang: &str) -> Option<&'static str> {
    let mut parts = lang.split('-');
    let primary = parts.next()?;
    if let Some(script) = parts.find(|p| p.len() == 4) {
        return match script {
            "Latn" => Some("Latin"),
            "Cyrl" => Some("Cyrillic"),
            "Arab" => Some("Arabic"),
            "Deva" => Some("Devanagari"),
            "Hans" | "Hant" => Some("Han"),
            _ => None,
        };
    }
    Some(match primary {
        "ar" | "fa" | "ur" | "ps" | "ckb" => "Arabic",
        "ru" | "uk" | "bg" | "sr" | "be" | "kk" => "Cyrillic",
        "hi" | "mr" | "ne" => "Devanagari",
        "bn" => "Bengali",
        "ta" => "Tamil",
        "th" => "Thai",
        "am" | "ti" => "Ethiopic",
        "he" | "yi" => "Hebrew",
        "el" => "Greek",
        "zh" | "yue" => "Han",
        "ko" => "Hangul",
        "en" | "es" | "pt" | "fr" | "de" | "it" | "nl" | "pl" | "tr" | "id" | "ms" | "sw" | "tl" | "vi" | "ha"
        | "yo" | "ro" | "cs" | "sv" | "da" | "no" | "fi" | "hu" => "Latin",
        _ => return None,
    })
}

fn script_mismatch(case: &Case, text: &str) -> Option<(&'static str, &'static str)> {
    let expected = expected_script(&case.lang)?;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in text.chars().filter_map(script_of) {
        *counts.entry(s).or_default() += 1;
    }
    let letters: usize = counts.values().sum();
    let (dominant, n) = counts.iter().max_by_key(|(_, n)| **n)?;
    if letters < 3 || *dominant == expected || n * 2 <= letters {
        return None;
    }
    // Japanese mixes kana and Han.
    if expected == "Han" && *dominant == "Kana" {
        return None;
    }
    Some((expected, dominant))
}

/// A human-readable rendering of the stats.
pub fn render_stats(stats: &CorpusStats) -> String {
    // every value comes from the corpus: one line each, nothing that acts on a terminal
    let v = |text: &str| for_terminal_line(text).into_owned();
    let mut out = format!(
        "corpus `{}` {} — {} cases in {}\n\n",
        v(&stats.name),
        v(&stats.version),
        stats.cases,
        crate::plural::count_of(stats.languages.len() as u64, "language", "languages")
    );
    out.push_str(&format!(
        "{:<10} {:>9} {:>9} {:>12} {:>13}  {}\n",
        "language", "protected", "violating", "prot. cats", "target groups", "tags"
    ));
    for l in &stats.languages {
        let tags: Vec<String> = l.variants.iter().map(|(t, n)| format!("{} {n}", v(t))).collect();
        out.push_str(&format!(
            "{:<10} {:>9} {:>9} {:>12} {:>13}  {}\n",
            v(&l.lang),
            l.protected,
            l.violating,
            l.protected_categories,
            l.target_groups.len(),
            tags.join(", ")
        ));
    }
    out.push_str(&format!(
        "(prot. cats = protected categories with at least {} cases)\n\n",
        stats.min_cell
    ));
    out.push_str("language × label × category\n");
    for l in &stats.languages {
        for (label, cells) in &l.categories {
            let cells: Vec<String> = cells.iter().map(|(c, n)| format!("{} {n}", v(c))).collect();
            out.push_str(&format!("  {:<8} {:<9} {}\n", v(&l.lang), label, cells.join(", ")));
        }
    }
    out.push_str("\nprotected characteristics (a group with several counts under each)\n");
    for l in &stats.languages {
        let counts: Vec<String> = l.characteristics.iter().map(|(c, n)| format!("{c} {n}")).collect();
        out.push_str(&format!("  {:<8} {}\n", v(&l.lang), counts.join(", ")));
    }
    out.push_str("\ntarget groups\n");
    for l in &stats.languages {
        let groups: Vec<String> = l.target_groups.iter().map(|(g, n)| format!("{} {n}", v(g))).collect();
        out.push_str(&format!("  {:<8} {}\n", v(&l.lang), groups.join(", ")));
    }
    out.push_str(&format!("\nflags ({})\n", stats.flags.len()));
    for f in &stats.flags {
        out.push_str(&format!(
            "  {}: {}\n",
            serde_json::to_value(&f.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            v(&f.message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{CorpusManifest, Label};

    fn case(id: &str, lang: &str, text: &str, pair: Option<&str>) -> Case {
        Case {
            id: id.into(),
            lang: lang.into(),
            text: text.into(),
            label: Label::Protected,
            category: "c".into(),
            target_group: None,
            characteristics: Default::default(),
            speaker_group: None,
            pair_id: pair.map(Into::into),
            notes: Default::default(),
            metadata: Default::default(),
        }
    }

    fn corpus(cases: Vec<Case>) -> Corpus {
        Corpus {
            dir: ".".into(),
            manifest: CorpusManifest {
                name: "t".into(),
                version: "1".into(),
                description: String::new(),
                license: String::new(),
                languages: vec![],
                files: vec![],
                templates: vec![],
                provenance: vec![],
                source: None,
            },
            cases,
            files: vec![],
            reviews: vec![],
        }
    }

    #[test]
    fn flags_what_looks_wrong() {
        let stats = corpus_stats(
            &corpus(vec![
                case(
                    "a",
                    "en",
                    "The council meeting was postponed until next Tuesday evening.",
                    None,
                ),
                case(
                    "b",
                    "en",
                    "The council meeting was postponed until next Tuesday evening!",
                    None,
                ),
                case(
                    "c",
                    "en",
                    "The council meeting was postponed until next Tuesday evening?",
                    Some("f1"),
                ),
                case("d", "ar", "This is written in Latin letters", None),
                case("e", "hi-Latn", "yeh roman mein likha hai", None),
                case(
                    "f",
                    "en",
                    "Something else entirely about gardening and tomatoes.",
                    Some("f2"),
                ),
            ]),
            2,
            &Taxonomy::default(),
        )
        .unwrap();
        let kinds: Vec<&FlagKind> = stats.flags.iter().map(|f| &f.kind).collect();
        assert!(kinds.contains(&&FlagKind::NearDuplicate));
        assert_eq!(
            stats
                .flags
                .iter()
                .filter(|f| f.kind == FlagKind::SingleMemberFamily)
                .count(),
            2
        );
        let scripts: Vec<&Flag> = stats
            .flags
            .iter()
            .filter(|f| f.kind == FlagKind::ScriptMismatch)
            .collect();
        assert_eq!(scripts.len(), 1, "hi-Latn is expected to be Latin");
        assert!(
            scripts[0]
                .message
                .contains("`d` is declared `ar` but written in Latin script")
        );
        assert!(
            stats
                .flags
                .iter()
                .any(|f| f.kind == FlagKind::ThinCell && f.message.starts_with("ar / c"))
        );
        let en = stats.languages.iter().find(|l| l.lang == "en").unwrap();
        assert_eq!((en.protected, en.protected_categories), (4, 1));
    }
}
