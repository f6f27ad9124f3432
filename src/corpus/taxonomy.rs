//! The taxonomy of groups: one canonical name per group of people, the
//! protected characteristics it is defined by, and the local names (aliases)
//! corpora write for it — `ahmadis` and `ahmadiyya`, `baloch` and `baluch`.
//! Group names are local to each corpus and language; the taxonomy is what
//! makes a finding statable per characteristic across languages.
//!
//! A taxonomy is a TOML file of `[groups.<name>]` tables, each with a `label`,
//! its `characteristics` (from the fixed list of [`Characteristic`]) and its
//! `aliases`. One is bundled ([`Taxonomy::bundled`], `corpora/taxonomy.toml`);
//! a scenario's own file is merged over it ([`Taxonomy::merged_with`]). Names
//! and aliases match whatever their case and punctuation (`Ahmadiyya`,
//! `jewish people`), never by guess: near misses are only suggested
//! ([`similar_names`]), by the corpus lint.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Case;
use crate::diagnostic::{Diagnostic, Diagnostics, from_toml_error, line_and_column, toml_key_line};
use crate::input::{TOML_LIMIT, read_input};
use crate::sym::Sym;

/// The bundled taxonomy, as shipped in `corpora/taxonomy.toml`.
pub const BUNDLED_TAXONOMY: &str = include_str!("../../corpora/taxonomy.toml");

/// How the bundled taxonomy is named in messages.
pub const BUNDLED_TAXONOMY_NAME: &str = "corpora/taxonomy.toml (bundled)";

/// A protected characteristic: a ground on which discrimination is prohibited
/// (EU Charter of Fundamental Rights Art. 21, ICCPR Art. 2 and 26, and
/// national equality law such as the UK Equality Act 2010 s. 4–12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Characteristic {
    ReligionOrBelief,
    EthnicityOrNationalOrigin,
    RaceOrColour,
    SexOrGender,
    GenderIdentity,
    SexualOrientation,
    Disability,
    Age,
    MigrationStatus,
    Caste,
    Language,
    PoliticalOpinion,
}

impl Characteristic {
    /// Every characteristic, in the order of the list.
    pub const ALL: [Characteristic; 12] = [
        Characteristic::ReligionOrBelief,
        Characteristic::EthnicityOrNationalOrigin,
        Characteristic::RaceOrColour,
        Characteristic::SexOrGender,
        Characteristic::GenderIdentity,
        Characteristic::SexualOrientation,
        Characteristic::Disability,
        Characteristic::Age,
        Characteristic::MigrationStatus,
        Characteristic::Caste,
        Characteristic::Language,
        Characteristic::PoliticalOpinion,
    ];

    /// The name used in files and results: `religion_or_belief`.
    pub fn as_str(self) -> &'static str {
        match self {
            Characteristic::ReligionOrBelief => "religion_or_belief",
            Characteristic::EthnicityOrNationalOrigin => "ethnicity_or_national_origin",
            Characteristic::RaceOrColour => "race_or_colour",
            Characteristic::SexOrGender => "sex_or_gender",
            Characteristic::GenderIdentity => "gender_identity",
            Characteristic::SexualOrientation => "sexual_orientation",
            Characteristic::Disability => "disability",
            Characteristic::Age => "age",
            Characteristic::MigrationStatus => "migration_status",
            Characteristic::Caste => "caste",
            Characteristic::Language => "language",
            Characteristic::PoliticalOpinion => "political_opinion",
        }
    }

    /// The characteristic named `name` in files and results.
    pub fn parse(name: &str) -> Option<Characteristic> {
        Characteristic::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The name for prose: "religion or belief".
    pub fn title(self) -> &'static str {
        match self {
            Characteristic::ReligionOrBelief => "religion or belief",
            Characteristic::EthnicityOrNationalOrigin => "ethnicity or national origin",
            Characteristic::RaceOrColour => "race or colour",
            Characteristic::SexOrGender => "sex or gender",
            Characteristic::GenderIdentity => "gender identity",
            Characteristic::SexualOrientation => "sexual orientation",
            Characteristic::Disability => "disability",
            Characteristic::Age => "age",
            Characteristic::MigrationStatus => "migration status",
            Characteristic::Caste => "caste",
            Characteristic::Language => "language",
            Characteristic::PoliticalOpinion => "political opinion",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Characteristic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of characteristics, in list order; two bytes per case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Characteristics(u16);

impl Characteristics {
    pub fn insert(&mut self, characteristic: Characteristic) {
        self.0 |= characteristic.bit();
    }

    pub fn contains(self, characteristic: Characteristic) -> bool {
        self.0 & characteristic.bit() != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    /// The characteristics in list order.
    pub fn iter(self) -> impl Iterator<Item = Characteristic> {
        Characteristic::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl FromIterator<Characteristic> for Characteristics {
    fn from_iter<I: IntoIterator<Item = Characteristic>>(iter: I) -> Self {
        let mut set = Characteristics::default();
        iter.into_iter().for_each(|c| set.insert(c));
        set
    }
}

impl Serialize for Characteristics {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// One canonical group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The canonical name, as reports show it: `ahmadis`.
    pub name: String,
    /// A human-readable name: "Ahmadi Muslims".
    pub label: String,
    /// Empty only for a group no listed characteristic protects (declared as
    /// `characteristics = []`): it is compared as a group, under no characteristic.
    pub characteristics: Characteristics,
    /// Other names corpora write for the group.
    pub aliases: Vec<String>,
}

/// Canonical groups and the names that lead to them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Taxonomy {
    groups: BTreeMap<String, Group>,
    /// [`name_key`] of every name and alias → canonical name.
    index: HashMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTaxonomy {
    #[serde(default)]
    groups: BTreeMap<String, RawGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    label: String,
    characteristics: Vec<Characteristic>,
    #[serde(default)]
    aliases: Vec<toml::Spanned<String>>,
}

/// A name written in a taxonomy file, and where.
struct Claim<'a> {
    key: String,
    written: &'a str,
    group: &'a str,
    /// Byte offset of an alias; `None` for a group's own name.
    offset: Option<usize>,
}

impl Taxonomy {
    /// The bundled taxonomy.
    pub fn bundled() -> Taxonomy {
        Taxonomy::parse(Path::new(BUNDLED_TAXONOMY_NAME), BUNDLED_TAXONOMY)
            .expect("the bundled taxonomy is valid: checked by a unit test")
    }

    /// Reads a taxonomy file through the bounded reader and parses it.
    pub fn load(path: &Path) -> Result<Taxonomy, Diagnostics> {
        let bytes = read_input(path, TOML_LIMIT).map_err(|e| Diagnostics(vec![e.at(path)]))?;
        let text = std::str::from_utf8(bytes.content())
            .map_err(|e| Diagnostics(vec![Diagnostic::file(path, format!("not valid UTF-8: {e}"))]))?;
        Taxonomy::parse(path, text)
    }

    /// Parses and validates a taxonomy; every problem is located in `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Taxonomy, Diagnostics> {
        let raw: RawTaxonomy = toml::from_str(text).map_err(|e| Diagnostics(vec![from_toml_error(path, text, &e)]))?;
        let mut problems = Vec::new();
        let group_line = |name: &str, key: Option<&str>| {
            let mut key_path = vec!["groups", name];
            key_path.extend(key);
            toml_key_line(text, &key_path)
        };
        let at_group = |name: &str, key: Option<&str>, message: String| Diagnostic {
            line: group_line(name, key),
            ..Diagnostic::file(path, message).with_field(format!(
                "groups.{name}{}",
                key.map_or(String::new(), |k| format!(".{k}"))
            ))
        };
        let mut claims: Vec<Claim<'_>> = Vec::new();
        for (name, group) in &raw.groups {
            if name_key(name).is_empty() {
                problems.push(at_group(
                    name,
                    None,
                    format!("group name `{name}` has no letter or digit"),
                ));
            }
            if group.label.trim().is_empty() {
                problems.push(at_group(
                    name,
                    Some("label"),
                    format!("group `{name}` has an empty label"),
                ));
            }
            let mut seen = Vec::new();
            for c in &group.characteristics {
                if seen.contains(c) {
                    problems.push(at_group(
                        name,
                        Some("characteristics"),
                        format!("group `{name}` lists `{c}` twice"),
                    ));
                }
                seen.push(*c);
            }
            claims.push(Claim {
                key: name_key(name),
                written: name,
                group: name,
                offset: None,
            });
            for alias in &group.aliases {
                if name_key(alias.get_ref()).is_empty() {
                    problems.push(Diagnostic::at_offset(
                        path,
                        text,
                        alias.span().start,
                        format!("alias `{}` of `{name}` has no letter or digit", alias.get_ref()),
                    ));
                    continue;
                }
                claims.push(Claim {
                    key: name_key(alias.get_ref()),
                    written: alias.get_ref(),
                    group: name,
                    offset: Some(alias.span().start),
                });
            }
        }
        // a name is claimed once: of claims on one name, every later one (an
        // alias, or a group further down) is an error
        let mut by_key: BTreeMap<&str, Vec<&Claim<'_>>> = BTreeMap::new();
        for claim in &claims {
            by_key.entry(&claim.key).or_default().push(claim);
        }
        for mut same in by_key.into_values().filter(|same| same.len() > 1) {
            same.sort_by_key(|c| match c.offset {
                Some(offset) => line_and_column(text, offset),
                None => (group_line(c.group, None).unwrap_or(0), 0),
            });
            let earlier = same[0];
            for claim in &same[1..] {
                let message = if earlier.group == claim.group {
                    format!("`{}` names `{}` twice", claim.written, claim.group)
                } else {
                    let what = if claim.offset.is_some() { "alias" } else { "group name" };
                    format!(
                        "{what} `{}` is claimed by both `{}` and `{}` (as `{}`); a name leads to one group",
                        claim.written, earlier.group, claim.group, earlier.written
                    )
                };
                problems.push(match claim.offset {
                    Some(offset) => Diagnostic::at_offset(path, text, offset, message)
                        .with_field(format!("groups.{}.aliases", claim.group)),
                    None => at_group(claim.group, None, message),
                });
            }
        }
        if !problems.is_empty() {
            return Err(Diagnostics(problems));
        }
        let groups = raw
            .groups
            .into_iter()
            .map(|(name, raw)| {
                let group = Group {
                    name: name.clone(),
                    label: raw.label.trim().to_string(),
                    characteristics: raw.characteristics.into_iter().collect(),
                    aliases: raw.aliases.into_iter().map(toml::Spanned::into_inner).collect(),
                };
                (name, group)
            })
            .collect();
        Ok(Taxonomy::indexed(groups))
    }

    fn indexed(groups: BTreeMap<String, Group>) -> Taxonomy {
        let mut index = HashMap::new();
        for group in groups.values() {
            for written in std::iter::once(&group.name).chain(&group.aliases) {
                index.insert(name_key(written), group.name.clone());
            }
        }
        Taxonomy { groups, index }
    }

    /// This taxonomy with `other`'s groups merged over it. A group of `other`
    /// replaces the group of the same name; a name or alias of `other` is taken
    /// from whichever group here had it (a group whose own name is taken goes).
    pub fn merged_with(self, other: Taxonomy) -> Taxonomy {
        let mut groups = self.groups;
        for key in other.index.keys() {
            groups.retain(|_, g| name_key(&g.name) != *key);
            for group in groups.values_mut() {
                group.aliases.retain(|a| name_key(a) != *key);
            }
        }
        groups.extend(other.groups);
        Taxonomy::indexed(groups)
    }

    /// The group `written` names (its canonical name or an alias, whatever the
    /// case and punctuation), if any.
    pub fn group(&self, written: &str) -> Option<&Group> {
        self.index
            .get(&name_key(written))
            .and_then(|name| self.groups.get(name))
    }

    /// Every group, by canonical name.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    /// Resolves every case's target group: its canonical name replaces what was
    /// written, and its characteristics are set. Returns the values the
    /// taxonomy does not know, with their numbers of cases; those stay as
    /// written and have no characteristic.
    pub fn resolve_cases(&self, cases: &mut [Case]) -> BTreeMap<String, usize> {
        let mut unknown = BTreeMap::new();
        for case in cases {
            let Some(written) = &case.target_group else { continue };
            match self.group(written) {
                Some(group) => {
                    case.characteristics = group.characteristics;
                    if *written != group.name {
                        case.target_group = Some(Sym::new(&group.name));
                    }
                }
                None => *unknown.entry(written.to_string()).or_default() += 1,
            }
        }
        unknown
    }

    /// A group whose name or alias looks like `written` ([`similar_names`]),
    /// with the name it looks like; the closest, ties by name.
    pub fn suggestion(&self, written: &str) -> Option<(&Group, &str)> {
        let key = stem(written);
        let mut best: Option<(usize, &Group, &str)> = None;
        for group in self.groups.values() {
            for name in std::iter::once(&group.name).chain(&group.aliases) {
                if !similar_names(written, name) {
                    continue;
                }
                let distance = edit_distance(&key, &stem(name));
                if best.is_none_or(|(d, _, _)| distance < d) {
                    best = Some((distance, group, name));
                }
            }
        }
        best.map(|(_, group, name)| (group, name))
    }
}

/// A name as matched: lower case, every run of other characters than letters
/// and digits one `_`, none at the ends (`Jewish people` → `jewish_people`).
pub fn name_key(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// Suffixes that do not change which group a name means.
const NEUTRAL_SUFFIXES: [&str; 5] = ["_people", "_persons", "_community", "_communities", "_population"];

/// A name reduced to what tells groups apart: its [`name_key`] without a
/// neutral suffix (`_people` …) and without a plural `s`.
fn stem(name: &str) -> String {
    let mut key = name_key(name);
    if let Some(suffix) = NEUTRAL_SUFFIXES
        .iter()
        .find(|s| key.ends_with(*s) && key.len() > s.len())
    {
        key.truncate(key.len() - suffix.len());
    }
    if key.ends_with('s') && !key.ends_with("ss") && key.chars().count() > 3 {
        key.pop();
    }
    key
}

/// Whether two names look like one group written two ways: the same once case,
/// punctuation, a `_people`-like suffix and a plural `s` are set aside, or
/// within one edit of each other (two for names of eight characters or more;
/// none for names under five).
pub fn similar_names(a: &str, b: &str) -> bool {
    let (a, b) = (stem(a), stem(b));
    if a == b {
        return true;
    }
    let shorter = a.chars().count().min(b.chars().count());
    let allowed = match shorter {
        0..=4 => 0,
        5..=7 => 1,
        _ => 2,
    };
    allowed > 0 && edit_distance(&a, &b) <= allowed
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Taxonomy, Vec<String>> {
        Taxonomy::parse(Path::new("t.toml"), text).map_err(|d| d.0.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn the_bundled_taxonomy_is_valid_and_names_every_characteristic_it_uses() {
        let taxonomy =
            Taxonomy::parse(Path::new(BUNDLED_TAXONOMY_NAME), BUNDLED_TAXONOMY).unwrap_or_else(|d| panic!("{d}"));
        assert!(taxonomy.groups().count() > 80);
        let ahmadis = taxonomy.group("Ahmadiyya").unwrap();
        assert_eq!(ahmadis.name, "ahmadis");
        assert!(ahmadis.characteristics.contains(Characteristic::ReligionOrBelief));
        assert_eq!(taxonomy.group("baluch").unwrap().name, "baloch");
        assert_eq!(taxonomy.group("jewish people").unwrap().name, "jews");
        assert!(taxonomy.group("martians").is_none());
        for group in taxonomy.groups() {
            assert!(!group.label.is_empty(), "{}", group.name);
            assert_eq!(group.name, name_key(&group.name), "canonical names are snake_case");
        }
    }

    #[test]
    fn problems_are_located() {
        let errors = parse("[groups.a]\nlabel = \"A\"\ncharacteristics = [\"religion\"]\n").unwrap_err();
        assert!(errors[0].starts_with("t.toml:3"), "{errors:?}");
        assert!(errors[0].contains("religion_or_belief"), "{errors:?}");
        let errors = parse(
            "[groups.a]\nlabel = \"A\"\ncharacteristics = []\naliases = [\"x\"]\n[groups.b]\nlabel = \"B\"\ncharacteristics = []\naliases = [\"X\"]\n",
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("t.toml:8") && errors[0].contains("alias `X` is claimed by both `a` and `b`"),
            "{errors:?}"
        );
        let errors = parse(
            "[groups.a]\nlabel = \"A\"\ncharacteristics = [\"age\"]\n[groups.b]\nlabel = \" \"\ncharacteristics = [\"age\", \"age\"]\naliases = [\"a\"]\n",
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("t.toml:5") && e.contains("empty label"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("t.toml:6") && e.contains("`age` twice"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("t.toml:7") && e.contains("alias `a` is claimed by both `a` and `b`"))
        );
        let errors = parse("[groups.a]\nlabel = \"A\"\ncharacteristics = []\nalias = [\"x\"]\n").unwrap_err();
        assert!(
            errors[0].starts_with("t.toml:4") && errors[0].contains("alias"),
            "{errors:?}"
        );
        let errors = parse("[groups.a]\nlabel = \"A\"\n").unwrap_err();
        assert!(errors[0].contains("characteristics"), "{errors:?}");
    }

    #[test]
    fn a_merged_file_overrides_groups_and_takes_names() {
        let base = parse(
            "[groups.roma]\nlabel = \"Roma\"\ncharacteristics = [\"ethnicity_or_national_origin\"]\naliases = [\"gitanos\", \"romani\"]\n\
             [groups.women]\nlabel = \"Women\"\ncharacteristics = [\"sex_or_gender\"]\n",
        )
        .unwrap();
        let over = parse(
            "[groups.gitanos]\nlabel = \"Gitanos\"\ncharacteristics = [\"ethnicity_or_national_origin\"]\n\
             [groups.women]\nlabel = \"Women and girls\"\ncharacteristics = [\"sex_or_gender\", \"age\"]\naliases = [\"girls\"]\n",
        )
        .unwrap();
        let merged = base.merged_with(over);
        assert_eq!(merged.group("gitanos").unwrap().name, "gitanos");
        assert_eq!(merged.group("romani").unwrap().name, "roma");
        assert_eq!(merged.group("roma").unwrap().aliases, vec!["romani"]);
        let women = merged.group("girls").unwrap();
        assert_eq!(women.label, "Women and girls");
        assert_eq!(women.characteristics.len(), 2);
    }

    #[test]
    fn cases_resolve_to_canonical_groups() {
        let taxonomy = Taxonomy::bundled();
        let case = |id: &str, group: Option<&str>| Case {
            id: id.into(),
            lang: "en".into(),
            text: "text".into(),
            label: crate::corpus::Label::Protected,
            category: "c".into(),
            target_group: group.map(Into::into),
            characteristics: Characteristics::default(),
            speaker_group: None,
            pair_id: None,
            notes: Default::default(),
            metadata: Default::default(),
        };
        let mut cases = vec![
            case("a", Some("ahmadiyya")),
            case("b", Some("Jews")),
            case("c", Some("martians")),
            case("d", None),
        ];
        let unknown = taxonomy.resolve_cases(&mut cases);
        assert_eq!(cases[0].target_group.as_deref(), Some("ahmadis"));
        assert_eq!(cases[1].target_group.as_deref(), Some("jews"));
        assert_eq!(cases[1].characteristics.len(), 2);
        assert_eq!(cases[2].target_group.as_deref(), Some("martians"));
        assert!(cases[2].characteristics.is_empty());
        assert_eq!(unknown, BTreeMap::from([("martians".to_string(), 1)]));
    }

    #[test]
    fn similar_names_are_near_misses_not_different_groups() {
        assert!(similar_names("baloch", "baluch"));
        assert!(similar_names("tamils", "tamil_people"));
        assert!(similar_names("Tamil", "tamils"));
        assert!(similar_names("baluchi", "baluch"));
        assert!(!similar_names("gay_men", "gay_people"));
        assert!(!similar_names("jews", "hindus"));
        assert!(!similar_names("dalits", "adivasis"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let taxonomy = Taxonomy::bundled();
        let (group, name) = taxonomy.suggestion("baluchi").unwrap();
        assert_eq!((group.name.as_str(), name), ("baloch", "baluch"));
        assert!(taxonomy.suggestion("martians").is_none());
    }

    #[test]
    fn characteristic_sets_are_ordered_and_serialised_by_name() {
        let set: Characteristics = [Characteristic::Caste, Characteristic::ReligionOrBelief]
            .into_iter()
            .collect();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Characteristic::ReligionOrBelief, Characteristic::Caste]
        );
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            "[\"religion_or_belief\",\"caste\"]"
        );
        for c in Characteristic::ALL {
            assert_eq!(Characteristic::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}
