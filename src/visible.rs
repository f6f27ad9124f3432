//! Characters that act instead of showing: control characters (terminal escape
//! sequences begin with ESC or with the C1 control CSI), bidi controls that
//! reorder the text after them (a file name `\u{202E}exe.txt` reads `txt.exe`),
//! and non-characters that XML 1.0 forbids. Text from corpora, scenarios and the
//! audited system may hold any of them; modaudit shows them instead.
//!
//! Documents (report.md, report.html and its charts, junit.xml) show each as a
//! visible `<U+202E>`; the terminal shows `\x1b` or `\u{202e}`; JSON keeps every
//! character but writes these as `\u` escapes, which lose nothing.

use std::borrow::Cow;
use std::io::{self, Write};

/// Whether `c` acts rather than shows: a C0 control (tab, line feed and
/// carriage return included; callers keep those they can show), DEL, a C1
/// control, a bidi control, the line and paragraph separators, or a
/// non-character.
fn acts(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{fdd0}'..='\u{fdef}'
    ) || (c as u32 & 0xfffe) == 0xfffe
}

/// Replaces the characters `keep` does not allow and that act by `show(c)`.
fn replace_acting(text: &str, keep: impl Fn(char) -> bool, show: impl Fn(char) -> String) -> Cow<'_, str> {
    if !text.chars().any(|c| acts(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if acts(c) && !keep(c) {
            out.push_str(&show(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text for a document: every acting character but tab, line feed and carriage
/// return becomes a visible `<U+XXXX>`. The result still needs the document's
/// own escaping (its `<` and `>` among the rest).
pub fn for_document(text: &str) -> Cow<'_, str> {
    replace_acting(
        text,
        |c| matches!(c, '\t' | '\n' | '\r'),
        |c| format!("<U+{:04X}>", c as u32),
    )
}

/// Text for a terminal: every acting character but tab and line feed is
/// escaped, as `\r`, `\x1b` below U+0080 and `\u{9b}` above, so no escape
/// sequence reaches the terminal and no line is overwritten by a carriage return.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    replace_acting(text, |c| matches!(c, '\t' | '\n'), terminal_escape)
}

/// One value on one line of the terminal: like [`for_terminal`], and a line
/// feed is escaped as `\n` too, so a value cannot make up lines of its own.
pub fn for_terminal_line(text: &str) -> Cow<'_, str> {
    replace_acting(text, |c| c == '\t', terminal_escape)
}

fn terminal_escape(c: char) -> String {
    match c {
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        c if c.is_ascii() => format!("\\x{:02x}", c as u32),
        c => format!("\\u{{{:x}}}", c as u32),
    }
}

/// JSON as serde_json writes it, with every acting character it leaves raw
/// (DEL, C1, bidi controls, separators, non-characters) written as a `\u`
/// escape: the same JSON value, safe to show on a terminal. Such characters can
/// only occur inside JSON strings, where the escape means the character itself.
pub fn json_escaped(json: &str) -> Cow<'_, str> {
    replace_acting(
        json,
        |c| c.is_ascii_whitespace(),
        |c| {
            let mut units = [0u16; 2];
            c.encode_utf16(&mut units)
                .iter()
                .map(|unit| format!("\\u{unit:04x}"))
                .collect()
        },
    )
}

/// A writer that passes JSON on as [`json_escaped`] would return it, while it
/// streams: a large document is escaped and written without being held. A
/// character split across two writes is completed before it is looked at.
pub struct JsonEscapedWriter<W: Write> {
    inner: W,
    pending: [u8; 4],
    pending_len: usize,
}

impl<W: Write> JsonEscapedWriter<W> {
    pub fn new(inner: W) -> Self {
        JsonEscapedWriter {
            inner,
            pending: [0; 4],
            pending_len: 0,
        }
    }

    fn pass(&mut self, text: &str) -> io::Result<()> {
        match json_escaped(text) {
            Cow::Borrowed(text) => self.inner.write_all(text.as_bytes()),
            Cow::Owned(text) => self.inner.write_all(text.as_bytes()),
        }
    }
}

fn not_utf8() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "JSON that is not UTF-8")
}

impl<W: Write> Write for JsonEscapedWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        if self.pending_len > 0 {
            let width = match self.pending[0] {
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            let take = (width - self.pending_len).min(bytes.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&bytes[..take]);
            self.pending_len += take;
            bytes = &bytes[take..];
            if self.pending_len < width {
                return Ok(());
            }
            let pending = self.pending;
            self.pending_len = 0;
            let text = std::str::from_utf8(&pending[..width]).map_err(|_| not_utf8())?;
            self.pass(text)?;
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => self.pass(text),
            Err(error) => {
                let (valid, rest) = bytes.split_at(error.valid_up_to());
                // Only an incomplete last character waits for the next write.
                if error.error_len().is_some() {
                    return Err(not_utf8());
                }
                self.pass(std::str::from_utf8(valid).map_err(|_| not_utf8())?)?;
                self.pending[..rest.len()].copy_from_slice(rest);
                self.pending_len = rest.len();
                Ok(())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.pending_len > 0 {
            return Err(not_utf8());
        }
        self.inner.flush()
    }
}

/// Writes `value` as pretty JSON with a final line feed, escaped as
/// [`json_escaped`] does, streaming through a buffer into `out`.
pub fn write_json_escaped<T: serde::Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    let mut json = JsonEscapedWriter::new(io::BufWriter::with_capacity(1 << 16, out));
    serde_json::to_writer_pretty(&mut json, value).map_err(io::Error::from)?;
    json.write_all(b"\n")?;
    json.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str =
        "a\u{1b}]0;title\u{7}b\u{9b}2J\u{7f}\u{202e}txt\u{2066}\u{200f}\u{fffe}\u{10ffff}\u{fdd0}\r\n\tz";

    #[test]
    fn documents_show_every_acting_character() {
        assert_eq!(
            for_document(HOSTILE),
            "a<U+001B>]0;title<U+0007>b<U+009B>2J<U+007F><U+202E>txt<U+2066><U+200F><U+FFFE><U+10FFFF><U+FDD0>\r\n\tz"
        );
    }

    #[test]
    fn terminals_get_escapes_and_keep_lines() {
        assert_eq!(
            for_terminal(HOSTILE),
            "a\\x1b]0;title\\x07b\\u{9b}2J\\x7f\\u{202e}txt\\u{2066}\\u{200f}\\u{fffe}\\u{10ffff}\\u{fdd0}\\r\n\tz"
        );
        assert_eq!(
            for_terminal_line("name\r\n  gates  0 failed\t."),
            "name\\r\\n  gates  0 failed\t."
        );
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in [
            "plain",
            "ordinary ⟨text⟩ — with “quotes”",
            "عربي",
            "中文",
            "हिन्दी",
            "emoji 🙂",
            "zero\u{200b}width",
        ] {
            assert!(matches!(for_document(text), Cow::Borrowed(t) if t == text));
            assert!(matches!(for_terminal(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn json_escapes_lose_nothing() {
        let value = serde_json::json!({ "text": HOSTILE, "astral": "\u{10fffe}" });
        let json = serde_json::to_string_pretty(&value).unwrap();
        let escaped = json_escaped(&json);
        assert!(
            !escaped.chars().any(|c| acts(c) && !c.is_ascii_whitespace()),
            "{escaped}"
        );
        assert!(
            escaped.contains("\\u202e") && escaped.contains("\\udbff\\udffe"),
            "{escaped}"
        );
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn streamed_json_is_escaped_as_a_whole_even_one_byte_at_a_time() {
        let value = serde_json::json!({ "text": HOSTILE, "astral": "\u{10fffe}", "plain": "عربي 🙂" });
        let expected = format!("{}\n", json_escaped(&serde_json::to_string_pretty(&value).unwrap()));
        let mut whole = Vec::new();
        write_json_escaped(&mut whole, &value).unwrap();
        assert_eq!(String::from_utf8(whole).unwrap(), expected);
        let json = serde_json::to_string_pretty(&value).unwrap();
        let mut bytewise = JsonEscapedWriter::new(Vec::new());
        for byte in json.as_bytes() {
            bytewise.write_all(std::slice::from_ref(byte)).unwrap();
        }
        bytewise.flush().unwrap();
        assert_eq!(format!("{}\n", String::from_utf8(bytewise.inner).unwrap()), expected);
        let mut broken = JsonEscapedWriter::new(Vec::new());
        assert!(broken.write_all(b"\"a\xff\"").is_err());
    }
}
