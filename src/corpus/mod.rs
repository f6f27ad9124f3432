//! Test corpora: cases with a gold label, loaded from a directory holding a
//! `corpus.toml` manifest and one or more `cases.csv` files (and reviewers'
//! answers in `reviews/`), and validated strictly: a case is never silently
//! skipped.

mod cases;
mod families;
pub mod import;
mod lang;
mod manifest;
mod metadata;
pub mod perturb;
pub mod review;
pub mod stats;
pub mod taxonomy;
mod templates;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::hash::sha256_hex;
use crate::input::{DATA_LIMIT, InputBytes, InputStream, ReadError, TOML_LIMIT, open_inside, read_inside};
use crate::sym::Sym;

pub use crate::case_text::{CaseText, TextError};
pub use cases::{CASE_COLUMNS, REQUIRED_COLUMNS, case_problems, parse_case_file, parse_cases};
pub use families::{CLUSTER_COLUMN, FAMILY_KIND_COLUMN, FamilyKind, check_families};
pub use lang::{canonical_language_tag, language_covered_by};
pub use manifest::{CorpusManifest, Provenance, SkippedRows, Source};
pub use metadata::Metadata;
pub use perturb::{PerturbSettings, Perturbed, Transform, TransformSummary, perturb};
pub use taxonomy::{Characteristic, Characteristics, Taxonomy};
pub use templates::{TemplateFiles, expand_templates};

/// The manifest's file name inside a corpus directory.
pub const MANIFEST_FILE: &str = "corpus.toml";

/// The gold label of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Lawful speech that should stay up.
    Protected,
    /// Content the policy prohibits.
    Violating,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Protected => "protected",
            Label::Violating => "violating",
        }
    }

    pub fn parse(value: &str) -> Option<Label> {
        match value {
            "protected" => Some(Label::Protected),
            "violating" => Some(Label::Violating),
            _ => None,
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    /// Unique within the corpora of a run.
    pub id: Sym,
    /// BCP 47 tag, canonical case.
    pub lang: Sym,
    /// The text exactly as the moderation system is to see it; read it with
    /// [`Case::text`] (a case loaded from a corpus file keeps only where its
    /// text sits in the file).
    pub text: CaseText,
    pub label: Label,
    /// Functionality, e.g. `counter_speech`, `reclaimed_term`, `slur`.
    pub category: Sym,
    /// Who the text is about, if anyone: as the corpus writes it, until a plan
    /// resolves it to its canonical name in the [`Taxonomy`].
    pub target_group: Option<Sym>,
    /// The protected characteristics of the target group, set when a plan
    /// resolves the cases ([`Taxonomy::resolve_cases`]); empty before, and for
    /// a group the taxonomy does not know.
    #[serde(skip_serializing_if = "Characteristics::is_empty")]
    pub characteristics: Characteristics,
    /// Dialect or community of the writer, if recorded.
    pub speaker_group: Option<Sym>,
    /// Counterfactual family: cases that differ only by an identity term or dialect.
    pub pair_id: Option<Sym>,
    pub notes: Sym,
    /// Columns beyond the standard ones (e.g. annotation flags of an imported suite).
    pub metadata: Metadata,
}

/// A file of a corpus and its sha256, for the run manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashedFile {
    /// Path relative to the corpus directory, with `/` separators.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// A loaded, validated corpus.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub dir: PathBuf,
    pub manifest: CorpusManifest,
    pub cases: Vec<Case>,
    /// The manifest, every case file and every reviews file, hashed.
    pub files: Vec<HashedFile>,
    /// Every reviewer's answers, from `reviews/*.csv` (see [`review`]).
    pub reviews: Vec<review::ReviewRecord>,
}

/// Loads and validates the corpus in `dir`, reporting every problem found.
///
/// The manifest and every file it names are read through
/// [`crate::input::read_inside`]: bounded, regular files only, and never from
/// outside `dir` (a pull request must not make `validate` quote `/etc/shadow`).
pub fn load_corpus(dir: &Path) -> Result<Corpus, Diagnostics> {
    let manifest_path = dir.join(MANIFEST_FILE);
    if !dir.is_dir() {
        return Err(Diagnostics(vec![Diagnostic::file(
            dir,
            "corpus directory does not exist",
        )]));
    }
    let manifest_bytes =
        read_inside(dir, Path::new(MANIFEST_FILE), TOML_LIMIT).map_err(|e| Diagnostics(vec![e.at(&manifest_path)]))?;
    let manifest_text = std::str::from_utf8(manifest_bytes.content())
        .map_err(|e| Diagnostics(vec![Diagnostic::file(&manifest_path, format!("not valid UTF-8: {e}"))]))?;
    let manifest: CorpusManifest = toml::from_str(manifest_text).map_err(|e| {
        Diagnostics(vec![crate::diagnostic::from_toml_error(
            &manifest_path,
            manifest_text,
            &e,
        )])
    })?;

    let mut problems = Vec::new();
    let declared = validate_manifest(&manifest, &manifest_path, manifest_text, &mut problems);
    let mut files = vec![hashed(MANIFEST_FILE, &manifest_bytes)];
    let mut listed = ListedFiles {
        dir,
        manifest_path: &manifest_path,
        manifest_text,
        files: &mut files,
    };
    let mut cases = Vec::new();
    let mut seen = Seen::default();
    for file in &manifest.files {
        let Some((path, input)) = listed.open(file, &mut problems) else {
            continue;
        };
        let most = cases::most_records_of(input.line_breaks());
        cases.reserve_exact(most);
        seen.reserve(most);
        let at = seen.file(&path);
        let read = parse_case_file(&path, input, &mut problems, |case, line, problems| {
            admit(case, (at, line), &declared, &mut seen, &mut cases, problems);
        });
        if let Some((sha256, bytes)) = read {
            listed.files.push(HashedFile {
                path: file.replace('\\', "/"),
                sha256,
                bytes,
            });
        }
    }
    for set in &manifest.templates {
        let templates = listed.read(&set.templates, "templates", &mut problems);
        let groups = listed.read(&set.groups, "templates", &mut problems);
        if let (Some(templates), Some(groups), true) = (templates, groups, problems.is_empty()) {
            let expanded = expand_templates(
                set,
                &manifest_path,
                (&templates.0, templates.1.content()),
                (&groups.0, groups.1.content()),
                &mut problems,
            );
            cases.reserve_exact(expanded.len());
            seen.reserve(expanded.len());
            for (case, path, line) in expanded {
                let at = seen.file(&path);
                admit(case, (at, line), &declared, &mut seen, &mut cases, &mut problems);
            }
        }
    }
    // a quoted text spanning lines, or a rejected record, leaves room unused
    cases.shrink_to_fit();
    check_families(
        cases
            .iter()
            .filter_map(|case| seen.at(case.id).map(|(path, line)| (case, path, line))),
        &mut problems,
    );
    if problems.is_empty() && cases.is_empty() {
        problems.push(Diagnostic::file(&manifest_path, "the corpus has no cases"));
    }
    let reviews = review::load_reviews(dir, &mut files, &mut problems);
    if !problems.is_empty() {
        return Err(Diagnostics(problems));
    }
    Ok(Corpus {
        dir: dir.to_path_buf(),
        manifest,
        cases,
        files,
        reviews,
    })
}

fn hashed(relative: &str, bytes: &InputBytes) -> HashedFile {
    HashedFile {
        path: relative.replace('\\', "/"),
        sha256: sha256_hex(bytes.raw()),
        bytes: bytes.raw().len() as u64,
    }
}

/// Reads the files a manifest names, hashing each into `files`.
struct ListedFiles<'a> {
    dir: &'a Path,
    manifest_path: &'a Path,
    manifest_text: &'a str,
    files: &'a mut Vec<HashedFile>,
}

impl ListedFiles<'_> {
    /// The path and bytes of `file`, named under manifest key `key`; `None`
    /// (with the problem recorded) when it cannot be read.
    fn read(&mut self, file: &str, key: &str, problems: &mut Vec<Diagnostic>) -> Option<(PathBuf, InputBytes)> {
        let (path, bytes) = self.reach(file, key, problems, read_inside)?;
        self.files.push(hashed(file, &bytes));
        Some((path, bytes))
    }

    /// The path of case file `file` and the file opened to be read piece by
    /// piece (the caller records its hash once read); `None` (with the
    /// problem recorded) when it cannot be opened.
    fn open(&mut self, file: &str, problems: &mut Vec<Diagnostic>) -> Option<(PathBuf, InputStream)> {
        self.reach(file, "files", problems, open_inside)
    }

    /// `file` (named under manifest key `key`) checked to be inside the corpus
    /// directory and opened with `open`.
    fn reach<T>(
        &self,
        file: &str,
        key: &str,
        problems: &mut Vec<Diagnostic>,
        open: impl FnOnce(&Path, &Path, crate::input::Limit) -> Result<T, ReadError>,
    ) -> Option<(PathBuf, T)> {
        let in_manifest = |message: String| Diagnostic {
            line: crate::diagnostic::toml_key_line(self.manifest_text, &[key]),
            ..Diagnostic::file(self.manifest_path, message).with_field(key)
        };
        let relative = Path::new(file);
        if relative.is_absolute()
            || relative
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            problems.push(in_manifest(format!(
                "file `{file}` must be a path inside the corpus directory"
            )));
            return None;
        }
        let path = self.dir.join(relative);
        match open(self.dir, relative, DATA_LIMIT) {
            Ok(opened) => Some((path, opened)),
            Err(ReadError::NotFound) => {
                problems.push(in_manifest(format!(
                    "manifest lists `{file}` but {} does not exist",
                    path.display()
                )));
                None
            }
            Err(e) => {
                problems.push(e.at(&path));
                None
            }
        }
    }
}

/// Where each admitted case was read, in a flat table indexed by the number
/// of its id's symbol (no hashing, eight bytes a symbol), naming its file by
/// position so a million cases share a handful of paths.
#[derive(Default)]
struct Seen {
    files: Vec<PathBuf>,
    /// By symbol number: the file's position in `files` (`NOT_SEEN` for a
    /// symbol that is no admitted case's id) and the line.
    cases: Vec<(u32, u32)>,
}

/// The file position of a symbol in [`Seen::cases`] that is no case's id.
const NOT_SEEN: u32 = u32::MAX;

impl Seen {
    /// The position of `path` among the files read, added the first time.
    fn file(&mut self, path: &Path) -> usize {
        match self.files.iter().position(|p| p == path) {
            Some(at) => at,
            None => {
                self.files.push(path.to_path_buf());
                self.files.len() - 1
            }
        }
    }

    /// Makes room for `more` cases whose ids are still to be interned.
    fn reserve(&mut self, more: usize) {
        let symbols = Sym::count().saturating_add(more);
        self.cases.reserve(symbols.saturating_sub(self.cases.len()));
    }

    /// Records that the case `id` was read at `line` of the file at `file`.
    fn admitted(&mut self, id: Sym, file: usize, line: u64) {
        let number = id.number();
        if number >= self.cases.len() {
            self.cases.resize((number + 1).max(Sym::count()), (NOT_SEEN, 0));
        }
        let file = u32::try_from(file).expect("fewer than 2^32 - 1 files in a corpus");
        // a file of at most 1 GiB has fewer lines than this
        let line = u32::try_from(line).unwrap_or(u32::MAX);
        self.cases[number] = (file, line);
    }

    /// The file and line of the case `id`, if admitted.
    fn at(&self, id: Sym) -> Option<(&Path, u64)> {
        match self.cases.get(id.number()) {
            Some(&(file, line)) if file != NOT_SEEN => Some((self.files[file as usize].as_path(), u64::from(line))),
            _ => None,
        }
    }
}

/// Adds a case read at line `line` of file `file` (its position in `seen`)
/// after checking its language is declared and its id unused.
fn admit(
    case: Case,
    (file, line): (usize, u64),
    declared: &[String],
    seen: &mut Seen,
    cases: &mut Vec<Case>,
    problems: &mut Vec<Diagnostic>,
) {
    let path = &seen.files[file];
    if !declared.is_empty() && !declared.iter().any(|d| language_covered_by(&case.lang, d)) {
        problems.push(
            Diagnostic::at_line(
                path,
                line,
                format!(
                    "language `{}` is not among the corpus languages [{}] declared in {MANIFEST_FILE}",
                    case.lang,
                    declared.join(", ")
                ),
            )
            .with_field("lang"),
        );
    }
    if let Some((first_path, first_line)) = seen.at(case.id) {
        problems.push(
            Diagnostic::at_line(
                path,
                line,
                format!(
                    "duplicate id `{}` (first used at {}:{first_line})",
                    case.id,
                    first_path.display()
                ),
            )
            .with_field("id"),
        );
        return;
    }
    seen.admitted(case.id, file, line);
    cases.push(case);
}

/// Checks the manifest's own fields; returns its languages in canonical form.
fn validate_manifest(
    manifest: &CorpusManifest,
    path: &Path,
    text: &str,
    problems: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let at = |key: &str, message: String| Diagnostic {
        line: crate::diagnostic::toml_key_line(text, &[key]),
        ..Diagnostic::file(path, message).with_field(key)
    };
    if manifest.name.trim().is_empty() {
        problems.push(at("name", "corpus name is empty".into()));
    }
    if manifest.languages.is_empty() {
        problems.push(at("languages", "list at least one language".into()));
    }
    if manifest.files.is_empty() {
        problems.push(at("files", "list at least one case file".into()));
    }
    let mut declared = Vec::new();
    for lang in &manifest.languages {
        match canonical_language_tag(lang) {
            Ok(tag) => declared.push(tag),
            Err(message) => problems.push(at("languages", message)),
        }
    }
    for (i, p) in manifest.provenance.iter().enumerate() {
        for lang in &p.languages {
            if let Err(message) = canonical_language_tag(lang) {
                problems.push(at("provenance", format!("entry {}: {message}", i + 1)));
            }
        }
    }
    declared
}

impl Case {
    /// The text exactly as the moderation system is to see it, read back from
    /// its corpus file if it is not held; an error names the file and this
    /// case when the file changed since it was loaded.
    pub fn text(&self) -> Result<std::borrow::Cow<'_, str>, TextError> {
        self.text.read(&self.id)
    }
}

impl Corpus {
    /// Languages and the number of cases in each, in first-seen order.
    pub fn language_counts(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for case in &self.cases {
            match counts.iter_mut().find(|(l, _)| *l == case.lang) {
                Some((_, n)) => *n += 1,
                None => counts.push((case.lang.to_string(), 1)),
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_is_no_larger_than_with_its_metadata_boxed() {
        // 80 bytes while the text was a `String` and the metadata a `BTreeMap`.
        assert!(std::mem::size_of::<Case>() <= 64);
    }

    /// A corpus whose texts need quoting, with a byte-order mark and CRLF.
    fn tricky_corpus(dir: &Path) -> Vec<&'static str> {
        let texts = vec![
            "plain",
            "commas, \"quotes\" and, more",
            "two\nlines",
            "crlf\r\ninside",
            "ünïcödé — 日本語 🙂",
        ];
        std::fs::write(
            dir.join("corpus.toml"),
            "name = \"t\"\nversion = \"1\"\ndescription = \"t\"\nlicense = \"CC0-1.0\"\nlanguages = [\"en\"]\nfiles = [\"cases.csv\"]\n",
        )
        .unwrap();
        let mut csv = String::from("\u{feff}id,lang,text,label,category\r\n");
        for (i, text) in texts.iter().enumerate() {
            csv.push_str(&format!("c{i},en,\"{}\",protected,c\r\n", text.replace('"', "\"\"")));
        }
        std::fs::write(dir.join("cases.csv"), csv).unwrap();
        texts
    }

    #[test]
    fn texts_of_a_corpus_file_read_back_exactly() {
        let tmp = tempfile::tempdir().unwrap();
        let texts = tricky_corpus(tmp.path());
        let corpus = load_corpus(tmp.path()).unwrap();
        assert_eq!(corpus.cases.len(), texts.len());
        for (case, text) in corpus.cases.iter().zip(&texts) {
            assert!(matches!(case.text, CaseText::InFile(_)), "{:?}", case.text);
            assert_eq!(case.text().unwrap(), *text);
        }
        // Loading the unchanged file again shares its registration.
        let again = load_corpus(tmp.path()).unwrap();
        assert_eq!(again.cases[1].text, corpus.cases[1].text);
    }

    #[test]
    fn a_corpus_holds_its_cases_in_one_allocation_of_their_number() {
        let tmp = tempfile::tempdir().unwrap();
        let texts = tricky_corpus(tmp.path());
        let corpus = load_corpus(tmp.path()).unwrap();
        assert_eq!(corpus.cases.len(), texts.len());
        assert_eq!(corpus.cases.capacity(), corpus.cases.len());
    }

    #[test]
    fn a_repeated_id_is_reported_with_where_it_was_first_read() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("corpus.toml"),
            "name = \"t\"\nversion = \"1\"\ndescription = \"t\"\nlicense = \"CC0-1.0\"\nlanguages = [\"en\"]\nfiles = [\"a.csv\", \"b.csv\"]\n",
        )
        .unwrap();
        let header = "id,lang,text,label,category\n";
        std::fs::write(
            tmp.path().join("a.csv"),
            format!("{header}a1,en,t,protected,c\na2,en,t,protected,c\n"),
        )
        .unwrap();
        std::fs::write(
            tmp.path().join("b.csv"),
            format!("{header}b1,en,t,protected,c\na2,en,t,protected,c\n"),
        )
        .unwrap();
        let Err(Diagnostics(problems)) = load_corpus(tmp.path()) else {
            panic!("a2 is repeated");
        };
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [format!(
                "{}:3: `id`: duplicate id `a2` (first used at {}:3)",
                tmp.path().join("b.csv").display(),
                tmp.path().join("a.csv").display()
            )]
        );
    }

    #[test]
    fn a_file_changed_after_loading_is_reported_with_the_case() {
        let tmp = tempfile::tempdir().unwrap();
        tricky_corpus(tmp.path());
        let corpus = load_corpus(tmp.path()).unwrap();
        let path = tmp.path().join("cases.csv");
        let original = std::fs::read_to_string(&path).unwrap();
        // Same length, other letters: only the checksum can tell.
        std::fs::write(&path, original.replace("plain", "PLAIN")).unwrap();
        let error = corpus.cases[0].text().unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("corpus file {} changed since it was loaded: case c0", path.display())
        );
        assert_eq!(corpus.cases[1].text().unwrap(), "commas, \"quotes\" and, more");
        std::fs::write(&path, &original[..original.len() / 2]).unwrap();
        let error = corpus.cases[4].text().unwrap_err();
        assert!(
            error.to_string().ends_with("changed since it was loaded: case c4"),
            "{error}"
        );
        std::fs::write(&path, &original).unwrap();
        assert_eq!(corpus.cases[0].text().unwrap(), "plain");
    }
}
