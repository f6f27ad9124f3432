//! Counterfactual templates: `templates.csv` × `groups.csv` per language,
//! expanded at load time into families of cases that differ only in the group
//! named (`pair_id` = template id).
//!
//! A plain string swap is ungrammatical in many languages, so groups carry the
//! forms their language needs (`plural`, `singular`, case forms, gender …) and
//! templates choose among them:
//!
//! - `{form}` inserts the group's value in column `form`;
//! - `{col:a=X|b=Y}` inserts `X` when the group's `col` is `a`, `Y` when `b`
//!   (agreement: `{gender:m=los|f=las} {plural}`);
//! - `{{` and `}}` are literal braces.
//!
//! Expansion is deterministic: templates in file order, groups in file order.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Case, Label, canonical_language_tag};
use crate::diagnostic::{Diagnostic, LineCounter, excerpt};

/// A `[[templates]]` entry of `corpus.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateFiles {
    pub lang: String,
    /// Path of `templates.csv`, relative to the corpus directory.
    pub templates: String,
    /// Path of `groups.csv`, relative to the corpus directory.
    pub groups: String,
}

/// The optional column of `groups.csv` naming the expanded cases' target group
/// when it differs from the group id, which also names the cases
/// (`<template>-<group>`): a group can take its canonical name while its cases
/// keep their ids.
pub const GROUP_TARGET_COLUMN: &str = "target_group";

/// One group and its forms.
#[derive(Debug, Clone)]
struct Group {
    id: String,
    /// The target group of its cases: the `target_group` column, else the id.
    target_group: String,
    forms: BTreeMap<String, String>,
}

const TEMPLATE_COLUMNS: [&str; 6] = ["template_id", "label", "category", "text", "groups", "notes"];

/// A piece of a parsed template text.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Form(String),
    Choice {
        column: String,
        options: Vec<(String, String)>,
    },
}

/// Parses a template text into pieces.
fn parse_template(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '}' => return Err("a lone `}` (write `}}` for a literal brace)".into()),
            '{' => {
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') => return Err("`{` inside a placeholder".into()),
                        Some(ch) => inner.push(ch),
                        None => return Err(format!("placeholder `{{{inner}` is not closed")),
                    }
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(parse_placeholder(&inner)?);
            }
            other => literal.push(other),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

fn parse_placeholder(inner: &str) -> Result<Piece, String> {
    let inner = inner.trim();
    match inner.split_once(':') {
        None => {
            if inner.is_empty() {
                return Err("an empty placeholder `{}`".into());
            }
            Ok(Piece::Form(inner.to_string()))
        }
        Some((column, options)) => {
            let mut parsed = Vec::new();
            for option in options.split('|') {
                let Some((value, text)) = option.split_once('=') else {
                    return Err(format!(
                        "in `{{{inner}}}`, option `{option}` needs the form `value=text`"
                    ));
                };
                parsed.push((value.trim().to_string(), text.to_string()));
            }
            Ok(Piece::Choice {
                column: column.trim().to_string(),
                options: parsed,
            })
        }
    }
}

fn render(pieces: &[Piece], group: &Group) -> Result<String, String> {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Literal(text) => out.push_str(text),
            Piece::Form(form) => match group.forms.get(form) {
                Some(v) if !v.is_empty() => out.push_str(v),
                Some(_) => return Err(format!("group `{}` has an empty `{form}`", group.id)),
                None => return Err(format!("groups have no column `{form}`")),
            },
            Piece::Choice { column, options } => {
                let Some(value) = group.forms.get(column) else {
                    return Err(format!("groups have no column `{column}`"));
                };
                match options.iter().find(|(v, _)| v == value) {
                    Some((_, text)) => out.push_str(text),
                    None => {
                        return Err(format!(
                            "group `{}` has {column} = `{value}`, which `{{{column}:…}}` does not cover",
                            group.id
                        ));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// A CSV file's header and its rows with their line numbers.
type Table = (Vec<String>, Vec<(u64, Vec<String>)>);

fn read_csv(path: &Path, bytes: &[u8], problems: &mut Vec<Diagnostic>) -> Option<Table> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let mut lines = LineCounter::new(bytes);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            problems.push(Diagnostic::at_line(path, 1, format!("cannot read the header: {e}")));
            return None;
        }
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => rows.push((
                r.position().map_or(0, |p| lines.csv_line(p)),
                r.iter().map(str::to_string).collect(),
            )),
            Err(e) => problems.push(Diagnostic::at_line(
                path,
                e.position().map_or(0, |p| lines.csv_line(p)),
                format!("malformed CSV: {e}"),
            )),
        }
    }
    Some((header, rows))
}

/// Expands one language's templates, given the path and content of its
/// templates and groups files; problems are located in the two files (or, for
/// the language, in the manifest at `manifest_path`).
pub fn expand_templates(
    files: &TemplateFiles,
    manifest_path: &Path,
    (templates_path, templates): (&Path, &[u8]),
    (groups_path, groups): (&Path, &[u8]),
    problems: &mut Vec<Diagnostic>,
) -> Vec<(Case, PathBuf, u64)> {
    let lang = match canonical_language_tag(&files.lang) {
        Ok(l) => l,
        Err(message) => {
            problems.push(Diagnostic::file(
                manifest_path,
                format!("templates for `{}`: {message}", excerpt(&files.lang)),
            ));
            return Vec::new();
        }
    };
    let Some((group_header, group_rows)) = read_csv(groups_path, groups, problems) else {
        return Vec::new();
    };
    if group_header.first().map(String::as_str) != Some("group") {
        problems.push(Diagnostic::at_line(groups_path, 1, "the first column must be `group`"));
        return Vec::new();
    }
    let mut groups: Vec<Group> = Vec::new();
    for (line, row) in group_rows {
        let id = row.first().cloned().unwrap_or_default().trim().to_string();
        if id.is_empty() {
            problems.push(Diagnostic::at_line(groups_path, line, "empty group id").with_field("group"));
            continue;
        }
        if groups.iter().any(|g| g.id == id) {
            problems.push(
                Diagnostic::at_line(groups_path, line, format!("group `{}` appears twice", excerpt(&id)))
                    .with_field("group"),
            );
            continue;
        }
        let mut forms: BTreeMap<String, String> = group_header
            .iter()
            .zip(row.iter())
            .skip(1)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let target_group = forms
            .remove(GROUP_TARGET_COLUMN)
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| id.clone());
        groups.push(Group {
            id,
            target_group,
            forms,
        });
    }
    let Some((header, rows)) = read_csv(templates_path, templates, problems) else {
        return Vec::new();
    };
    if header != TEMPLATE_COLUMNS {
        problems.push(Diagnostic::at_line(
            templates_path,
            1,
            format!("the header must be exactly `{}`", TEMPLATE_COLUMNS.join(",")),
        ));
        return Vec::new();
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (line, row) in rows {
        let field = |i: usize| row.get(i).cloned().unwrap_or_default();
        let (id, label, category, text, only, notes) = (field(0), field(1), field(2), field(3), field(4), field(5));
        let mut bad = |name: &str, message: String| {
            problems.push(Diagnostic::at_line(templates_path, line, message).with_field(name))
        };
        if id.trim().is_empty() {
            bad("template_id", "empty template id".into());
            continue;
        }
        if !seen.insert(id.clone()) {
            bad("template_id", format!("template `{}` appears twice", excerpt(&id)));
            continue;
        }
        let Some(label) = Label::parse(&label) else {
            bad(
                "label",
                format!(
                    "unknown label \"{}\" (expected \"protected\" or \"violating\")",
                    excerpt(&label)
                ),
            );
            continue;
        };
        if category.trim().is_empty() {
            bad("category", "category is empty".into());
            continue;
        }
        let pieces = match parse_template(&text) {
            Ok(p) => p,
            Err(message) => {
                bad("text", message);
                continue;
            }
        };
        let chosen: Vec<&Group> = if only.trim().is_empty() {
            groups.iter().collect()
        } else {
            let mut chosen = Vec::new();
            for name in only.split(';').map(str::trim).filter(|n| !n.is_empty()) {
                match groups.iter().find(|g| g.id == name) {
                    Some(g) => chosen.push(g),
                    None => bad(
                        "groups",
                        format!("unknown group `{}` (not in {})", excerpt(name), files.groups),
                    ),
                }
            }
            chosen
        };
        for group in chosen {
            match render(&pieces, group) {
                Ok(rendered) if rendered.trim().is_empty() => {
                    bad("text", format!("expands to an empty text for group `{}`", group.id));
                }
                Ok(rendered) => out.push((
                    Case {
                        id: format!("{id}-{}", group.id).into(),
                        lang: lang.clone().into(),
                        text: rendered.into(),
                        label,
                        category: category.trim().to_string().into(),
                        target_group: Some(group.target_group.as_str().into()),
                        characteristics: Default::default(),
                        speaker_group: None,
                        pair_id: Some(id.as_str().into()),
                        notes: notes.clone().into(),
                        metadata: BTreeMap::from([("template".to_string(), id.clone())]).into(),
                    },
                    templates_path.to_path_buf(),
                    line,
                )),
                Err(message) => bad("text", message),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, forms: &[(&str, &str)]) -> Group {
        Group {
            id: id.into(),
            target_group: id.into(),
            forms: forms.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn forms_and_agreement_render() {
        let pieces =
            parse_template("{gender:m=Los|f=Las} {plural} son {gender:m=bienvenidos|f=bienvenidas} {{aquí}}").unwrap();
        let m = group("migrants", &[("gender", "m"), ("plural", "migrantes")]);
        let f = group("women", &[("gender", "f"), ("plural", "mujeres")]);
        assert_eq!(render(&pieces, &m).unwrap(), "Los migrantes son bienvenidos {aquí}");
        assert_eq!(render(&pieces, &f).unwrap(), "Las mujeres son bienvenidas {aquí}");
        let n = group("x", &[("gender", "n"), ("plural", "x")]);
        assert!(render(&pieces, &n).unwrap_err().contains("does not cover"));
    }

    #[test]
    fn malformed_templates_are_explained() {
        assert!(parse_template("a {plural").unwrap_err().contains("not closed"));
        assert!(parse_template("a } b").unwrap_err().contains("lone"));
        assert!(parse_template("{g:m}").unwrap_err().contains("value=text"));
        assert!(
            render(&parse_template("{nope}").unwrap(), &group("g", &[]))
                .unwrap_err()
                .contains("no column `nope`")
        );
    }

    #[test]
    fn expansion_is_deterministic_and_located() {
        let groups = b"group,plural\nwomen,women\nmuslims,Muslims\n";
        let templates = b"template_id,label,category,text,groups,notes\nt1,protected,neutral_mention,I admire {plural}.,,n\nt2,violating,dehumanisation,{plural} are vermin.,muslims,n\nt3,protected,x,{missing},,n\n";
        let files = TemplateFiles {
            lang: "en".into(),
            templates: "templates.csv".into(),
            groups: "groups.csv".into(),
        };
        let mut problems = Vec::new();
        let cases = expand_templates(
            &files,
            Path::new("corpus.toml"),
            (Path::new("templates.csv"), templates),
            (Path::new("groups.csv"), groups),
            &mut problems,
        );
        let ids: Vec<&str> = cases.iter().map(|(c, _, _)| c.id.as_str()).collect();
        assert_eq!(ids, ["t1-women", "t1-muslims", "t2-muslims"]);
        assert_eq!(cases[1].0.text, "I admire Muslims.");
        assert_eq!(cases[1].0.pair_id.as_deref(), Some("t1"));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0]
                .to_string()
                .ends_with("templates.csv:4: `text`: groups have no column `missing`")
        );
    }

    #[test]
    fn a_group_can_name_its_cases_target_group() {
        let groups = b"group,plural,target_group\nbaluch,Baluch,baloch\nkurds,Kurds,\n";
        let templates = b"template_id,label,category,text,groups,notes\nt1,protected,neutral_mention,I admire {plural}.,baluch;kurds,n\n";
        let files = TemplateFiles {
            lang: "en".into(),
            templates: "templates.csv".into(),
            groups: "groups.csv".into(),
        };
        let mut problems = Vec::new();
        let cases = expand_templates(
            &files,
            Path::new("corpus.toml"),
            (Path::new("templates.csv"), templates),
            (Path::new("groups.csv"), groups),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let expanded: Vec<(&str, Option<&str>)> = cases
            .iter()
            .map(|(c, _, _)| (c.id.as_str(), c.target_group.as_deref()))
            .collect();
        assert_eq!(expanded, [("t1-baluch", Some("baloch")), ("t1-kurds", Some("kurds"))]);
    }
}
