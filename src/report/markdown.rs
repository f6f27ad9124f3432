//! `report.md`: the publishable report in Markdown.
//!
//! Every piece of text that can come from a corpus, scenario or system answer is
//! escaped: Markdown punctuation is backslash-escaped and `<`, `>` and `&` become
//! entities, so hostile text can neither format the report nor inject HTML into
//! a renderer that passes HTML through.

use super::Report;
use super::view::{Chart, Table, build_view};

/// Renders the Markdown report.
pub fn render_markdown(report: &Report) -> String {
    let view = build_view(report);
    let mut out = String::new();
    out.push_str(&format!("# {}\n\n", escape(&view.title)));
    out.push_str(&format!("**{}**\n\n", escape(&view.status)));
    out.push_str("## Summary\n\n");
    for paragraph in &view.summary {
        let sentences: Vec<String> = paragraph
            .iter()
            .map(|s| format!("{} \\[{}\\]", escape(&s.text), s.number))
            .collect();
        out.push_str(&sentences.join(" "));
        out.push_str("\n\n");
    }
    if !view.evidence.is_empty() {
        out.push_str("### Evidence for each sentence\n\n");
        for item in &view.evidence {
            out.push_str(&format!(
                "{}. `{}` — {}\n",
                item.number,
                code_span_content(&item.id),
                escape(&item.text)
            ));
        }
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out.push_str("\n\n## What was audited\n\n");
    for (key, value) in &view.facts {
        out.push_str(&format!("- **{}:** {}\n", escape(key), escape(value)));
    }
    for section in &view.sections {
        out.push_str(&format!("\n## {}\n\n", escape(&section.title)));
        for p in &section.paragraphs {
            out.push_str(&escape_keeping_code(p));
            out.push_str("\n\n");
        }
        if let Some(Chart::Curves(chart)) = &section.chart {
            // The chart is a file beside the report, named by modaudit.
            out.push_str(&format!("![{}]({})\n\n", escape(&section.title), chart.file));
        }
        if let Some(table) = &section.table {
            out.push_str(&table_markdown(table));
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

pub(super) fn table_markdown(table: &Table) -> String {
    let mut out = String::new();
    let header: Vec<String> = table.headers.iter().map(|h| escape(h)).collect();
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    let rule: Vec<&str> = table.numeric.iter().map(|&n| if n { "---:" } else { "---" }).collect();
    out.push_str(&format!("| {} |\n", rule.join(" | ")));
    for row in &table.rows {
        let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push('\n');
    out
}

/// Escapes text for Markdown: characters that can format (emphasis, code, links,
/// table cells, strikethrough) are backslash-escaped, as are block markers at the
/// start; HTML-significant characters become entities; line breaks become spaces.
/// An underscore inside a word (`counter_speech`) cannot format and is left alone.
pub fn escape(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let inside_word = |j: Option<usize>| j.and_then(|j| chars.get(j)).is_some_and(|c| c.is_alphanumeric());
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '_' if inside_word(i.checked_sub(1)) && inside_word(Some(i + 1)) => out.push('_'),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '-' | '+' | '=' | '!' if out.trim().is_empty() => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Text for inside a code span: control characters and backticks, which could
/// end the span, are dropped.
pub(super) fn code_span_content(text: &str) -> String {
    text.chars().filter(|c| !c.is_control() && *c != '`').collect()
}

/// Like [`escape`], but text between backticks (written by modaudit itself, such
/// as file names) stays a code span; the code span's content is sanitised so it
/// cannot close itself early.
pub(super) fn escape_keeping_code(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            out.push('`');
            out.push_str(&code_span_content(part));
            out.push('`');
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_cannot_format_or_inject() {
        let hostile = "<script>alert(1)</script> | **bold** [link](http://x) `code`\n# heading";
        let escaped = escape(hostile);
        assert!(!escaped.contains('<'));
        assert!(!escaped.contains('\n'));
        assert!(escaped.contains("\\|"));
        assert!(escaped.contains("\\*\\*bold\\*\\*"));
        assert!(escaped.contains("\\[link\\]"));
        assert!(!escaped.contains("`code`"));
        assert_eq!(escape("# heading"), "\\# heading");
        assert_eq!(escape("- item"), "\\- item");
        assert_eq!(escape("counter_speech"), "counter_speech");
        assert_eq!(escape("_emphasis_"), "\\_emphasis\\_");
        assert_eq!(escape("well-known (ok)"), "well-known (ok)");
    }
}
