//! `diff.md`: the comparison in Markdown, escaped as `report.md` is (corpus
//! text can neither format the file nor inject HTML).

use super::RunDiff;
use super::view::build_view;
use crate::report::markdown::{escape, escape_keeping_code, table_markdown};

/// Renders the Markdown comparison.
pub fn render_markdown(diff: &RunDiff) -> String {
    let view = build_view(diff);
    let mut out = format!("# {}\n\n**{}**\n\n", escape(&view.title), escape(&view.status));
    for (key, value) in &view.facts {
        out.push_str(&format!("- **{}:** {}\n", escape(key), escape(value)));
    }
    for section in &view.sections {
        out.push_str(&format!("\n## {}\n\n", escape(&section.title)));
        for paragraph in &section.paragraphs {
            out.push_str(&escape_keeping_code(paragraph));
            out.push_str("\n\n");
        }
        if let Some(table) = &section.table {
            out.push_str(&table_markdown(table));
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}
