//! Published reports name no absolute local path: where the auditor keeps the
//! scenario, their user name, their home directory and their tools are not part
//! of an audit. Text that modaudit or the audited system writes — the target's
//! description (a program and its script), notes, error messages that quote a
//! file, a program's last words on stderr — shows each path it holds relative to
//! the scenario's directory when it lies there (`corpus/cases.csv`), and as its
//! file name when it lies in another known local place (`python3`). The run's
//! `manifest.json` keeps the full paths.
//!
//! Known places are the scenario's directory (where the run started, and now),
//! the corpora, the target's files (program, recording), the statements file,
//! the home, current and temporary directories and those on `PATH`. Only paths
//! that start at one of them are touched, so an API's own paths and URLs in an
//! error message stay as the system wrote them.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use crate::scenario::Plan;

/// How a path under a known place is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// Relative to the place: the scenario's directory.
    Relative,
    /// As its file name alone.
    FileName,
}

/// The local places a report must not reveal, longest first.
#[derive(Debug, Clone)]
pub struct LocalPaths {
    places: Vec<(String, Shown)>,
}

impl LocalPaths {
    /// The places of a run of `plan`; `recorded_scenario` is the scenario's path
    /// when the run started, if it has moved since.
    pub fn of(plan: &Plan, recorded_scenario: Option<&Path>) -> LocalPaths {
        let scenario_dir = plan.scenario.path.parent().unwrap_or(Path::new(""));
        let mut bases = vec![scenario_dir.to_path_buf()];
        bases.extend(recorded_scenario.and_then(Path::parent).map(Path::to_path_buf));
        let mut elsewhere: Vec<PathBuf> = plan.corpora.iter().map(|c| scenario_dir.join(&c.dir)).collect();
        let files = plan
            .target_specs()
            .into_iter()
            .flat_map(|t| t.local_files())
            .chain(plan.statements.as_deref());
        elsewhere.extend(files.filter_map(Path::parent).map(Path::to_path_buf));
        elsewhere.extend(std::env::var_os("HOME").map(PathBuf::from));
        elsewhere.extend(std::env::var_os("USERPROFILE").map(PathBuf::from));
        elsewhere.extend(std::env::current_dir().ok());
        elsewhere.push(std::env::temp_dir());
        if let Some(path) = std::env::var_os("PATH") {
            elsewhere.extend(std::env::split_paths(&path));
        }
        LocalPaths::new(bases, elsewhere)
    }

    /// Paths under a directory of `bases` are shown relative to it; those under
    /// one of `elsewhere` by their file name.
    fn new(bases: Vec<PathBuf>, elsewhere: Vec<PathBuf>) -> LocalPaths {
        let mut places: Vec<(String, Shown)> = Vec::new();
        let tagged = bases
            .into_iter()
            .map(|p| (p, Shown::Relative))
            .chain(elsewhere.into_iter().map(|p| (p, Shown::FileName)));
        for (path, shown) in tagged {
            let canonical = std::fs::canonicalize(&path).ok();
            for path in std::iter::once(path).chain(canonical) {
                if is_place(&path) {
                    let text = path.display().to_string();
                    let text = text.trim_end_matches(['/', '\\']).to_string();
                    if !places.iter().any(|(p, _)| *p == text) {
                        places.push((text, shown));
                    }
                }
            }
        }
        // A place inside the scenario's directory is shown relative to it.
        let bases: Vec<String> = places
            .iter()
            .filter(|(_, shown)| *shown == Shown::Relative)
            .map(|(p, _)| p.clone())
            .collect();
        places.retain(|(place, shown)| {
            *shown == Shown::Relative
                || !bases.iter().any(|base| {
                    place
                        .strip_prefix(base.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with(is_separator))
                })
        });
        // Longest first, so the most specific place wins (the scenario's
        // directory inside the home directory).
        places.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        LocalPaths { places }
    }

    /// `text` with every path under a known place shortened.
    pub fn shorten<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = String::new();
        let mut copied = 0;
        let mut at = 0;
        while at < text.len() {
            let starts_token = text[..at].chars().next_back().is_none_or(opens_path);
            if let Some((place_len, shown)) = starts_token.then(|| self.place_at(&text[at..])).flatten() {
                let length = path_length(&text[at..]).max(place_len);
                out.push_str(&text[copied..at]);
                out.push_str(&show(&text[at..at + length], place_len, shown));
                at += length;
                copied = at;
            } else {
                at += text[at..].chars().next().map_or(1, char::len_utf8);
            }
        }
        if copied == 0 {
            return Cow::Borrowed(text);
        }
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }

    /// Shortens `text` in place.
    pub fn shorten_in_place(&self, text: &mut String) {
        if let Cow::Owned(short) = self.shorten(text) {
            *text = short;
        }
    }

    /// The place `text` starts with, and how to show a path under it.
    fn place_at(&self, text: &str) -> Option<(usize, Shown)> {
        self.places.iter().find_map(|(place, shown)| {
            let rest = text.strip_prefix(place.as_str())?;
            rest.chars()
                .next()
                .is_none_or(|c| is_separator(c) || ends_path(c))
                .then_some((place.len(), *shown))
        })
    }
}

/// An absolute path with at least one named directory: never `/` alone, which
/// would take every slash of every text for a path.
fn is_place(path: &Path) -> bool {
    path.is_absolute() && path.components().any(|c| matches!(c, Component::Normal(_)))
}

fn is_separator(c: char) -> bool {
    c == '/' || c == '\\'
}

/// Characters after which a path may begin.
fn opens_path(c: char) -> bool {
    c.is_whitespace() || matches!(c, '`' | '\'' | '"' | '(' | '[' | '{' | '<' | '=' | ':' | ',' | ';')
}

/// Characters that end a path in running text.
fn ends_path(c: char) -> bool {
    c.is_whitespace() || matches!(c, '`' | '\'' | '"' | ')' | ']' | '}' | '>' | ',' | ';' | ':' | '|')
}

/// Length in bytes of the path at the start of `text`, without the full stops
/// that end a sentence after it.
fn path_length(text: &str) -> usize {
    let end = text.find(ends_path).unwrap_or(text.len());
    text[..end].trim_end_matches('.').len()
}

/// How the path `path`, which starts with a place `place_len` bytes long, is shown.
fn show(path: &str, place_len: usize, shown: Shown) -> String {
    match shown {
        Shown::Relative => {
            let relative = path[place_len..].trim_start_matches(is_separator);
            if relative.is_empty() { "." } else { relative }.to_string()
        }
        Shown::FileName => path
            .rsplit(is_separator)
            .find(|part| !part.is_empty())
            .unwrap_or(path)
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> LocalPaths {
        LocalPaths::new(
            vec![PathBuf::from("/home/ana/audits/spring")],
            vec![
                PathBuf::from("/home/ana"),
                PathBuf::from("/usr/bin"),
                PathBuf::from("/tmp"),
                PathBuf::from("/home/ana/audits/spring/model"),
            ],
        )
    }

    #[test]
    fn paths_in_the_scenario_directory_become_relative() {
        let p = paths();
        assert_eq!(
            p.shorten("local program `/usr/bin/python3 /home/ana/audits/spring/model/run.py --fast`"),
            "local program `python3 model/run.py --fast`"
        );
        assert_eq!(
            p.shorten("no recorded decision for this case in /home/ana/audits/spring/recorded/decisions.csv."),
            "no recorded decision for this case in recorded/decisions.csv."
        );
        assert_eq!(p.shorten("/home/ana/audits/spring"), ".");
    }

    #[test]
    fn other_local_paths_become_file_names() {
        let p = paths();
        assert_eq!(
            p.shorten(
                "its stderr ended with: File \"/home/ana/.venv/lib/torch/__init__.py\", line 3 | Error: /tmp/x.bin: bad"
            ),
            "its stderr ended with: File \"__init__.py\", line 3 | Error: x.bin: bad"
        );
    }

    #[test]
    fn urls_unknown_paths_and_look_alikes_stay() {
        let p = paths();
        for text in [
            "HTTP 404 Not Found: no route POST /v1/moderate",
            "http://127.0.0.1:9/tmp/x and https://example.org/home/ana/x",
            "/home/anabel/file and /tmpfile",
            "counter_speech",
            "",
        ] {
            assert!(matches!(p.shorten(text), Cow::Borrowed(t) if t == text), "{text}");
        }
    }

    #[test]
    fn the_root_alone_is_never_a_place() {
        let p = LocalPaths::new(vec![PathBuf::from("/")], vec![PathBuf::from("/")]);
        assert_eq!(p.shorten("/usr/bin/python3 and a/b"), "/usr/bin/python3 and a/b");
    }
}
