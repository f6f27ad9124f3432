//! Located problems in user input.
//!
//! Every complaint about a corpus, scenario or journal names the file and, where it
//! can, the line and the column or field, so a user can go straight to the fault.
//! Validation collects all problems it finds rather than stopping at the first.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in one place of one input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    /// 1-based line, when the problem has one.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// The column name, key or field the problem concerns.
    pub field: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            line: None,
            column: None,
            field: None,
            message: message.into(),
        }
    }

    pub fn at_line(path: &Path, line: u64, message: impl Into<String>) -> Self {
        Diagnostic {
            line: Some(line),
            ..Diagnostic::file(path, message)
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_column(mut self, column: u64) -> Self {
        self.column = Some(column);
        self
    }

    /// A diagnostic located at a byte offset of `source` (the file's text).
    pub fn at_offset(path: &Path, source: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_and_column(source, offset);
        Diagnostic {
            line: Some(line),
            column: Some(column),
            ..Diagnostic::file(path, message)
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "`{field}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// A list of diagnostics that together make an input invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl std::error::Error for Diagnostics {}

/// At most this many problems are printed; the rest are counted.
const MAX_SHOWN: usize = 50;

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().take(MAX_SHOWN).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() > MAX_SHOWN {
            write!(f, "\n… and {} more problems", self.0.len() - MAX_SHOWN)?;
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_and_column(source: &str, offset: usize) -> (u64, u64) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() as u64 + 1;
    (line, column)
}

/// At most this many characters of a file's content are quoted in a message.
pub const QUOTE_LIMIT: usize = 200;

/// `text` as a message may quote it: cut after [`QUOTE_LIMIT`] characters
/// (marked with `…`), with control characters and bidirectional overrides
/// escaped, so a hostile file can neither flood a terminal nor steer it.
pub fn excerpt(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == QUOTE_LIMIT {
            out.push('…');
            break;
        }
        if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// 1-based line numbers of byte offsets, counted forward through a file.
///
/// `\n`, `\r\n` and a lone `\r` each end one line, so files from every
/// platform are numbered as editors show them. (The `csv` crate's own line
/// numbers lag by one after each CRLF that ends a record.)
pub struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    /// The line of byte `offset`. Cheapest when offsets come in increasing order.
    pub fn line_at(&mut self, offset: usize) -> u64 {
        let offset = offset.min(self.bytes.len());
        if offset < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        for i in self.offset..offset {
            match self.bytes[i] {
                b'\n' => self.line += 1,
                b'\r' if self.bytes.get(i + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
        }
        self.offset = offset;
        self.line
    }

    /// The line where the CSV record the reader places at `position` begins.
    /// The reader's position may still point at the line break that ended the
    /// previous record (the `\n` of a CRLF) or at blank lines before the
    /// record; a record never starts with a line break, so those are skipped.
    pub fn csv_line(&mut self, position: &csv::Position) -> u64 {
        let mut start = usize::try_from(position.byte())
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while matches!(self.bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        self.line_at(start)
    }
}

/// The reader of a CSV file read piece by piece, numbering the lines of what
/// passes through it as [`LineCounter`] numbers them, so that the line of a
/// record can be told after the record is read without holding the file.
///
/// Only the starts of lines that hold something are remembered, from the
/// earliest record not yet asked about up to what has been read (a CSV
/// reader's buffer and the current record): a record never starts with a
/// line break, so it starts on the first such line at or after its position.
pub struct LineTracking<R> {
    inner: R,
    /// Bytes passed through.
    offset: u64,
    /// The line of the next byte.
    line: u64,
    /// Whether the last byte was `\r` / a line break (or nothing was read).
    after_cr: bool,
    after_break: bool,
    /// (offset, line) of each line start with content, not yet passed by a query.
    starts: std::collections::VecDeque<(u64, u64)>,
}

impl<R: std::io::Read> LineTracking<R> {
    pub fn new(inner: R) -> Self {
        LineTracking {
            inner,
            offset: 0,
            line: 1,
            after_cr: false,
            after_break: true,
            starts: std::collections::VecDeque::new(),
        }
    }

    /// The line where the CSV record the reader places at `position` begins
    /// (as [`LineCounter::csv_line`] tells it). Positions must be asked
    /// about in increasing order.
    pub fn csv_line(&mut self, position: &csv::Position) -> u64 {
        while self.starts.front().is_some_and(|(offset, _)| *offset < position.byte()) {
            self.starts.pop_front();
        }
        self.starts.front().map_or(self.line, |(_, line)| *line)
    }

    /// The reader read through.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: std::io::Read> std::io::Read for LineTracking<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &byte) in buf[..n].iter().enumerate() {
            match byte {
                b'\r' => self.line += 1,
                b'\n' if !self.after_cr => self.line += 1,
                b'\n' => {}
                _ if self.after_break => self.starts.push_back((self.offset + i as u64, self.line)),
                _ => {}
            }
            self.after_cr = byte == b'\r';
            self.after_break = matches!(byte, b'\r' | b'\n');
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Turns a `toml` deserialisation error into a located diagnostic.
///
/// `toml` places errors inside internally tagged tables (such as `[target]`) on the
/// table header; for unknown keys we look the key up in the table so the
/// diagnostic points at the offending line itself.
pub fn from_toml_error(path: &Path, source: &str, error: &toml::de::Error) -> Diagnostic {
    let message = error.message().trim().to_string();
    let Some(span) = error.span() else {
        return Diagnostic::file(path, message);
    };
    let mut offset = span.start;
    if let Some(found) = unknown_field_name(&message).and_then(|key| find_key_in_table_at(source, span.start, key)) {
        offset = found;
    }
    let mut diagnostic = Diagnostic::at_offset(path, source, offset, message);
    if let Some(key) = unknown_field_name(error.message()) {
        diagnostic.field = Some(key.to_string());
    }
    diagnostic
}

fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// Byte offset of `key` among the keys of the table whose header starts at `header_offset`.
fn find_key_in_table_at(source: &str, header_offset: usize, key: &str) -> Option<usize> {
    let document = toml::de::DeTable::parse(source).ok()?;
    find_key(document.get_ref(), header_offset, key)
}

fn find_key(table: &toml::de::DeTable<'_>, at: usize, key: &str) -> Option<usize> {
    let contains = |span: std::ops::Range<usize>| span.start <= at && at < span.end.max(span.start + 1);
    for (k, v) in table.iter() {
        let mut candidates = Vec::new();
        match v.get_ref() {
            toml::de::DeValue::Table(t) => candidates.push((t, contains(k.span()) || contains(v.span()))),
            toml::de::DeValue::Array(items) => {
                for item in items {
                    if let toml::de::DeValue::Table(t) = item.get_ref() {
                        candidates.push((t, contains(item.span())));
                    }
                }
            }
            _ => {}
        }
        for (t, here) in candidates {
            if !here {
                continue;
            }
            if let Some((found, _)) = t.iter().find(|(kk, _)| kk.get_ref().as_ref() == key) {
                return Some(found.span().start);
            }
            if let Some(found) = find_key(t, at, key) {
                return Some(found);
            }
        }
    }
    None
}

/// 1-based line of the key path (e.g. `["files"]`) in a TOML document, if present.
/// A part `name[i]` is the `i`-th (from 0) table of the array `name`, such as
/// the second `[[targets]]` table for `targets[1]`; as the last part, the line
/// where that table starts.
pub fn toml_key_line(source: &str, key_path: &[&str]) -> Option<u64> {
    let document = toml::de::DeTable::parse(source).ok()?;
    let mut table = document.get_ref();
    for (i, part) in key_path.iter().enumerate() {
        let last = i + 1 == key_path.len();
        let (name, index) = match part.strip_suffix(']').and_then(|p| p.split_once('[')) {
            Some((name, index)) => (name, Some(index.parse::<usize>().ok()?)),
            None => (*part, None),
        };
        let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name)?;
        let value = match (index, v.get_ref()) {
            (None, _) if last => return Some(line_and_column(source, k.span().start).0),
            (None, value) => value,
            (Some(index), toml::de::DeValue::Array(items)) => {
                let item = items.get(index)?;
                if last {
                    return Some(line_and_column(source, item.span().start).0);
                }
                item.get_ref()
            }
            (Some(_), _) => return None,
        };
        match value {
            toml::de::DeValue::Table(t) => table = t,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_counts_characters() {
        let src = "a = 1\nبب = 2\n";
        assert_eq!(line_and_column(src, 0), (1, 1));
        assert_eq!(line_and_column(src, 6), (2, 1));
        // after the two Arabic letters (4 bytes), column 3
        assert_eq!(line_and_column(src, 10), (2, 3));
    }

    #[test]
    fn display_names_path_line_and_field() {
        let d = Diagnostic::at_line(Path::new("c/cases.csv"), 7, "unknown label").with_field("label");
        assert_eq!(d.to_string(), "c/cases.csv:7: `label`: unknown label");
    }

    #[test]
    fn toml_key_line_finds_nested_keys() {
        let src = "name = 'x'\n\n[target]\nkind = 'command'\ncommand = ['a']\n";
        assert_eq!(toml_key_line(src, &["target", "command"]), Some(5));
        assert_eq!(toml_key_line(src, &["name"]), Some(1));
        assert_eq!(toml_key_line(src, &["missing"]), None);
        let src = "name = 'x'\n\n[[targets]]\nlabel = 'a'\n\n[[targets]]\nlabel = 'b'\nkind = 'command'\n";
        assert_eq!(toml_key_line(src, &["targets[1]", "kind"]), Some(8));
        assert_eq!(toml_key_line(src, &["targets[0]", "label"]), Some(4));
        assert_eq!(toml_key_line(src, &["targets[1]"]), Some(6));
        assert_eq!(toml_key_line(src, &["targets[2]"]), None);
        assert_eq!(toml_key_line(src, &["name[0]"]), None);
    }

    #[test]
    fn excerpts_are_short_and_escaped() {
        assert_eq!(excerpt("label"), "label");
        assert_eq!(excerpt("a\x1b[31mb\u{202E}c"), "a\\u{1b}[31mb\\u{202e}c");
        let long = excerpt(&"x".repeat(500));
        assert_eq!(long.chars().count(), QUOTE_LIMIT + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn lines_count_every_kind_of_line_break() {
        let text = b"a\r\nb\nc\rd\r\n\r\ne";
        let mut lines = LineCounter::new(text);
        let at = |c: u8| text.iter().position(|&b| b == c).unwrap();
        assert_eq!(lines.line_at(at(b'a')), 1);
        assert_eq!(lines.line_at(at(b'b')), 2);
        assert_eq!(lines.line_at(at(b'c')), 3);
        assert_eq!(lines.line_at(at(b'd')), 4);
        assert_eq!(lines.line_at(at(b'e')), 6);
        assert_eq!(lines.line_at(at(b'b')), 2, "going back starts over");
    }

    #[test]
    fn lines_tracked_while_read_are_those_counted_over_the_whole_file() {
        for text in [
            "h1,h2\na,1\n\"x\ny\",2\n\nb,3\n",
            "h1,h2\r\na,1\r\n\"x\r\ny\",2\r\n\r\nb,3\r\n",
            "h1,h2\ra,1\r\"x\ry\",2\r\rb,3\r",
            "h1,h2\n\n\r\na,1\n\"x\n\n\ny\",2\r\r\nb,3",
            "h1,h2\na,1,extra\nb",
        ] {
            // a reader's buffer of a few bytes, so records cross its pieces
            let tracked = LineTracking::new(text.as_bytes());
            let mut reader = csv::ReaderBuilder::new()
                .buffer_capacity(3)
                .flexible(true)
                .from_reader(tracked);
            let mut record = csv::ByteRecord::new();
            let mut found = Vec::new();
            while reader.read_byte_record(&mut record).unwrap() {
                let position = record.position().unwrap().clone();
                found.push(reader.get_mut().csv_line(&position));
            }
            let mut whole = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
            let mut lines = LineCounter::new(text.as_bytes());
            let expected: Vec<u64> = whole
                .byte_records()
                .map(|r| lines.csv_line(r.unwrap().position().unwrap()))
                .collect();
            assert_eq!(found, expected, "{text:?}");
        }
    }

    #[test]
    fn csv_records_get_the_line_they_start_on() {
        for text in [
            "h1,h2\na,1\n\"x\ny\",2\n\nb,3\n",
            "h1,h2\r\na,1\r\n\"x\r\ny\",2\r\n\r\nb,3\r\n",
            "h1,h2\ra,1\r\"x\ry\",2\r\rb,3\r",
        ] {
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let mut lines = LineCounter::new(text.as_bytes());
            let found: Vec<u64> = reader
                .records()
                .map(|r| lines.csv_line(r.unwrap().position().unwrap()))
                .collect();
            assert_eq!(found, [2, 3, 6], "{text:?}");
        }
    }
}
